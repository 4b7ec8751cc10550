//! Writing what the relay says into the cache.

use super::{Cache, Result};
use onair_proto::{ConvInfo, ConvKind, Entry, EntryKind, ReadMark};
use rusqlite::{params, OptionalExtension};

/// What applying a batch of entries did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The conversation's cursor afterwards.
    pub cursor: u64,
    /// Entries newly stored (not seen before).
    pub new: usize,
    /// An entry skipped ahead of the cursor: fetch the gap with a sync.
    pub gap: bool,
}

/// A conversation as cached.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Conversation {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub owner: Option<String>,
    pub members: Vec<String>,
    pub cursor: u64,
    pub my_read: u64,
    #[serde(skip)]
    pub read_sent: u64,
}

impl Cache {
    pub fn upsert_conv(&self, c: &ConvInfo) -> Result<()> {
        let members = serde_json::to_string(&c.members).expect("Vec<String> always serialises");
        let kind = if c.kind == ConvKind::Group { "group" } else { "dm" };
        self.conn.execute(
            "INSERT INTO conversations(id, kind, name, owner, members) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, name = excluded.name, owner = excluded.owner, members = excluded.members",
            params![c.id, kind, c.name, c.owner, members],
        )?;
        Ok(())
    }

    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        let mut st = self.conn.prepare("SELECT id, kind, name, owner, members, cursor, my_read, read_sent FROM conversations ORDER BY id")?;
        let rows = st.query_map([], |r| {
            Ok(Conversation {
                id: r.get(0)?,
                kind: r.get(1)?,
                name: r.get(2)?,
                owner: r.get(3)?,
                members: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
                cursor: r.get::<_, i64>(5)? as u64,
                my_read: r.get::<_, i64>(6)? as u64,
                read_sent: r.get::<_, i64>(7)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn cursor(&self, conv: &str) -> Result<u64> {
        Ok(self.conn.query_row("SELECT cursor FROM conversations WHERE id = ?1", [conv], |r| r.get::<_, i64>(0)).optional()?.unwrap_or(0) as u64)
    }

    /// Applies entries of one conversation in seq order, idempotently, and
    /// advances its cursor only over an unbroken run of seqs, all in one
    /// transaction, so a crash never leaves the cursor ahead of the data.
    pub fn apply_entries(&mut self, me: &str, conv: &str, entries: &[Entry], reads: &[ReadMark]) -> Result<Applied> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO conversations(id, kind) VALUES (?1, ?2)",
            params![conv, if onair_proto::is_group_conv(conv) { "group" } else { "dm" }],
        )?;
        let mut cursor: u64 = tx.query_row("SELECT cursor FROM conversations WHERE id = ?1", [conv], |r| r.get::<_, i64>(0))? as u64;
        let mut applied = Applied::default();
        for e in entries {
            if e.seq > cursor.saturating_add(1) {
                applied.gap = true;
                break;
            }
            match e.kind {
                EntryKind::Message => {
                    let state = if e.deleted {
                        "recalled"
                    } else if e.from == me {
                        "sent"
                    } else {
                        "received"
                    };
                    let att = e.attachment.as_ref().map(|a| serde_json::to_string(a).expect("Attachment always serialises"));
                    let n = tx.execute(
                        "INSERT INTO messages(id, conv, seq, sender, text, state, sent_at, burn_secs, attachment) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)
                         ON CONFLICT(sender, id) DO UPDATE SET seq = excluded.seq, conv = excluded.conv, sent_at = excluded.sent_at,
                           state = CASE WHEN messages.state = 'recalled' OR excluded.state = 'recalled' THEN 'recalled' ELSE excluded.state END,
                           text = CASE WHEN excluded.state = 'recalled' THEN '' ELSE messages.text END, error = NULL
                         WHERE messages.seq IS NULL",
                        params![e.id, conv, e.seq as i64, e.from, e.text, state, e.sent_at, e.burn_secs, att],
                    )?;
                    applied.new += n;
                    if e.from == me {
                        // The relay has it: it must not be sent again.
                        tx.execute("DELETE FROM outbox WHERE msg_id = ?1", [&e.id])?;
                    }
                }
                EntryKind::Recall => {
                    if let Some(r) = e.ref_seq {
                        tx.execute("UPDATE messages SET text = '', attachment = NULL, state = 'recalled' WHERE conv = ?1 AND seq = ?2", params![conv, r as i64])?;
                    }
                }
                EntryKind::Burn => {
                    if let Some(r) = e.ref_seq {
                        tx.execute("DELETE FROM messages WHERE conv = ?1 AND seq = ?2", params![conv, r as i64])?;
                    }
                }
            }
            cursor = cursor.max(e.seq);
        }
        tx.execute("UPDATE conversations SET cursor = ?2 WHERE id = ?1", params![conv, cursor as i64])?;
        for r in reads {
            tx.execute(
                "INSERT INTO reads(conv, user, seq) VALUES (?1, ?2, ?3) ON CONFLICT(conv, user) DO UPDATE SET seq = max(seq, excluded.seq)",
                params![conv, r.user, r.seq as i64],
            )?;
        }
        tx.commit()?;
        applied.cursor = cursor;
        Ok(applied)
    }

    pub fn apply_read(&self, conv: &str, user: &str, seq: u64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO reads(conv, user, seq) VALUES (?1, ?2, ?3) ON CONFLICT(conv, user) DO UPDATE SET seq = max(seq, excluded.seq)",
            params![conv, user, seq as i64],
        )?;
        Ok(())
    }

    pub fn reads(&self, conv: &str) -> Result<Vec<ReadMark>> {
        let mut st = self.conn.prepare("SELECT user, seq FROM reads WHERE conv = ?1 ORDER BY user")?;
        let v = st.query_map([conv], |r| Ok(ReadMark { user: r.get(0)?, seq: r.get::<_, i64>(1)? as u64 }))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    /// I read `conv` up to `upto` (everything cached if None): records it
    /// for the relay and starts local burn-after-read timers. Returns the
    /// mark now held.
    pub fn mark_read(&mut self, me: &str, conv: &str, upto: Option<u64>, now: i64) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let cursor: u64 = tx.query_row("SELECT cursor FROM conversations WHERE id = ?1", [conv], |r| r.get::<_, i64>(0)).optional()?.unwrap_or(0) as u64;
        let upto = upto.unwrap_or(cursor).min(cursor);
        tx.execute("UPDATE conversations SET my_read = max(my_read, ?2) WHERE id = ?1", params![conv, upto as i64])?;
        tx.execute(
            "UPDATE messages SET burn_at = ?4 + burn_secs * 1000 WHERE conv = ?1 AND sender <> ?2 AND seq <= ?3 AND burn_secs IS NOT NULL AND burn_at IS NULL",
            params![conv, me, upto as i64, now],
        )?;
        let held: i64 = tx.query_row("SELECT my_read FROM conversations WHERE id = ?1", [conv], |r| r.get(0)).optional()?.unwrap_or(0);
        tx.commit()?;
        Ok(held as u64)
    }

    pub fn set_read_sent(&self, conv: &str, seq: u64) -> Result<()> {
        self.conn.execute("UPDATE conversations SET read_sent = max(read_sent, ?2) WHERE id = ?1", params![conv, seq as i64])?;
        Ok(())
    }

    /// Deletes burn-after-read messages whose timer has passed, on this
    /// device, whether or not the relay is reachable.
    pub fn purge_burned(&self, now: i64) -> Result<usize> {
        Ok(self.conn.execute("DELETE FROM messages WHERE burn_at IS NOT NULL AND burn_at <= ?1", [now])?)
    }
}
