//! Short-lived signed tickets for live rooms (sans-IO: the secret and the
//! time come in).
//!
//! - A **publish ticket** stands in for the stream key in an RTMP URL
//!   (`rtmp://HOST/live/pt.ROOM.EXPIRES.SIG`): the owner asks for one with
//!   their bearer token, so `onair live --to relay://ROOM` and the app need
//!   no stored key. It starts a live in that room only, until it expires,
//!   and dies when the key is rotated (the key's hash is signed with it).
//! - A **watch ticket** (`wt.ROOM.EXPIRES.SIG.USER`) rides on the media URLs
//!   of a private room as `?ticket=`, because players (hls.js, FFmpeg,
//!   `<video src>`) cannot always send a header. The routes check that USER
//!   is still a member on every request, so removing a member takes effect
//!   at once; the expiry bounds a leaked URL.
//!
//! - An **edge ticket** (`et.ROOM.EXPIRES.SIG`) is how one relay node pulls
//!   a room's live from the node its publisher is on (`super::edge`): nodes
//!   share the store, so they share the secret. The pulling node has
//!   already checked its own viewers' right to watch.
//!
//! The signature is HMAC-SHA256 over the kind and every field, keyed with a
//! secret the relay keeps in its store.

use hmac::{Hmac, Mac};
use sha2::Sha256;

const PUBLISH: &str = "pt";
const WATCH: &str = "wt";
const EDGE: &str = "et";

fn sig(secret: &[u8], parts: &[&str]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    for p in parts {
        // Length-prefixed, so no two field lists sign the same bytes.
        m.update(&(p.len() as u32).to_be_bytes());
        m.update(p.as_bytes());
    }
    m
}

fn hex_sig(m: Hmac<Sha256>) -> String {
    crate::auth::hex(&m.finalize().into_bytes())
}

fn verify(m: Hmac<Sha256>, given: &str) -> bool {
    let Some(bytes) = unhex(given) else { return false };
    m.verify_slice(&bytes).is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.len() > 128 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// A publish ticket for `room`, bound to its owner and current key hash.
pub fn publish(secret: &[u8], room: &str, owner: &str, key_hash: &str, expires_at: i64) -> String {
    let exp = expires_at.to_string();
    format!("{PUBLISH}.{room}.{exp}.{}", hex_sig(sig(secret, &[PUBLISH, room, owner, key_hash, &exp])))
}

/// Is `s` shaped like a publish ticket (as opposed to a stream key)?
pub fn is_publish(s: &str) -> bool {
    s.starts_with("pt.")
}

/// The room a publish ticket names, before it is checked.
pub fn publish_room(s: &str) -> Option<&str> {
    let mut it = s.split('.');
    (it.next()? == PUBLISH).then_some(())?;
    it.next()
}

/// Why a ticket was refused (the same words for every cause an outsider
/// could probe, except expiry, which tells an honest client what to do).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("invalid ticket")]
    Invalid,
    #[error("the ticket has expired; ask for a new one")]
    Expired,
}

/// Checks a publish ticket against the room it names (its owner and key
/// hash now), at `now_ms`.
pub fn check_publish(secret: &[u8], s: &str, room: &str, owner: &str, key_hash: &str, now_ms: i64) -> Result<(), TicketError> {
    let parts: Vec<&str> = s.split('.').collect();
    let [kind, r, exp, given] = parts[..] else { return Err(TicketError::Invalid) };
    if kind != PUBLISH || r != room || !verify(sig(secret, &[PUBLISH, room, owner, key_hash, exp]), given) {
        return Err(TicketError::Invalid);
    }
    let exp: i64 = exp.parse().map_err(|_| TicketError::Invalid)?;
    if now_ms > exp {
        return Err(TicketError::Expired);
    }
    Ok(())
}

/// A watch ticket for `user` in `room`.
pub fn watch(secret: &[u8], room: &str, user: &str, expires_at: i64) -> String {
    let exp = expires_at.to_string();
    format!("{WATCH}.{room}.{exp}.{}.{user}", hex_sig(sig(secret, &[WATCH, room, user, &exp])))
}

/// The user a watch ticket for `room` was made for, if it is genuine and
/// not expired at `now_ms`. Whether that user may still watch is the
/// caller's to check.
pub fn check_watch(secret: &[u8], s: &str, room: &str, now_ms: i64) -> Result<String, TicketError> {
    let mut it = s.splitn(5, '.');
    let (Some(kind), Some(r), Some(exp), Some(given), Some(user)) = (it.next(), it.next(), it.next(), it.next(), it.next()) else { return Err(TicketError::Invalid) };
    if kind != WATCH || r != room || !verify(sig(secret, &[WATCH, room, user, exp]), given) {
        return Err(TicketError::Invalid);
    }
    let exp: i64 = exp.parse().map_err(|_| TicketError::Invalid)?;
    if now_ms > exp {
        return Err(TicketError::Expired);
    }
    Ok(user.to_string())
}

