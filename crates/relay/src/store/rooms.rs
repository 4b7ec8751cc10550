//! Live rooms in storage: a room and the hash of its stream key. Whether a
//! room is live right now is not stored: it lives in the relay's memory
//! (`live::Live`) and ends with the process.

use super::Result;
use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, Eq)]
pub struct RoomRow {
    pub id: String,
    pub owner: String,
    pub title: String,
    pub category: String,
    /// [`key_hash`] of the stream key; the key itself is never stored.
    pub key_hash: String,
    /// Live and replays only for the owner and the room's members.
    pub private: bool,
    pub created_at: i64,
    /// The owner's quality ladder (`source,480p,audio`); None: the relay's.
    pub ladder: Option<String>,
}

impl std::fmt::Debug for RoomRow {
    // Even the key's hash stays out of logs: it names what publishes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomRow").field("id", &self.id).field("owner", &self.owner).field("title", &self.title).field("category", &self.category).field("private", &self.private).finish_non_exhaustive()
    }
}

/// What the store keeps of a stream key: `sha256:` and the hex digest. A
/// key is 20 random bytes, so a plain (unsalted) hash cannot be reversed
/// and publish can still find the room by it.
pub fn key_hash(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    format!("sha256:{}", crate::auth::hex(&d))
}

pub trait RoomStore {
    fn create_room(&self, r: &RoomRow) -> Result<()>;
    fn room(&self, id: &str) -> Result<Option<RoomRow>>;
    /// The room whose stream key hashes to `hash` ([`key_hash`]).
    fn room_by_key_hash(&self, hash: &str) -> Result<Option<RoomRow>>;
    /// Every room, newest first (the directory filters by who is live).
    fn rooms(&self) -> Result<Vec<RoomRow>>;
    fn set_room_key_hash(&self, id: &str, hash: &str) -> Result<()>;
    /// The relay's secret named `name` (32 random bytes made by `fresh` the
    /// first time it is asked for, then kept).
    fn secret(&self, name: &str, fresh: &dyn Fn() -> Vec<u8>) -> Result<Vec<u8>>;
    /// Lets `user` watch private room `room` (again: a no-op).
    fn add_room_member(&self, room: &str, user: &str, at: i64) -> Result<()>;
    /// False if `user` was not a member.
    fn remove_room_member(&self, room: &str, user: &str) -> Result<bool>;
    /// The members of `room` (not its owner), by name.
    fn room_members(&self, room: &str) -> Result<Vec<String>>;
    fn is_room_member(&self, room: &str, user: &str) -> Result<bool>;
}

/// The behaviour every backend's rooms must show (part of the conformance
/// suite; `ann` must exist).
pub fn conformance(s: &dyn super::Store) {
    let r = RoomRow { id: "r1".into(), owner: "ann".into(), title: "T".into(), category: "music".into(), key_hash: key_hash("k1"), private: true, created_at: 5, ladder: Some("source,480p".into()) };
    s.create_room(&r).unwrap();
    assert_eq!(s.room("r1").unwrap(), Some(r.clone()));
    assert_eq!(s.room_by_key_hash(&key_hash("k1")).unwrap().map(|r| r.id), Some("r1".into()));
    assert_eq!(s.room_by_key_hash(&key_hash("nope")).unwrap(), None);
    s.set_room_key_hash("r1", &key_hash("k2")).unwrap();
    assert_eq!(s.room_by_key_hash(&key_hash("k1")).unwrap(), None);
    assert_eq!(s.room_by_key_hash(&key_hash("k2")).unwrap().map(|r| r.id), Some("r1".into()));
    assert_eq!(s.rooms().unwrap().len(), 1);
    let a = s.secret("t", &|| vec![1; 32]).unwrap();
    assert_eq!(a, vec![1; 32]);
    assert_eq!(s.secret("t", &|| vec![2; 32]).unwrap(), a, "a secret is made once");
    assert!(!s.is_room_member("r1", "ann").unwrap());
    s.add_room_member("r1", "ann", 6).unwrap();
    s.add_room_member("r1", "ann", 7).unwrap();
    assert!(s.is_room_member("r1", "ann").unwrap());
    assert_eq!(s.room_members("r1").unwrap(), vec!["ann".to_string()]);
    assert!(s.remove_room_member("r1", "ann").unwrap());
    assert!(!s.remove_room_member("r1", "ann").unwrap());
    assert!(!s.is_room_member("r1", "ann").unwrap());
}
