//! Server-side call recordings in storage (issue 16): the recording rows
//! (with each file's key wrapped by the relay's master key), bookmarks, the
//! access audit and each user's standing answer to being recorded. The
//! bytes live in encrypted files under the data folder (`cloud.rs`).

use super::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudRow {
    pub id: String,
    pub call_id: String,
    pub caller: String,
    pub callee: String,
    pub started_by: String,
    pub tier: String,
    /// `recording`, `done` or `failed`.
    pub state: String,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: i64,
    pub bytes: i64,
    pub wrapped_key: Vec<u8>,
    pub pinned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudMark {
    pub t_ms: i64,
    pub by: String,
    pub label: String,
}

pub trait CloudStore {
    fn cloud_create(&self, r: &CloudRow) -> Result<()>;
    fn cloud_get(&self, id: &str) -> Result<Option<CloudRow>>;
    /// Recordings of calls `user` took part in, newest first.
    fn cloud_list(&self, user: &str) -> Result<Vec<CloudRow>>;
    /// Recordings still `recording` or `pending` (a crash interrupted them).
    fn cloud_unfinished(&self) -> Result<Vec<CloudRow>>;
    fn cloud_finish(&self, id: &str, state: &str, ended_at: Option<i64>, duration_ms: i64, bytes: i64) -> Result<()>;
    fn cloud_pin(&self, id: &str, pinned: bool) -> Result<()>;
    /// Removes the row and its bookmarks (the access audit stays).
    fn cloud_delete(&self, id: &str) -> Result<()>;
    /// Unpinned, ended recordings that ended before `before`.
    fn cloud_expired(&self, before: i64) -> Result<Vec<String>>;
    fn cloud_bookmark(&self, id: &str, m: &CloudMark) -> Result<()>;
    fn cloud_bookmarks(&self, id: &str) -> Result<Vec<CloudMark>>;
    /// Appends to the access audit (`action`: list, show, download, …).
    fn cloud_access(&self, id: &str, user: &str, action: &str, at: i64) -> Result<()>;
    /// The audit, oldest first: (user, action, at).
    fn cloud_accesses(&self, id: &str) -> Result<Vec<(String, String, i64)>>;
    /// `ask`, `allow` or `never`; None: never set (the relay treats it as `ask`).
    fn recording_consent(&self, user: &str) -> Result<Option<String>>;
    fn set_recording_consent(&self, user: &str, answer: &str) -> Result<()>;
    /// The newest answered, unended call of `user`: (id, caller, callee).
    fn cloud_live_call(&self, user: &str) -> Result<Option<(String, String, String)>>;
}

/// The behaviour every backend must show (part of the conformance suite).
pub fn conformance(s: &dyn super::Store) {
    let row = |id: &str, at: i64| CloudRow {
        id: id.into(),
        call_id: "c00000000000000aa".into(),
        caller: "ann".into(),
        callee: "cat".into(),
        started_by: "ann".into(),
        tier: "720p".into(),
        state: "recording".into(),
        created_at: at,
        ended_at: None,
        duration_ms: 0,
        bytes: 0,
        wrapped_key: vec![1, 2, 3, 255],
        pinned: false,
    };
    s.cloud_create(&row("r1", 100)).unwrap();
    s.cloud_create(&row("r2", 200)).unwrap();
    assert_eq!(s.cloud_get("r1").unwrap(), Some(row("r1", 100)));
    assert_eq!(s.cloud_get("nope").unwrap(), None);
    let ids = |v: Vec<CloudRow>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(s.cloud_list("cat").unwrap()), ["r2", "r1"], "newest first");
    assert!(s.cloud_list("bob").unwrap().is_empty());
    assert_eq!(ids(s.cloud_unfinished().unwrap()).len(), 2);
    s.cloud_finish("r1", "done", Some(150), 50_000, 1234).unwrap();
    s.cloud_finish("r2", "failed", Some(250), 10, 0).unwrap();
    let r1 = s.cloud_get("r1").unwrap().unwrap();
    assert_eq!((r1.state.as_str(), r1.ended_at, r1.duration_ms, r1.bytes), ("done", Some(150), 50_000, 1234));
    assert!(s.cloud_unfinished().unwrap().is_empty());
    s.cloud_pin("r1", true).unwrap();
    assert!(s.cloud_get("r1").unwrap().unwrap().pinned);
    assert_eq!(s.cloud_expired(1000).unwrap(), ["r2"], "pinned ones are kept");
    let m = |t, by: &str, l: &str| CloudMark { t_ms: t, by: by.into(), label: l.into() };
    s.cloud_bookmark("r1", &m(900, "cat", "second")).unwrap();
    s.cloud_bookmark("r1", &m(100, "ann", "first")).unwrap();
    assert_eq!(s.cloud_bookmarks("r1").unwrap(), [m(100, "ann", "first"), m(900, "cat", "second")], "in time order");
    s.cloud_access("r1", "ann", "download", 300).unwrap();
    s.cloud_access("r1", "cat", "show", 300).unwrap();
    assert_eq!(s.cloud_accesses("r1").unwrap(), [("ann".into(), "download".into(), 300), ("cat".into(), "show".into(), 300)]);
    s.cloud_delete("r1").unwrap();
    assert_eq!(s.cloud_get("r1").unwrap(), None);
    assert!(s.cloud_bookmarks("r1").unwrap().is_empty());
    assert_eq!(s.cloud_accesses("r1").unwrap().len(), 2, "the audit outlives the recording");
    s.cloud_delete("r2").unwrap();
    assert_eq!(s.recording_consent("ann").unwrap(), None);
    s.set_recording_consent("ann", "never").unwrap();
    s.set_recording_consent("ann", "allow").unwrap();
    assert_eq!(s.recording_consent("ann").unwrap().as_deref(), Some("allow"));
    assert_eq!(s.cloud_live_call("ann").unwrap(), None);
    s.call_created("c00000000000000bb", "ann", "cat", 500).unwrap();
    assert_eq!(s.cloud_live_call("cat").unwrap(), None, "not answered yet");
    s.call_accepted("c00000000000000bb", 501).unwrap();
    assert_eq!(s.cloud_live_call("cat").unwrap(), Some(("c00000000000000bb".into(), "ann".into(), "cat".into())));
    s.call_ended("c00000000000000bb", onair_proto::EndReason::Hangup, 502).unwrap();
    assert_eq!(s.cloud_live_call("ann").unwrap(), None);
}
