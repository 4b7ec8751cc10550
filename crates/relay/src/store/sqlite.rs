//! The embedded SQLite backend (WAL). One writer connection behind a mutex
//! (SQLite serialises writes anyway) and, for a database on disk, a few
//! read-only connections beside it: WAL readers see the last commit and
//! never wait for the writer, so a long batch commit holds up no read.

use super::*;
use onair_proto::ConvKind;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    ("0002_live_rooms", include_str!("../../migrations/0002_live_rooms.sql")),
    ("0003_calls", include_str!("../../migrations/0003_calls.sql")),
    ("0004_account_delete", include_str!("../../migrations/0004_account_delete.sql")),
    ("0005_attachment_trash", include_str!("../../migrations/0005_attachment_trash.sql")),
    ("0006_upload_quota", include_str!("../../migrations/0006_upload_quota.sql")),
    ("0007_room_key_hash", include_str!("../../migrations/0007_room_key_hash.sql")),
    ("0008_private_rooms", include_str!("../../migrations/0008_private_rooms.sql")),
    ("0009_room_ladder", include_str!("../../migrations/0009_room_ladder.sql")),
    ("0010_cloud_recordings", include_str!("../../migrations/0010_cloud_recordings.sql")),
    ("0011_follows", include_str!("../../migrations/0011_follows.sql")),
];

mod calls;
mod cloud;
mod follows;
mod rooms;

/// Read-only connections beside the writer (a database on disk).
const READERS: usize = 4;

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Read-only connections (none in memory: there the writer reads too).
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    /// Stops the checkpoint thread when the store is dropped.
    _checkpointer: Option<Checkpointer>,
}

/// Moves WAL checkpoints (which fsync) off the request path: with SQLite's
/// automatic checkpoints, every few hundred messages one sender waited tens
/// of milliseconds for the disk while holding the store's lock.
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.execute_batch("PRAGMA busy_timeout=5000;")?;
        let (stop, rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("relay-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            })
            .map_err(|e| StoreError::Corrupt(format!("starting the checkpoint thread: {e}")))?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut s = Self::init(Connection::open(path)?)?;
        s.c()?.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        s._checkpointer = Some(Checkpointer::start(path)?);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
            r.execute_batch("PRAGMA busy_timeout=5000; PRAGMA query_only=1;")?;
            s.readers.push(Mutex::new(r));
        }
        Ok(s)
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        // NORMAL is durable against a crash of the relay process (the WAL
        // survives it); only a power cut can lose the last commits.
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
            if (i as i64) < version {
                continue;
            }
            conn.execute_batch(&format!("BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;", i + 1))
                .map_err(|source| StoreError::Migration { name, source })?;
        }
        rooms::hash_plain_keys(&conn)?;
        Ok(SqliteStore { conn: Mutex::new(conn), readers: Vec::new(), next_reader: Default::default(), _checkpointer: None })
    }

    /// The writer (and the reader of an in-memory database).
    fn c(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// A read-only connection: a free one if any, else the next in turn.
    fn r(&self) -> Result<MutexGuard<'_, Connection>> {
        if self.readers.is_empty() {
            return self.c();
        }
        let start = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Ok(g) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return Ok(g);
            }
        }
        self.readers[start % self.readers.len()].lock().map_err(|_| StoreError::Poisoned)
    }

    /// Holds the writer until the guard is dropped: for tests that show
    /// reads and other sockets carry on while a write is stuck.
    #[doc(hidden)]
    pub fn hold_writer(&self) -> Result<MutexGuard<'_, Connection>> {
        self.c()
    }
}

fn friend_state_str(s: FriendState) -> &'static str {
    match s {
        FriendState::Friends => "friends",
        FriendState::Outgoing => "outgoing",
        FriendState::Incoming => "incoming",
        FriendState::Blocked => "blocked",
    }
}

fn parse_friend_state(s: &str) -> Result<FriendState> {
    Ok(match s {
        "friends" => FriendState::Friends,
        "outgoing" => FriendState::Outgoing,
        "incoming" => FriendState::Incoming,
        "blocked" => FriendState::Blocked,
        o => return Err(StoreError::Corrupt(format!("friend state {o:?}"))),
    })
}

