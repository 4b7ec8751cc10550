//! The offline cache: a SQLite database (WAL) under `ONAIR_HOME` holding
//! conversations, messages, members, read marks, sync cursors and the
//! outbox. Everything the user sees is read from here, online or not.
//!
//! Exactly-once as users see it rests on two keys: the outbox row and the
//! local echo are written in one transaction, and messages are unique by
//! `(sender, client id)`, so a message that comes back from the relay (as an
//! ack or in a sync) updates the echo instead of appearing twice.

mod apply;
mod query;

use crate::error::CacheError;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;

pub use apply::Conversation;
pub use query::{ConvSummary, SearchHit};

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    ("0002_pending_index", include_str!("../../migrations/0002_pending_index.sql")),
];

pub type Result<T> = std::result::Result<T, CacheError>;

/// A message as the user sees it (and as `--json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[derive(ts_rs::TS)]
pub struct Message {
    pub id: String,
    pub conv: String,
    #[ts(as = "Option<f64>")]
    pub seq: Option<u64>,
    pub from: String,
    pub text: String,
    /// pending | sent | failed | received | recalled
    #[ts(type = "\"pending\" | \"sent\" | \"failed\" | \"received\" | \"recalled\"")]
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<String>,
    /// Milliseconds since the epoch: the relay's time once sent, the
    /// local time while pending.
    #[ts(as = "f64")]
    pub sent_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub burn_secs: Option<u32>,
    /// When this device deletes a burn-after-read message (ms since the
    /// epoch): set when I read it; None before, and for other messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(as = "Option<f64>", optional)]
    pub burn_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub attachment: Option<onair_proto::Attachment>,
    /// Read receipts: other members whose read mark covers this message
    /// (filled by history).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub read_by: Vec<String>,
}

/// One message waiting in the outbox.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: String,
    pub target: onair_proto::Target,
    pub text: String,
    pub burn_secs: Option<u32>,
    pub attachment: Option<onair_proto::Attachment>,
    pub attempts: u32,
}

pub struct Cache {
    conn: Connection,
}

