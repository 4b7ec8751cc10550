//! Identifier rules shared by both ends.
//!
//! A 1:1 conversation's id is derived from the two user names, so a client
//! can file a message written offline to a person it has never talked to
//! under the same id the relay will use.

/// User names: 1–32 of `a-z 0-9 _ . -`, starting with a letter or digit.
/// Lower case only so that `Bob` and `bob` can never be two people.
pub fn valid_username(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'.' | b'-'))
}

/// Client message ids: 1–64 of `A-Z a-z 0-9 _ -`.
pub fn valid_client_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// The id of the 1:1 conversation between two users: `dm:<lower>:<higher>`.
pub fn dm_conv_id(a: &str, b: &str) -> String {
    if a <= b {
        format!("dm:{a}:{b}")
    } else {
        format!("dm:{b}:{a}")
    }
}

/// The other user of a 1:1 conversation id, if `me` is one of its two.
pub fn dm_peer<'a>(conv: &'a str, me: &str) -> Option<&'a str> {
    let rest = conv.strip_prefix("dm:")?;
    let (a, b) = rest.split_once(':')?;
    if a == me {
        Some(b)
    } else if b == me {
        Some(a)
    } else {
        None
    }
}

/// Group conversation ids are `g:` and 16 hex digits, chosen by the relay.
pub fn is_group_conv(conv: &str) -> bool {
    conv.strip_prefix("g:")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// Whether `conv` is a well-formed conversation id of either kind.
pub fn valid_conv_id(conv: &str) -> bool {
    if is_group_conv(conv) {
        return true;
    }
    match conv.strip_prefix("dm:").and_then(|r| r.split_once(':')) {
        Some((a, b)) => valid_username(a) && valid_username(b) && a < b,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm_ids_are_symmetric() {
        assert_eq!(dm_conv_id("bob", "alice"), "dm:alice:bob");
        assert_eq!(dm_conv_id("alice", "bob"), "dm:alice:bob");
        assert_eq!(dm_peer("dm:alice:bob", "alice"), Some("bob"));
        assert_eq!(dm_peer("dm:alice:bob", "carol"), None);
        assert!(valid_conv_id("dm:alice:bob"));
        assert!(!valid_conv_id("dm:bob:alice"));
        assert!(valid_conv_id("g:0123456789abcdef"));
        assert!(!valid_conv_id("g:xyz"));
    }

    #[test]
    fn usernames() {
        assert!(valid_username("alice_1"));
        assert!(!valid_username("Alice"));
        assert!(!valid_username(""));
        assert!(!valid_username("_x"));
        assert!(!valid_username("a:b"));
        assert!(!valid_username(&"a".repeat(33)));
    }
}
