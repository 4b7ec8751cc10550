//! Signed-in sockets by user and token, so that revoking a token (log out,
//! sign out everywhere, a new password, a deleted account) also closes the
//! sockets already open with it, not only future requests.
//!
//! The socket driver (`ws.rs`) registers each socket after its hello and
//! waits on the receiver it gets back; the HTTP handlers that revoke tokens
//! call [`Sockets::close_token`] or [`Sockets::close_user`] after the store
//! has revoked them, so a socket that reconnects is refused. With a bus
//! (`--bus`), each close also goes to the other nodes, which close that
//! user's sockets there ([`Sockets::close_token_here`]).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use tokio::sync::oneshot;

/// Why a socket was closed; its text is the close frame's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignedOut {
    LoggedOut,
    Everywhere,
    PasswordChanged,
    AccountDeleted,
    /// Found expired or revoked by the periodic check ([`RECHECK`]): a
    /// token that ran out, or one revoked where no close reached us.
    Expired,
}

/// How often a socket checks that its token is still live.
pub const RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

impl SignedOut {
    /// The WebSocket close code: private range, "401" for unauthorized.
    pub const CLOSE_CODE: u16 = 4401;

    pub fn reason(self) -> &'static str {
        match self {
            SignedOut::LoggedOut => "signed out",
            SignedOut::Everywhere => "signed out everywhere",
            SignedOut::PasswordChanged => "password changed; sign in again",
            SignedOut::AccountDeleted => "account deleted",
            SignedOut::Expired => "token expired or revoked; sign in again",
        }
    }
}

type Entry = (u64, [u8; 32], oneshot::Sender<SignedOut>);

/// A close for the other nodes: `user`'s sockets with `token`, or all but
/// those with `except` when `token` is None.
#[derive(Debug, Clone)]
pub struct Revoked {
    pub user: String,
    pub token: Option<[u8; 32]>,
    pub except: Option<[u8; 32]>,
    pub why: SignedOut,
}

type Forward = Box<dyn Fn(Revoked) + Send + Sync>;

#[derive(Default)]
pub struct Sockets {
    by_user: Mutex<HashMap<String, Vec<Entry>>>,
    /// Where closes go besides this node (the bus, when there is one).
    forward: OnceLock<Forward>,
}

/// 64 hex digits -> 32 bytes (a token hash carried by the bus).
pub fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl Sockets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Entry>>> {
        // Every update is a single push or retain: a poisoned map is consistent.
        self.by_user.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers socket `conn` of `user`, signed in with the token hashed
    /// `token`; the receiver fires when it must close.
    pub fn add(&self, user: &str, conn: u64, token: [u8; 32]) -> oneshot::Receiver<SignedOut> {
        let (tx, rx) = oneshot::channel();
        self.lock().entry(user.to_string()).or_default().push((conn, token, tx));
        rx
    }

    pub fn remove(&self, user: &str, conn: u64) {
        let mut m = self.lock();
        if let Some(v) = m.get_mut(user) {
            v.retain(|(c, _, _)| *c != conn);
            if v.is_empty() {
                m.remove(user);
            }
        }
    }

    /// Sends every later close to `f` too (the bus: other nodes close theirs).
    pub fn forward_to(&self, f: Forward) {
        let _ = self.forward.set(f);
    }

    /// Closes `user`'s sockets signed in with `token`, here and on the
    /// other nodes; returns how many here.
    pub fn close_token(&self, user: &str, token: &[u8; 32], why: SignedOut) -> usize {
        if let Some(f) = self.forward.get() {
            f(Revoked { user: user.into(), token: Some(*token), except: None, why });
        }
        self.close_token_here(user, token, why)
    }

    /// Closes all of `user`'s sockets but those signed in with `except`,
    /// here and on the other nodes.
    pub fn close_user(&self, user: &str, except: Option<&[u8; 32]>, why: SignedOut) -> usize {
        if let Some(f) = self.forward.get() {
            f(Revoked { user: user.into(), token: None, except: except.copied(), why });
        }
        self.close_user_here(user, except, why)
    }

    /// [`Sockets::close_token`] on this node only (a close from the bus).
    pub fn close_token_here(&self, user: &str, token: &[u8; 32], why: SignedOut) -> usize {
        self.close(user, why, |t| t == token)
    }

    pub fn close_user_here(&self, user: &str, except: Option<&[u8; 32]>, why: SignedOut) -> usize {
        self.close(user, why, |t| Some(t) != except)
    }

    fn close(&self, user: &str, why: SignedOut, pick: impl Fn(&[u8; 32]) -> bool) -> usize {
        let mut m = self.lock();
        let Some(v) = m.get_mut(user) else { return 0 };
        let mut n = 0;
        let mut keep = Vec::with_capacity(v.len());
        for (conn, token, tx) in v.drain(..) {
            if pick(&token) {
                // A socket that already ended has dropped its receiver: nothing to do.
                let _ = tx.send(why);
                n += 1;
            } else {
                keep.push((conn, token, tx));
            }
        }
        if keep.is_empty() {
            m.remove(user);
        } else {
            *v = keep;
        }
        n
    }

    /// Sockets registered (for tests).
    pub fn len(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_by_token_and_by_user() {
        let s = Sockets::default();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mut r1 = s.add("alice", 1, a);
        let mut r2 = s.add("alice", 2, a);
        let mut r3 = s.add("alice", 3, b);
        let mut r4 = s.add("bob", 4, a);
        assert_eq!(s.close_token("alice", &a, SignedOut::LoggedOut), 2);
        assert_eq!(r1.try_recv(), Ok(SignedOut::LoggedOut));
        assert_eq!(r2.try_recv(), Ok(SignedOut::LoggedOut));
        assert!(r3.try_recv().is_err() && r4.try_recv().is_err(), "other tokens and users stay open");
        assert_eq!(s.close_user("alice", Some(&b), SignedOut::PasswordChanged), 0);
        assert_eq!(s.close_user("alice", None, SignedOut::Everywhere), 1);
        assert_eq!(r3.try_recv(), Ok(SignedOut::Everywhere));
        s.remove("bob", 4);
        assert!(s.is_empty());
    }

    #[test]
    fn closes_go_to_the_other_nodes_too() {
        let s = Sockets::default();
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        s.forward_to(Box::new(move |r| log.lock().unwrap().push(r)));
        let mut r1 = s.add("alice", 1, [7; 32]);
        assert_eq!(s.close_token("alice", &[7; 32], SignedOut::LoggedOut), 1);
        assert_eq!(r1.try_recv(), Ok(SignedOut::LoggedOut));
        s.close_user("bob", Some(&[9; 32]), SignedOut::PasswordChanged);
        // A close that came from the bus is not sent back to it.
        s.close_user_here("carol", None, SignedOut::Everywhere);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!((seen[0].user.as_str(), seen[0].token, seen[0].why), ("alice", Some([7; 32]), SignedOut::LoggedOut));
        assert_eq!((seen[1].user.as_str(), seen[1].token, seen[1].except), ("bob", None, Some([9; 32])));
        assert_eq!(unhex32(&crate::auth::hex(&[0xab; 32])), Some([0xab; 32]));
        assert_eq!(unhex32("zz"), None);
        assert_eq!(unhex32(&"é".repeat(32)), None);
    }
}
