//! Live rooms in storage: a room and its secret stream key. Whether a room
//! is live right now is not stored: it lives in the relay's memory
//! (`live::Registry`) and ends with the process.

use super::Result;

#[derive(Clone, PartialEq, Eq)]
pub struct RoomRow {
    pub id: String,
    pub owner: String,
    pub title: String,
    pub category: String,
    pub stream_key: String,
    pub created_at: i64,
}

impl std::fmt::Debug for RoomRow {
    // The stream key is a secret: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomRow").field("id", &self.id).field("owner", &self.owner).field("title", &self.title).field("category", &self.category).finish_non_exhaustive()
    }
}

pub trait RoomStore {
    fn create_room(&self, r: &RoomRow) -> Result<()>;
    fn room(&self, id: &str) -> Result<Option<RoomRow>>;
    fn room_by_key(&self, key: &str) -> Result<Option<RoomRow>>;
    /// Every room, newest first (the directory filters by who is live).
    fn rooms(&self) -> Result<Vec<RoomRow>>;
    fn set_room_key(&self, id: &str, key: &str) -> Result<()>;
}

/// The behaviour every backend's rooms must show (part of the conformance
/// suite; `ann` must exist).
pub fn conformance(s: &dyn super::Store) {
    let r = RoomRow { id: "r1".into(), owner: "ann".into(), title: "T".into(), category: "music".into(), stream_key: "k1".into(), created_at: 5 };
    s.create_room(&r).unwrap();
    assert_eq!(s.room("r1").unwrap(), Some(r.clone()));
    assert_eq!(s.room_by_key("k1").unwrap().map(|r| r.id), Some("r1".into()));
    assert_eq!(s.room_by_key("nope").unwrap(), None);
    s.set_room_key("r1", "k2").unwrap();
    assert_eq!(s.room_by_key("k1").unwrap(), None);
    assert_eq!(s.room_by_key("k2").unwrap().map(|r| r.id), Some("r1".into()));
    assert_eq!(s.rooms().unwrap().len(), 1);
}