impl Cache {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|source| CacheError::Open { path: path.display().to_string(), source })?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        // FULL: a message the user was told is queued must survive a power
        // cut, not just a crash; the outbox is small, so the cost is too.
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
            if (i as i64) < version {
                continue;
            }
            conn.execute_batch(&format!("BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;", i + 1))
                .map_err(|source| CacheError::Migration { name, source })?;
        }
        Ok(Cache { conn })
    }

    /// The raw connection, for benchmarks that bulk-load the cache.
    pub fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute("INSERT INTO kv(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", params![key, value])?;
        Ok(())
    }

    /// Writes the local echo and the outbox row in one transaction: once
    /// this returns, the message will be delivered exactly once.
    pub fn queue(&mut self, me: &str, conv: &str, out: &Outgoing, now: i64) -> Result<Message> {
        let tx = self.conn.transaction()?;
        let att = out.attachment.as_ref().map(|a| serde_json::to_string(a).expect("Attachment always serialises"));
        tx.execute(
            "INSERT OR IGNORE INTO conversations(id, kind) VALUES (?1, ?2)",
            params![conv, if onair_proto::is_group_conv(conv) { "group" } else { "dm" }],
        )?;
        tx.execute(
            "INSERT INTO messages(id, conv, sender, text, state, sent_at, burn_secs, attachment) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7)",
            params![out.id, conv, me, out.text, now, out.burn_secs, att],
        )?;
        let target = serde_json::to_string(&out.target).expect("Target always serialises");
        tx.execute("INSERT INTO outbox(msg_id, target) VALUES (?1, ?2)", params![out.id, target])?;
        tx.commit()?;
        Ok(Message {
            id: out.id.clone(),
            conv: conv.into(),
            seq: None,
            from: me.into(),
            text: out.text.clone(),
            state: "pending".into(),
            error: None,
            sent_at: now,
            burn_secs: out.burn_secs,
            burn_at: None,
            attachment: out.attachment.clone(),
            read_by: Vec::new(),
        })
    }

    /// The outbox, oldest first.
    pub fn outbox(&self, me: &str) -> Result<Vec<Outgoing>> {
        let mut st = self.conn.prepare(
            "SELECT o.msg_id, o.target, m.text, m.burn_secs, m.attachment, o.attempts FROM outbox o JOIN messages m ON m.id = o.msg_id AND m.sender = ?1 ORDER BY o.rid",
        )?;
        let rows = st.query_map([me], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<u32>>(3)?, r.get::<_, Option<String>>(4)?, r.get::<_, u32>(5)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, target, text, burn_secs, att, attempts) = r?;
            let target = serde_json::from_str(&target).map_err(|e| CacheError::Corrupt(format!("outbox target: {e}")))?;
            let attachment = att.map(|a| serde_json::from_str(&a)).transpose().map_err(|e| CacheError::Corrupt(format!("attachment: {e}")))?;
            out.push(Outgoing { id, target, text, burn_secs, attachment, attempts });
        }
        Ok(out)
    }

    pub fn outbox_len(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// The relay acknowledged: the echo becomes `sent` with its seq, and
    /// leaves the outbox, in one transaction.
    pub fn mark_sent(&mut self, me: &str, id: &str, conv: &str, seq: u64, sent_at: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        // If a sync already brought this message in under the same id, that
        // row is the same message; keep one.
        tx.execute(
            "UPDATE messages SET seq = ?3, conv = ?4, sent_at = ?5, state = CASE WHEN state = 'recalled' THEN state ELSE 'sent' END, error = NULL WHERE sender = ?1 AND id = ?2",
            params![me, id, seq as i64, conv, sent_at],
        )?;
        tx.execute("DELETE FROM outbox WHERE msg_id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// The relay refused the message for good (blocked, not a member…).
    pub fn mark_failed(&mut self, me: &str, id: &str, reason: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE messages SET state = 'failed', error = ?3 WHERE sender = ?1 AND id = ?2", params![me, id, reason])?;
        tx.execute("DELETE FROM outbox WHERE msg_id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// Puts one of my failed messages back in the outbox as pending, under
    /// the same id: the relay refused it, so it stored nothing under that id
    /// and a resend cannot duplicate it. The target follows from the
    /// conversation (the peer of a 1:1, else the group). Returns None if
    /// there is no failed message of mine with that id.
    pub fn requeue_failed(&mut self, me: &str, id: &str, now: i64) -> Result<Option<Message>> {
        let tx = self.conn.transaction()?;
        let conv: Option<String> = tx
            .query_row("SELECT conv FROM messages WHERE sender = ?1 AND id = ?2 AND state = 'failed'", params![me, id], |r| r.get(0))
            .optional()?;
        let Some(conv) = conv else { return Ok(None) };
        let target = match onair_proto::dm_peer(&conv, me) {
            Some(peer) => onair_proto::Target::User(peer.to_string()),
            None => onair_proto::Target::Conv(conv.clone()),
        };
        let target = serde_json::to_string(&target).expect("Target always serialises");
        tx.execute("UPDATE messages SET state = 'pending', error = NULL, sent_at = ?3 WHERE sender = ?1 AND id = ?2", params![me, id, now])?;
        tx.execute("INSERT OR IGNORE INTO outbox(msg_id, target) VALUES (?1, ?2)", params![id, target])?;
        tx.commit()?;
        self.own_message(me, id)
    }

    /// A delivery attempt failed for a reason that may pass.
    pub fn note_attempt(&self, id: &str, reason: &str) -> Result<()> {
        self.conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE msg_id = ?1", params![id, reason])?;
        Ok(())
    }
}

/// A fresh client message id: 16 random bytes as hex.
pub fn new_message_id() -> std::result::Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}
