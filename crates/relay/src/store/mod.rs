//! Storage behind a trait: [`SqliteStore`] is the embedded default,
//! [`PostgresStore`] the shared one for several relay nodes; both pass
//! [`conformance::run_all`]. The trait is sync: async code calls it through
//! `AppState::store_call` (a bounded blocking pool), never on a worker.
//!
//! Operations that must be atomic (appending an entry and bumping the
//! conversation's sequence, a recall and the entry announcing it) are single
//! trait methods, so every backend keeps them atomic. Chat messages reach the
//! store in batches ([`Store::append_batch`], one transaction each) through
//! the relay's group-commit writer (`commit.rs`).

pub mod calls;
pub mod cloud;
pub mod conformance;
pub mod follows;
mod postgres;
pub mod rooms;
mod sqlite;

pub use calls::CallStore;
pub use cloud::{CloudMark, CloudRow, CloudStore};
pub use follows::FollowStore;
pub use rooms::{RoomRow, RoomStore};
pub use postgres::{redact as redact_store_url, PostgresStore};
pub use sqlite::SqliteStore;

use crate::error::StoreError;
use onair_proto::{AcceptFrom, Attachment, ConvInfo, Entry, EntryKind, FriendState, ReadMark};

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub name: String,
    pub pw_hash: String,
    pub accept_from: AcceptFrom,
    pub last_seen: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ConvRow {
    pub id: String,
    pub is_group: bool,
    pub name: String,
    pub owner: Option<String>,
    pub last_seq: u64,
}

/// A new log entry; the store assigns `seq`.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub id: String,
    pub sender: String,
    pub sent_at: i64,
    pub kind: EntryKind,
    pub text: String,
    pub ref_seq: Option<u64>,
    pub burn_secs: Option<u32>,
    pub attachment: Option<Attachment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub sent_at: i64,
    /// The client id was seen before: nothing was written, the original
    /// seq and time are returned.
    pub duplicate: bool,
}

/// A message of `sender` found by its client id.
#[derive(Debug, Clone)]
pub struct OwnMessage {
    pub conv: String,
    pub seq: u64,
    pub sent_at: i64,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub id: String,
    pub conv: String,
    pub owner: String,
    pub name: String,
    pub mime: String,
    pub size: u64,
}

/// What deleting an account did: its tokens, friendships, blocks and
/// memberships are gone, and every message it sent was replaced by a recall
/// entry (text and attachment removed), as a recall by the sender does.
#[derive(Debug, Clone, Default)]
pub struct DeletedAccount {
    /// The recall entries appended, with their conversations.
    pub tombstones: Vec<(String, Entry)>,
    /// The account's attachments: their rows are gone, their bytes are the
    /// caller's to delete.
    pub attachments: Vec<String>,
    /// The conversations it left, each with the members that remain.
    pub left: Vec<(String, Vec<String>)>,
    /// Users who had a friendship or a friend request with it.
    pub friends: Vec<String>,
}

/// Runs blocking `f` where blocking is allowed: as is on a plain or
/// blocking-pool thread, through `block_in_place` on a multi-thread
/// runtime's worker, and on a scoped thread inside a current-thread
/// runtime (which has no `block_in_place`).
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(RuntimeFlavor::CurrentThread) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }),
        Ok(_) => tokio::task::block_in_place(f),
    }
}

/// What the default [`Store::append_batch`] does: each append in its own
/// commit. (Named, so the conformance suite can check it.)
pub fn append_one_by_one(s: &dyn Store, items: &[(&str, &NewEntry)]) -> Result<Vec<Result<Appended>>> {
    Ok(items.iter().map(|(conv, e)| s.append(conv, e)).collect())
}

