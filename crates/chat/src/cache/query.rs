//! Reading the cache: history pages and full-text search.

use super::{Cache, Message, Result};
use crate::error::CacheError;
use rusqlite::{params, OptionalExtension};

pub type SearchHit = Message;

const COLS: &str = "id, conv, seq, sender, text, state, error, sent_at, burn_secs, attachment";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Message, Option<String>)> {
    Ok((
        Message {
            id: r.get(0)?,
            conv: r.get(1)?,
            seq: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
            from: r.get(3)?,
            text: r.get(4)?,
            state: r.get(5)?,
            error: r.get(6)?,
            sent_at: r.get(7)?,
            burn_secs: r.get(8)?,
            attachment: None,
            read_by: Vec::new(),
        },
        r.get(9)?,
    ))
}

fn finish(rows: impl Iterator<Item = rusqlite::Result<(Message, Option<String>)>>) -> Result<Vec<Message>> {
    let mut out = Vec::new();
    for r in rows {
        let (mut m, att) = r?;
        if let Some(a) = att {
            m.attachment = Some(serde_json::from_str(&a).map_err(|e| CacheError::Corrupt(format!("attachment: {e}")))?);
        }
        out.push(m);
    }
    Ok(out)
}

impl Cache {
    /// The last `limit` messages of `conv`, oldest first: those the relay
    /// ordered (by seq), then those still pending (in the order written).
    pub fn history(&self, conv: &str, limit: u32) -> Result<Vec<Message>> {
        let mut pending = {
            let mut st = self.conn.prepare_cached(&format!("SELECT {COLS} FROM messages WHERE conv = ?1 AND seq IS NULL ORDER BY rid DESC LIMIT ?2"))?;
            let v = finish(st.query_map(params![conv, limit], row)?)?;
            v
        };
        let room = limit.saturating_sub(pending.len() as u32);
        let mut sent = {
            let mut st = self.conn.prepare_cached(&format!("SELECT {COLS} FROM messages WHERE conv = ?1 AND seq IS NOT NULL ORDER BY seq DESC LIMIT ?2"))?;
            let v = finish(st.query_map(params![conv, room], row)?)?;
            v
        };
        sent.reverse();
        pending.reverse();
        let reads = self.reads(conv)?;
        for m in &mut sent {
            let seq = m.seq.unwrap_or(u64::MAX);
            m.read_by = reads.iter().filter(|r| r.user != m.from && r.seq >= seq).map(|r| r.user.clone()).collect();
        }
        sent.extend(pending);
        Ok(sent)
    }

    /// Full-text search over every cached message, newest first. The query
    /// is taken as plain words (all must match, prefix on the last), not
    /// FTS5 syntax, so user input cannot make it fail.
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        let words: Vec<String> = query.split_whitespace().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let fts = words.join(" ");
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM messages WHERE rid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2) ORDER BY rid DESC"
        ))?;
        let v = finish(st.query_map(params![fts, limit], row)?)?;
        Ok(v)
    }

    /// One of my messages by its id.
    pub fn own_message(&self, me: &str, id: &str) -> Result<Option<Message>> {
        let mut st = self.conn.prepare_cached(&format!("SELECT {COLS} FROM messages WHERE sender = ?1 AND id = ?2"))?;
        let r = st.query_row(params![me, id], row).optional()?;
        Ok(finish(r.into_iter().map(Ok))?.pop())
    }

    /// Highest seq cached in `conv`.
    pub fn last_seq(&self, conv: &str) -> Result<u64> {
        Ok(self.conn.query_row("SELECT coalesce(max(seq), 0) FROM messages WHERE conv = ?1", [conv], |r| r.get::<_, i64>(0))? as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use onair_proto::{Entry, EntryKind, Target};

    fn entry(seq: u64, id: &str, from: &str, text: &str) -> Entry {
        Entry { seq, id: id.into(), from: from.into(), sent_at: seq as i64, kind: EntryKind::Message, text: text.into(), ref_seq: None, burn_secs: None, attachment: None, deleted: false }
    }

    #[test]
    fn echo_ack_and_sync_make_one_message() {
        let mut c = Cache::open_in_memory().unwrap();
        let out = Outgoing { id: "m1".into(), target: Target::User("bob".into()), text: "hello there".into(), burn_secs: None, attachment: None, attempts: 0 };
        c.queue("alice", "dm:alice:bob", &out, 5).unwrap();
        assert_eq!(c.outbox("alice").unwrap().len(), 1);
        assert_eq!(c.history("dm:alice:bob", 10).unwrap()[0].state, "pending");
        // The sync brings it back before the ack was processed.
        let a = c.apply_entries("alice", "dm:alice:bob", &[entry(1, "m1", "alice", "hello there"), entry(2, "x", "bob", "hi alice")], &[]).unwrap();
        assert_eq!(a.cursor, 2);
        assert_eq!(c.outbox_len().unwrap(), 0, "the relay has it, so it leaves the outbox");
        c.mark_sent("alice", "m1", "dm:alice:bob", 1, 1).unwrap();
        let h = c.history("dm:alice:bob", 10).unwrap();
        assert_eq!(h.iter().map(|m| (m.seq, m.state.as_str())).collect::<Vec<_>>(), [(Some(1), "sent"), (Some(2), "received")]);
        // Replaying the same entries changes nothing.
        let a = c.apply_entries("alice", "dm:alice:bob", &[entry(1, "m1", "alice", "hello there"), entry(2, "x", "bob", "hi alice")], &[]).unwrap();
        assert_eq!(a.new, 0);
        assert_eq!(c.history("dm:alice:bob", 10).unwrap().len(), 2);
        assert_eq!(c.search("hel", 10).unwrap().len(), 0, "whole words only");
        assert_eq!(c.search("hello", 10).unwrap().len(), 1);
        assert_eq!(c.search("\"unbalanced AND (", 10).unwrap().len(), 0);
    }

    #[test]
    fn gaps_stop_the_cursor_and_recall_clears_text() {
        let mut c = Cache::open_in_memory().unwrap();
        let a = c.apply_entries("bob", "dm:alice:bob", &[entry(1, "a", "alice", "one"), entry(3, "c", "alice", "three")], &[]).unwrap();
        assert_eq!((a.cursor, a.gap), (1, true));
        let mut r = entry(2, "recall-1", "alice", "");
        r.kind = EntryKind::Recall;
        r.ref_seq = Some(1);
        c.apply_entries("bob", "dm:alice:bob", &[r], &[]).unwrap();
        let h = c.history("dm:alice:bob", 10).unwrap();
        assert_eq!((h[0].state.as_str(), h[0].text.as_str()), ("recalled", ""));
        assert!(c.search("one", 10).unwrap().is_empty());
    }

    #[test]
    fn history_returns_the_last_page_oldest_first() {
        let mut c = Cache::open_in_memory().unwrap();
        let es: Vec<Entry> = (1..=100).map(|i| entry(i, &format!("m{i}"), "alice", &format!("msg {i}"))).collect();
        c.apply_entries("bob", "dm:alice:bob", &es, &[]).unwrap();
        let h = c.history("dm:alice:bob", 3).unwrap();
        assert_eq!(h.iter().map(|m| m.seq.unwrap()).collect::<Vec<_>>(), [98, 99, 100]);
    }
}