fn kind_str(k: EntryKind) -> &'static str {
    match k {
        EntryKind::Message => "message",
        EntryKind::Recall => "recall",
        EntryKind::Burn => "burn",
    }
}

const ENTRY_COLS: &str = "seq, id, sender, sent_at, kind, text, ref_seq, burn_secs, attachment, deleted";

fn row_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Entry, String, Option<String>)> {
    let kind: String = r.get(4)?;
    let att: Option<String> = r.get(8)?;
    Ok((
        Entry {
            seq: r.get::<_, i64>(0)? as u64,
            id: r.get(1)?,
            from: r.get(2)?,
            sent_at: r.get(3)?,
            kind: EntryKind::Message,
            text: r.get(5)?,
            ref_seq: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
            burn_secs: r.get::<_, Option<i64>>(7)?.map(|v| v as u32),
            attachment: None,
            deleted: r.get::<_, i64>(9)? != 0,
        },
        kind,
        att,
    ))
}

fn finish_entry((mut e, kind, att): (Entry, String, Option<String>)) -> Result<Entry> {
    e.kind = match kind.as_str() {
        "message" => EntryKind::Message,
        "recall" => EntryKind::Recall,
        "burn" => EntryKind::Burn,
        o => return Err(StoreError::Corrupt(format!("entry kind {o:?}"))),
    };
    if let Some(a) = att {
        e.attachment = Some(serde_json::from_str(&a).map_err(|x| StoreError::Corrupt(format!("attachment json: {x}")))?);
    }
    Ok(e)
}

fn collect_entries(stmt: &mut rusqlite::Statement<'_>, p: impl rusqlite::Params) -> Result<Vec<Entry>> {
    let rows = stmt.query_map(p, row_entry)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(finish_entry(r?)?);
    }
    Ok(out)
}

fn no_conv(conv: &str) -> StoreError {
    StoreError::NoConversation(conv.to_string())
}