pub trait Store: RoomStore + CallStore + CloudStore + FollowStore + Send + Sync + 'static {
    // Accounts.
    fn create_user(&self, name: &str, pw_hash: &str, now: i64) -> Result<()>;
    fn user(&self, name: &str) -> Result<Option<UserRow>>;
    fn set_last_seen(&self, name: &str, at: i64) -> Result<()>;
    fn set_accept_from(&self, name: &str, a: AcceptFrom) -> Result<()>;
    fn insert_token(&self, hash: &[u8; 32], user: &str, now: i64, expires_at: i64) -> Result<()>;
    /// The user of a live (unrevoked, unexpired) token.
    fn token_user(&self, hash: &[u8; 32], now: i64) -> Result<Option<String>>;
    fn revoke_token(&self, hash: &[u8; 32]) -> Result<()>;
    /// Replaces the password hash of a live account; false if there is none.
    fn set_password(&self, name: &str, pw_hash: &str) -> Result<bool>;
    /// Revokes every token of `user` but `except`; returns how many.
    fn revoke_user_tokens(&self, user: &str, except: Option<&[u8; 32]>) -> Result<u64>;
    /// Deletes an account in one transaction (see [`DeletedAccount`]); None
    /// if there is no such live account. The name stays taken, so nobody
    /// else can step into the conversations it was part of.
    fn delete_account(&self, name: &str, now: i64) -> Result<Option<DeletedAccount>>;

    // Friends and blocks.
    /// `user`'s view of `other`, if any relation exists.
    fn friend_state(&self, user: &str, other: &str) -> Result<Option<FriendState>>;
    /// Sets both directions at once (`None` removes the row).
    fn set_friend_pair(&self, user: &str, other: &str, mine: Option<FriendState>, theirs: Option<FriendState>) -> Result<()>;
    fn friends_of(&self, user: &str) -> Result<Vec<(String, FriendState, Option<i64>)>>;
    fn blocks(&self, user: &str, other: &str) -> Result<bool>;
    fn set_block(&self, user: &str, other: &str, blocked: bool) -> Result<()>;
    fn blocked_by(&self, user: &str) -> Result<Vec<String>>;
    /// Who blocked `user` (the other direction of [`Store::blocked_by`]).
    fn blockers_of(&self, user: &str) -> Result<Vec<String>>;

    // Conversations.
    fn conv(&self, id: &str) -> Result<Option<ConvRow>>;
    /// Creates the 1:1 conversation if it does not exist yet.
    fn ensure_dm(&self, id: &str, a: &str, b: &str, now: i64) -> Result<()>;
    fn create_group(&self, id: &str, name: &str, owner: &str, members: &[String], now: i64) -> Result<()>;
    fn members(&self, conv: &str) -> Result<Vec<String>>;
    fn is_member(&self, conv: &str, user: &str) -> Result<bool>;
    fn add_member(&self, conv: &str, user: &str, now: i64) -> Result<()>;
    fn remove_member(&self, conv: &str, user: &str) -> Result<()>;
    fn set_owner(&self, conv: &str, owner: Option<&str>) -> Result<()>;
    fn convs_of(&self, user: &str) -> Result<Vec<ConvInfo>>;

    // The log.
    /// Appends an entry; a message whose `(sender, id)` exists is not
    /// written again. A recall or burn entry also marks `ref_seq` deleted.
    fn append(&self, conv: &str, e: &NewEntry) -> Result<Appended>;
    /// Appends several entries, in order, committed together (group commit):
    /// each result is what [`Store::append`] would have answered at that
    /// point, so a client id repeated within the batch is a duplicate of
    /// its first copy. An entry that fails alone (its conversation does not
    /// exist) writes nothing and the others still commit; the outer error
    /// means nothing at all was written. Nothing is visible to readers
    /// before the whole batch commits. This default commits one at a time
    /// (as [`append_one_by_one`]).
    fn append_batch(&self, items: &[(&str, &NewEntry)]) -> Result<Vec<Result<Appended>>> {
        Ok(items.iter().map(|(conv, e)| self.append(conv, e)).collect())
    }
    fn entries_after(&self, conv: &str, after: u64, limit: u32) -> Result<Vec<Entry>>;
    fn entries_before(&self, conv: &str, before: Option<u64>, limit: u32) -> Result<Vec<Entry>>;
    fn own_message(&self, sender: &str, id: &str) -> Result<Option<OwnMessage>>;
    fn entry(&self, conv: &str, seq: u64) -> Result<Option<Entry>>;
    /// Raises `user`'s read mark (never lowers it); returns the mark now held.
    fn set_read(&self, conv: &str, user: &str, seq: u64) -> Result<u64>;
    fn reads(&self, conv: &str) -> Result<Vec<ReadMark>>;
    /// Burn-after-read messages in `conv` up to `seq` with no timer yet.
    fn unarmed_burns(&self, conv: &str, upto: u64) -> Result<Vec<(u64, String, u32)>>;
    fn arm_burn(&self, conv: &str, seq: u64, at: i64) -> Result<()>;
    /// Armed burns whose time has come: (conv, seq).
    fn due_burns(&self, now: i64) -> Result<Vec<(String, u64)>>;

    // Attachments (metadata; bytes live in files beside the database).
    fn insert_attachment(&self, a: &AttachmentRow, now: i64) -> Result<()>;
    fn attachment(&self, id: &str) -> Result<Option<AttachmentRow>>;
    /// Up to `limit` ids of attachments whose message was recalled or
    /// burned (their rows are already gone); each is handed out once, for
    /// the relay to remove its file.
    fn take_attachment_trash(&self, limit: u32) -> Result<Vec<String>>;
    /// What `owner` has uploaded in the 24 hours before `now` (recalled or
    /// burned files included) and keeps in all (recalled or burned files not).
    fn upload_usage(&self, owner: &str, now: i64) -> Result<crate::quota::Usage>;
}