/// An edge ticket for pulling `room` from its origin node.
pub fn edge(secret: &[u8], room: &str, expires_at: i64) -> String {
    let exp = expires_at.to_string();
    format!("{EDGE}.{room}.{exp}.{}", hex_sig(sig(secret, &[EDGE, room, &exp])))
}

/// Checks an edge ticket for `room` at `now_ms`.
pub fn check_edge(secret: &[u8], s: &str, room: &str, now_ms: i64) -> Result<(), TicketError> {
    let parts: Vec<&str> = s.split('.').collect();
    let [kind, r, exp, given] = parts[..] else { return Err(TicketError::Invalid) };
    if kind != EDGE || r != room || !verify(sig(secret, &[EDGE, room, exp]), given) {
        return Err(TicketError::Invalid);
    }
    let exp: i64 = exp.parse().map_err(|_| TicketError::Invalid)?;
    if now_ms > exp {
        return Err(TicketError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn publish_tickets_bind_room_owner_key_and_time() {
        let t = publish(S, "r1", "ann", "sha256:aa", 1_000);
        assert!(is_publish(&t) && publish_room(&t) == Some("r1"));
        assert_eq!(check_publish(S, &t, "r1", "ann", "sha256:aa", 999), Ok(()));
        assert_eq!(check_publish(S, &t, "r1", "ann", "sha256:aa", 1_001), Err(TicketError::Expired));
        assert_eq!(check_publish(S, &t, "r2", "ann", "sha256:aa", 999), Err(TicketError::Invalid), "another room");
        assert_eq!(check_publish(S, &t, "r1", "bob", "sha256:aa", 999), Err(TicketError::Invalid), "another owner");
        assert_eq!(check_publish(S, &t, "r1", "ann", "sha256:bb", 999), Err(TicketError::Invalid), "the key was rotated");
        assert_eq!(check_publish(b"other", &t, "r1", "ann", "sha256:aa", 999), Err(TicketError::Invalid), "another relay");
        let later = t.replace(".1000.", ".9999.");
        assert_eq!(check_publish(S, &later, "r1", "ann", "sha256:aa", 999), Err(TicketError::Invalid), "a stretched expiry");
    }

    #[test]
    fn watch_tickets_name_their_user_and_room() {
        let t = watch(S, "r1", "bob.smith", 1_000);
        assert_eq!(check_watch(S, &t, "r1", 1_000), Ok("bob.smith".into()));
        assert_eq!(check_watch(S, &t, "r2", 1_000), Err(TicketError::Invalid));
        assert_eq!(check_watch(S, &t, "r1", 1_001), Err(TicketError::Expired));
        let other = t.replace("bob.smith", "eve");
        assert_eq!(check_watch(S, &other, "r1", 1_000), Err(TicketError::Invalid), "another user's name");
        let publish_one = publish(S, "r1", "ann", "h", 1_000);
        assert!(check_watch(S, &publish_one, "r1", 0).is_err());
    }

    #[test]
    fn edge_tickets_bind_the_room_and_time() {
        let t = edge(S, "r1", 1_000);
        assert_eq!(check_edge(S, &t, "r1", 1_000), Ok(()));
        assert_eq!(check_edge(S, &t, "r2", 1_000), Err(TicketError::Invalid));
        assert_eq!(check_edge(S, &t, "r1", 1_001), Err(TicketError::Expired));
        assert_eq!(check_edge(b"other", &t, "r1", 0), Err(TicketError::Invalid));
        assert!(check_edge(S, &watch(S, "r1", "eve", 1_000), "r1", 0).is_err(), "a watch ticket is no edge ticket");
        assert!(check_edge(S, &t.replace(".1000.", ".9999."), "r1", 0).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for s in ["", ".", "pt", "pt....", "wt.r1.x.y.z", "wt.r1.1.zz.u", "pt.r1.1.\u{e9}\u{e9}", &"a".repeat(10_000)] {
            assert!(check_publish(S, s, "r1", "ann", "h", 0).is_err());
            assert!(check_watch(S, s, "r1", 0).is_err());
            assert!(check_edge(S, s, "r1", 0).is_err());
        }
    }
}
