//! Signed-in sockets by user and token, so that revoking a token (log out,
//! sign out everywhere, a new password, a deleted account) also closes the
//! sockets already open with it, not only future requests.
//!
//! The socket driver (`ws.rs`) registers each socket after its hello and
//! waits on the receiver it gets back; the HTTP handlers that revoke tokens
//! call [`Sockets::close_token`] or [`Sockets::close_user`] after the store
//! has revoked them, so a socket that reconnects is refused.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Why a socket was closed; its text is the close frame's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

#[derive(Default)]
pub struct Sockets {
    by_user: Mutex<HashMap<String, Vec<Entry>>>,
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

    /// Closes `user`'s sockets signed in with `token`; returns how many.
    pub fn close_token(&self, user: &str, token: &[u8; 32], why: SignedOut) -> usize {
        self.close(user, why, |t| t == token)
    }

    /// Closes all of `user`'s sockets but those signed in with `except`.
    pub fn close_user(&self, user: &str, except: Option<&[u8; 32]>, why: SignedOut) -> usize {
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
}