/// One append inside an open transaction; `None` if the conversation does
/// not exist (checked before anything is written).
fn append_in(tx: &Connection, conv: &str, e: &NewEntry) -> Result<Option<Appended>> {
    if e.kind == EntryKind::Message {
        // Inside a batch this also sees the batch's own earlier rows, so a
        // resend queued behind its first copy is a duplicate too.
        let dup = tx
            .prepare_cached("SELECT seq, sent_at FROM entries WHERE sender = ?1 AND id = ?2 AND kind = 'message'")?
            .query_row(params![e.sender, e.id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .optional()?;
        if let Some((seq, sent_at)) = dup {
            return Ok(Some(Appended { seq: seq as u64, sent_at, duplicate: true }));
        }
    }
    let Some(seq) = tx
        .prepare_cached("UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq")?
        .query_row([conv], |r| r.get::<_, i64>(0))
        .optional()?
    else {
        return Ok(None);
    };
    let att = e.attachment.as_ref().map(|a| serde_json::to_string(a).expect("Attachment always serialises"));
    tx.prepare_cached(
        "INSERT INTO entries(conv, seq, id, sender, sent_at, kind, text, ref_seq, burn_secs, attachment) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    )?
    .execute(params![conv, seq, e.id, e.sender, e.sent_at, kind_str(e.kind), e.text, e.ref_seq.map(|v| v as i64), e.burn_secs, att])?;
    if let (EntryKind::Recall | EntryKind::Burn, Some(r)) = (e.kind, e.ref_seq) {
        // "Text and attachment gone": the attachment's row goes now (a
        // download answers 404), its file once the relay has removed it.
        let att: Option<String> = tx
            .prepare_cached("SELECT json_extract(attachment, '$.id') FROM entries WHERE conv = ?1 AND seq = ?2 AND attachment IS NOT NULL")?
            .query_row(params![conv, r as i64], |row| row.get(0))
            .optional()?
            .flatten();
        if let Some(id) = att {
            tx.prepare_cached("DELETE FROM attachments WHERE id = ?1")?.execute([&id])?;
            tx.prepare_cached("INSERT OR IGNORE INTO attachment_trash(id) VALUES (?1)")?.execute([&id])?;
        }
        tx.prepare_cached("UPDATE entries SET deleted = 1, text = '', attachment = NULL, burn_at = NULL WHERE conv = ?1 AND seq = ?2")?
            .execute(params![conv, r as i64])?;
    }
    Ok(Some(Appended { seq: seq as u64, sent_at: e.sent_at, duplicate: false }))
}

impl Store for SqliteStore {
    fn create_user(&self, name: &str, pw_hash: &str, now: i64) -> Result<()> {
        let c = self.c()?;
        match c.execute("INSERT INTO users(name, pw_hash, created_at) VALUES (?1, ?2, ?3)", params![name, pw_hash, now]) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                Err(StoreError::Taken(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn user(&self, name: &str) -> Result<Option<UserRow>> {
        let c = self.r()?;
        let row = c
            .prepare_cached("SELECT name, pw_hash, accept_from, last_seen FROM users WHERE name = ?1 AND deleted_at IS NULL")?
            .query_row([name], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<i64>>(3)?))
            })
            .optional()?;
        Ok(row.map(|(name, pw_hash, a, last_seen)| UserRow {
            name,
            pw_hash,
            accept_from: if a == "friends" { AcceptFrom::Friends } else { AcceptFrom::Anyone },
            last_seen,
        }))
    }

    fn set_password(&self, name: &str, pw_hash: &str) -> Result<bool> {
        Ok(self.c()?.execute("UPDATE users SET pw_hash = ?2 WHERE name = ?1 AND deleted_at IS NULL", params![name, pw_hash])? > 0)
    }

    fn revoke_user_tokens(&self, user: &str, except: Option<&[u8; 32]>) -> Result<u64> {
        let keep: &[u8] = except.map(|h| &h[..]).unwrap_or(&[]);
        let n = self.c()?.execute("UPDATE tokens SET revoked = 1 WHERE user = ?1 AND revoked = 0 AND hash <> ?2", params![user, keep])?;
        Ok(n as u64)
    }

    fn delete_account(&self, name: &str, now: i64) -> Result<Option<DeletedAccount>> {
        let mut c = self.c()?;
        let tx = c.transaction()?;
        let live = tx.query_row("SELECT 1 FROM users WHERE name = ?1 AND deleted_at IS NULL", [name], |_| Ok(())).optional()?.is_some();
        if !live {
            return Ok(None);
        }
        let mut out = DeletedAccount::default();
        // Each message gone as a recall is: others' histories show it removed.
        let sent = tx
            .prepare("SELECT conv, seq FROM entries WHERE sender = ?1 AND kind = 'message' AND deleted = 0 ORDER BY conv, seq")?
            .query_map([name], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (conv, seq) in sent {
            let e = NewEntry {
                id: format!("recall-{seq}"),
                sender: name.into(),
                sent_at: now,
                kind: EntryKind::Recall,
                text: String::new(),
                ref_seq: Some(seq),
                burn_secs: None,
                attachment: None,
            };
            if let Some(a) = append_in(&tx, &conv, &e)? {
                let entry = Entry { seq: a.seq, id: e.id, from: e.sender, sent_at: now, kind: e.kind, text: String::new(), ref_seq: Some(seq), burn_secs: None, attachment: None, deleted: false };
                out.tombstones.push((conv, entry));
            }
        }
        out.attachments = tx.prepare("SELECT id FROM attachments WHERE owner = ?1")?.query_map([name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        tx.execute("DELETE FROM attachments WHERE owner = ?1", [name])?;
        let convs = tx.prepare("SELECT conv FROM members WHERE user = ?1 ORDER BY conv")?.query_map([name], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        tx.execute("DELETE FROM members WHERE user = ?1", [name])?;
        for conv in convs {
            let rest = tx
                .prepare("SELECT user FROM members WHERE conv = ?1 ORDER BY joined, user")?
                .query_map([&conv], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            // A group the user owned passes to its longest-standing member, as on leaving.
            tx.execute("UPDATE conversations SET owner = ?2 WHERE id = ?1 AND owner = ?3", params![conv, rest.first(), name])?;
            out.left.push((conv, rest));
        }
        out.friends = tx.prepare("SELECT other FROM friends WHERE user = ?1 ORDER BY other")?.query_map([name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        tx.execute("DELETE FROM friends WHERE user = ?1 OR other = ?1", [name])?;
        tx.execute("DELETE FROM blocks WHERE user = ?1 OR blocked = ?1", [name])?;
        tx.execute("DELETE FROM tokens WHERE user = ?1", [name])?;
        tx.execute("UPDATE users SET pw_hash = '', accept_from = 'friends', last_seen = NULL, deleted_at = ?2 WHERE name = ?1", params![name, now])?;
        tx.commit()?;
        Ok(Some(out))
    }

    fn set_last_seen(&self, name: &str, at: i64) -> Result<()> {
        self.c()?.execute("UPDATE users SET last_seen = ?2 WHERE name = ?1", params![name, at])?;
        Ok(())
    }

    fn set_accept_from(&self, name: &str, a: AcceptFrom) -> Result<()> {
        let v = match a {
            AcceptFrom::Anyone => "anyone",
            AcceptFrom::Friends => "friends",
        };
        self.c()?.execute("UPDATE users SET accept_from = ?2 WHERE name = ?1", params![name, v])?;
        Ok(())
    }

    fn insert_token(&self, hash: &[u8; 32], user: &str, now: i64, expires_at: i64) -> Result<()> {
        self.c()?.execute(
            "INSERT INTO tokens(hash, user, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![&hash[..], user, now, expires_at],
        )?;
        Ok(())
    }

    fn token_user(&self, hash: &[u8; 32], now: i64) -> Result<Option<String>> {
        Ok(self
            .r()?
            .prepare_cached("SELECT user FROM tokens WHERE hash = ?1 AND revoked = 0 AND expires_at > ?2")?
            .query_row(
                params![&hash[..], now],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn revoke_token(&self, hash: &[u8; 32]) -> Result<()> {
        self.c()?.execute("UPDATE tokens SET revoked = 1 WHERE hash = ?1", params![&hash[..]])?;
        Ok(())
    }

    fn friend_state(&self, user: &str, other: &str) -> Result<Option<FriendState>> {
        let s: Option<String> = self
            .r()?
            .prepare_cached("SELECT state FROM friends WHERE user = ?1 AND other = ?2")?
            .query_row(params![user, other], |r| r.get(0))
            .optional()?;
        s.map(|s| parse_friend_state(&s)).transpose()
    }

    fn set_friend_pair(&self, user: &str, other: &str, mine: Option<FriendState>, theirs: Option<FriendState>) -> Result<()> {
        let mut c = self.c()?;
        let tx = c.transaction()?;
        for (a, b, s) in [(user, other, mine), (other, user, theirs)] {
            match s {
                Some(s) => tx.execute(
                    "INSERT INTO friends(user, other, state) VALUES (?1, ?2, ?3) ON CONFLICT(user, other) DO UPDATE SET state = excluded.state",
                    params![a, b, friend_state_str(s)],
                )?,
                None => tx.execute("DELETE FROM friends WHERE user = ?1 AND other = ?2", params![a, b])?,
            };
        }
        tx.commit()?;
        Ok(())
    }

    fn friends_of(&self, user: &str) -> Result<Vec<(String, FriendState, Option<i64>)>> {
        let c = self.r()?;
        let mut st = c.prepare(
            "SELECT f.other, f.state, u.last_seen FROM friends f LEFT JOIN users u ON u.name = f.other WHERE f.user = ?1 ORDER BY f.other",
        )?;
        let rows = st.query_map([user], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<i64>>(2)?)))?;
        let mut out = Vec::new();
        for r in rows {
            let (o, s, ls) = r?;
            out.push((o, parse_friend_state(&s)?, ls));
        }
        Ok(out)
    }

    fn blocks(&self, user: &str, other: &str) -> Result<bool> {
        Ok(self
            .r()?
            .prepare_cached("SELECT 1 FROM blocks WHERE user = ?1 AND blocked = ?2")?
            .query_row(params![user, other], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn set_block(&self, user: &str, other: &str, blocked: bool) -> Result<()> {
        let c = self.c()?;
        if blocked {
            c.execute("INSERT OR IGNORE INTO blocks(user, blocked) VALUES (?1, ?2)", params![user, other])?;
        } else {
            c.execute("DELETE FROM blocks WHERE user = ?1 AND blocked = ?2", params![user, other])?;
        }
        Ok(())
    }

    fn blocked_by(&self, user: &str) -> Result<Vec<String>> {
        let c = self.r()?;
        let mut st = c.prepare("SELECT blocked FROM blocks WHERE user = ?1 ORDER BY blocked")?;
        let v = st.query_map([user], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(v)
    }

    fn blockers_of(&self, user: &str) -> Result<Vec<String>> {
        let c = self.r()?;
        let mut st = c.prepare_cached("SELECT user FROM blocks WHERE blocked = ?1 ORDER BY user")?;
        let v = st.query_map([user], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(v)
    }

    fn conv(&self, id: &str) -> Result<Option<ConvRow>> {
        Ok(self
            .r()?
            .prepare_cached("SELECT id, kind, name, owner, last_seq FROM conversations WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(ConvRow {
                    id: r.get(0)?,
                    is_group: r.get::<_, String>(1)? == "group",
                    name: r.get(2)?,
                    owner: r.get(3)?,
                    last_seq: r.get::<_, i64>(4)? as u64,
                })
            })
            .optional()?)
    }

    fn ensure_dm(&self, id: &str, a: &str, b: &str, now: i64) -> Result<()> {
        let mut c = self.c()?;
        let tx = c.transaction()?;
        let n = tx.execute("INSERT OR IGNORE INTO conversations(id, kind, name, created_at) VALUES (?1, 'dm', '', ?2)", params![id, now])?;
        if n > 0 {
            for u in [a, b] {
                tx.execute("INSERT OR IGNORE INTO members(conv, user, joined) VALUES (?1, ?2, ?3)", params![id, u, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn create_group(&self, id: &str, name: &str, owner: &str, members: &[String], now: i64) -> Result<()> {
        let mut c = self.c()?;
        let tx = c.transaction()?;
        tx.execute(
            "INSERT INTO conversations(id, kind, name, owner, created_at) VALUES (?1, 'group', ?2, ?3, ?4)",
            params![id, name, owner, now],
        )?;
        for u in std::iter::once(owner).chain(members.iter().map(String::as_str)) {
            tx.execute("INSERT OR IGNORE INTO members(conv, user, joined) VALUES (?1, ?2, ?3)", params![id, u, now])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn members(&self, conv: &str) -> Result<Vec<String>> {
        let c = self.r()?;
        // Sorted here, not by ORDER BY: a cached statement with ORDER BY was
        // compiled again on every run (measured: 14% of the relay's CPU
        // under fan-out load, where this runs once per message).
        let mut st = c.prepare_cached("SELECT user, joined FROM members WHERE conv = ?1")?;
        let mut v = st.query_map([conv], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, String>(0)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        v.sort_unstable();
        Ok(v.into_iter().map(|(_, user)| user).collect())
    }

    fn is_member(&self, conv: &str, user: &str) -> Result<bool> {
        Ok(self
            .r()?
            .prepare_cached("SELECT 1 FROM members WHERE conv = ?1 AND user = ?2")?
            .query_row(params![conv, user], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn add_member(&self, conv: &str, user: &str, now: i64) -> Result<()> {
        self.c()?.execute("INSERT OR IGNORE INTO members(conv, user, joined) VALUES (?1, ?2, ?3)", params![conv, user, now])?;
        Ok(())
    }

    fn remove_member(&self, conv: &str, user: &str) -> Result<()> {
        self.c()?.execute("DELETE FROM members WHERE conv = ?1 AND user = ?2", params![conv, user])?;
        Ok(())
    }

    fn set_owner(&self, conv: &str, owner: Option<&str>) -> Result<()> {
        self.c()?.execute("UPDATE conversations SET owner = ?2 WHERE id = ?1", params![conv, owner])?;
        Ok(())
    }

    fn convs_of(&self, user: &str) -> Result<Vec<ConvInfo>> {
        let c = self.r()?;
        let mut st = c.prepare(
            "SELECT c.id, c.kind, c.name, c.owner, c.last_seq FROM conversations c JOIN members m ON m.conv = c.id WHERE m.user = ?1 ORDER BY c.id",
        )?;
        let rows = st
            .query_map([user], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, i64>(4)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut mst = c.prepare_cached("SELECT user FROM members WHERE conv = ?1 ORDER BY joined, user")?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, kind, name, owner, last_seq) in rows {
            let members = mst.query_map([&id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            out.push(ConvInfo {
                id,
                kind: if kind == "group" { ConvKind::Group } else { ConvKind::Dm },
                name,
                owner,
                members,
                last_seq: last_seq as u64,
            });
        }
        Ok(out)
    }

    fn append(&self, conv: &str, e: &NewEntry) -> Result<Appended> {
        let mut c = self.c()?;
        let tx = c.transaction()?;
        let a = append_in(&tx, conv, e)?.ok_or_else(|| no_conv(conv))?;
        if !a.duplicate {
            tx.commit()?;
        }
        Ok(a)
    }

    fn append_batch(&self, items: &[(&str, &NewEntry)]) -> Result<Vec<Result<Appended>>> {
        let mut c = self.c()?;
        let tx = c.transaction()?;
        let mut out = Vec::with_capacity(items.len());
        for (conv, e) in items {
            // Any error but a missing conversation (found before anything is
            // written for this entry) leaves the transaction in doubt: the
            // whole batch rolls back (the transaction is dropped) and every
            // sender is told to resend.
            out.push(append_in(&tx, conv, e)?.ok_or_else(|| no_conv(conv)));
        }
        tx.commit()?;
        Ok(out)
    }

    fn entries_after(&self, conv: &str, after: u64, limit: u32) -> Result<Vec<Entry>> {
        let c = self.r()?;
        let mut st = c.prepare_cached(&format!("SELECT {ENTRY_COLS} FROM entries WHERE conv = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"))?;
        collect_entries(&mut st, params![conv, after as i64, limit])
    }

    fn entries_before(&self, conv: &str, before: Option<u64>, limit: u32) -> Result<Vec<Entry>> {
        let c = self.r()?;
        let before = before.map(|b| b as i64).unwrap_or(i64::MAX);
        let mut st =
            c.prepare_cached(&format!("SELECT {ENTRY_COLS} FROM entries WHERE conv = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"))?;
        collect_entries(&mut st, params![conv, before, limit])
    }

    fn own_message(&self, sender: &str, id: &str) -> Result<Option<OwnMessage>> {
        Ok(self
            .r()?
            .prepare_cached("SELECT conv, seq, sent_at, deleted FROM entries WHERE sender = ?1 AND id = ?2 AND kind = 'message'")?
            .query_row(
                params![sender, id],
                |r| Ok(OwnMessage { conv: r.get(0)?, seq: r.get::<_, i64>(1)? as u64, sent_at: r.get(2)?, deleted: r.get::<_, i64>(3)? != 0 }),
            )
            .optional()?)
    }

    fn entry(&self, conv: &str, seq: u64) -> Result<Option<Entry>> {
        let c = self.r()?;
        let mut st = c.prepare_cached(&format!("SELECT {ENTRY_COLS} FROM entries WHERE conv = ?1 AND seq = ?2"))?;
        Ok(collect_entries(&mut st, params![conv, seq as i64])?.pop())
    }

    fn set_read(&self, conv: &str, user: &str, seq: u64) -> Result<u64> {
        let c = self.c()?;
        c.execute("UPDATE members SET read_seq = max(read_seq, ?3) WHERE conv = ?1 AND user = ?2", params![conv, user, seq as i64])?;
        let v: i64 = c.query_row("SELECT read_seq FROM members WHERE conv = ?1 AND user = ?2", params![conv, user], |r| r.get(0))?;
        Ok(v as u64)
    }

    fn reads(&self, conv: &str) -> Result<Vec<ReadMark>> {
        let c = self.r()?;
        let mut st = c.prepare_cached("SELECT user, read_seq FROM members WHERE conv = ?1 ORDER BY user")?;
        let v = st
            .query_map([conv], |r| Ok(ReadMark { user: r.get(0)?, seq: r.get::<_, i64>(1)? as u64 }))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    fn unarmed_burns(&self, conv: &str, upto: u64) -> Result<Vec<(u64, String, u32)>> {
        let c = self.r()?;
        let mut st = c.prepare_cached(
            "SELECT seq, sender, burn_secs FROM entries WHERE conv = ?1 AND seq <= ?2 AND burn_secs IS NOT NULL AND burn_at IS NULL AND deleted = 0 AND kind = 'message'",
        )?;
        let v = st
            .query_map(params![conv, upto as i64], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get::<_, i64>(2)? as u32)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    fn arm_burn(&self, conv: &str, seq: u64, at: i64) -> Result<()> {
        self.c()?.execute("UPDATE entries SET burn_at = ?3 WHERE conv = ?1 AND seq = ?2", params![conv, seq as i64, at])?;
        Ok(())
    }

    fn due_burns(&self, now: i64) -> Result<Vec<(String, u64)>> {
        let c = self.r()?;
        let mut st = c.prepare_cached("SELECT conv, seq FROM entries WHERE burn_at IS NOT NULL AND deleted = 0 AND burn_at <= ?1 LIMIT 500")?;
        let v = st.query_map([now], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    fn insert_attachment(&self, a: &AttachmentRow, now: i64) -> Result<()> {
        let mut c = self.c()?;
        let tx = c.transaction()?;
        tx.execute(
            "INSERT INTO attachments(id, conv, owner, name, mime, size, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![a.id, a.conv, a.owner, a.name, a.mime, a.size as i64, now],
        )?;
        tx.execute("INSERT INTO upload_log(owner, at, size) VALUES (?1,?2,?3)", params![a.owner, now, a.size as i64])?;
        tx.execute("DELETE FROM upload_log WHERE at < ?1", [now - crate::quota::DAY_MS])?;
        tx.commit()?;
        Ok(())
    }

    fn attachment(&self, id: &str) -> Result<Option<AttachmentRow>> {
        Ok(self
            .r()?
            .query_row("SELECT id, conv, owner, name, mime, size FROM attachments WHERE id = ?1", [id], |r| {
                Ok(AttachmentRow {
                    id: r.get(0)?,
                    conv: r.get(1)?,
                    owner: r.get(2)?,
                    name: r.get(3)?,
                    mime: r.get(4)?,
                    size: r.get::<_, i64>(5)? as u64,
                })
            })
            .optional()?)
    }

    fn upload_usage(&self, owner: &str, now: i64) -> Result<crate::quota::Usage> {
        let (day, kept): (i64, i64) = self.r()?.query_row(
            "SELECT (SELECT COALESCE(SUM(size), 0) FROM upload_log WHERE owner = ?1 AND at > ?2),
                    (SELECT COALESCE(SUM(size), 0) FROM attachments WHERE owner = ?1)",
            params![owner, now - crate::quota::DAY_MS],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(crate::quota::Usage { day: day.max(0) as u64, kept: kept.max(0) as u64 })
    }

    fn take_attachment_trash(&self, limit: u32) -> Result<Vec<String>> {
        let mut c = self.c()?;
        let tx = c.transaction()?;
        let ids: Vec<String> = tx.prepare("SELECT id FROM attachment_trash LIMIT ?1")?.query_map([limit], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?;
        for id in &ids {
            tx.execute("DELETE FROM attachment_trash WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(ids)
    }
}

