//! Followers, go-live notices and room covers in storage (issue 17).
//!
//! A follow is `(follower, target)` where the target is `user:NAME` (every
//! room of that streamer) or `room:ID` (one room). Whether a notice goes out
//! is decided by the store ([`FollowStore::claim_live_notice`]), atomically,
//! so two nodes (or one ingest reconnecting) never send two for one go-live.

use super::Result;

/// The target string of following user `name`.
pub fn user_target(name: &str) -> String {
    format!("user:{name}")
}

/// The target string of following room `id`.
pub fn room_target(id: &str) -> String {
    format!("room:{id}")
}

/// A go-live claimed more than this long after the last notice always
/// notifies (the relay may have died without recording the live's end).
pub const NOTICE_MAX_SILENCE_MS: i64 = 12 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub mime: String,
    pub bytes: Vec<u8>,
    pub updated_at: i64,
}

pub trait FollowStore {
    /// `follower` follows `target`; false if it already did.
    fn follow(&self, follower: &str, target: &str, at: i64) -> Result<bool>;
    /// False if `follower` did not follow `target`.
    fn unfollow(&self, follower: &str, target: &str) -> Result<bool>;
    /// What `follower` follows, oldest first.
    fn following(&self, follower: &str) -> Result<Vec<String>>;
    /// Who follows `target`, by name.
    fn followers(&self, target: &str) -> Result<Vec<String>>;
    /// Removes `a`'s follows of `b` and of `b`'s rooms, and the other way
    /// round (a block ends following both ways).
    fn unfollow_between(&self, a: &str, b: &str) -> Result<()>;
    /// True (and remembered) if a go-live of `room` at `now` deserves a
    /// notice: none was sent yet, or the last live ended at least `grace_ms`
    /// before now (a shorter gap is the ingest reconnecting), or the last
    /// notice is older than [`NOTICE_MAX_SILENCE_MS`].
    fn claim_live_notice(&self, room: &str, now: i64, grace_ms: i64) -> Result<bool>;
    /// `room`'s live ended at `at`.
    fn note_live_ended(&self, room: &str, at: i64) -> Result<()>;
    fn set_room_cover(&self, room: &str, c: &Cover) -> Result<()>;
    fn room_cover(&self, room: &str) -> Result<Option<Cover>>;
    /// Each room with a cover and when it was set.
    fn cover_stamps(&self) -> Result<Vec<(String, i64)>>;
    fn set_room_category(&self, room: &str, category: &str) -> Result<()>;
    fn set_room_title(&self, room: &str, title: &str) -> Result<()>;
}

/// The behaviour every backend must show (part of the conformance suite;
/// runs after the rooms' part: room `r1` of `ann` exists).
pub fn conformance(s: &dyn super::Store) {
    for u in ["fola", "folb"] {
        s.create_user(u, "h", 0).unwrap();
    }
    let (ann, r1) = (user_target("ann"), room_target("r1"));
    assert!(s.follow("fola", &ann, 1).unwrap());
    assert!(!s.follow("fola", &ann, 2).unwrap(), "following twice is one follow");
    assert!(s.follow("fola", &r1, 3).unwrap());
    assert!(s.follow("folb", &ann, 4).unwrap());
    assert_eq!(s.following("fola").unwrap(), vec![ann.clone(), r1.clone()]);
    assert_eq!(s.followers(&ann).unwrap(), vec!["fola".to_string(), "folb".to_string()]);
    assert!(s.unfollow("folb", &ann).unwrap());
    assert!(!s.unfollow("folb", &ann).unwrap());
    assert_eq!(s.followers(&ann).unwrap(), vec!["fola".to_string()]);
    // A block ends follows of the user and of their rooms, both ways.
    s.follow("ann", &user_target("fola"), 5).unwrap();
    s.unfollow_between("ann", "fola").unwrap();
    assert!(s.following("fola").unwrap().is_empty());
    assert!(s.following("ann").unwrap().is_empty());

    // One notice per go-live: a reconnect within the grace is the same live.
    assert!(s.claim_live_notice("r1", 1_000, 60_000).unwrap());
    assert!(!s.claim_live_notice("r1", 2_000, 60_000).unwrap(), "still live: no second notice");
    s.note_live_ended("r1", 10_000).unwrap();
    assert!(!s.claim_live_notice("r1", 15_000, 60_000).unwrap(), "back within the grace: a reconnect");
    s.note_live_ended("r1", 20_000).unwrap();
    assert!(s.claim_live_notice("r1", 90_000, 60_000).unwrap(), "off air longer than the grace: a new live");
    assert!(!s.claim_live_notice("r1", 95_000, 60_000).unwrap());
    assert!(s.claim_live_notice("r1", 95_000 + NOTICE_MAX_SILENCE_MS, 60_000).unwrap(), "an end never recorded does not silence it for ever");

    assert_eq!(s.room_cover("r1").unwrap(), None);
    let c = Cover { mime: "image/png".into(), bytes: vec![0x89, b'P', b'N', b'G', 0, 255], updated_at: 7 };
    s.set_room_cover("r1", &c).unwrap();
    assert_eq!(s.room_cover("r1").unwrap(), Some(c.clone()));
    let c2 = Cover { mime: "image/webp".into(), bytes: vec![1, 2, 3], updated_at: 8 };
    s.set_room_cover("r1", &c2).unwrap();
    assert_eq!(s.room_cover("r1").unwrap(), Some(c2));
    assert_eq!(s.cover_stamps().unwrap(), vec![("r1".to_string(), 8)]);
    s.set_room_category("r1", "games").unwrap();
    s.set_room_title("r1", "New").unwrap();
    let r = s.room("r1").unwrap().unwrap();
    assert_eq!((r.category.as_str(), r.title.as_str()), ("games", "New"));
}
