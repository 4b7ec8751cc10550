//! Reading the cache: history pages and full-text search.

use super::{Cache, Message, Result};
use crate::error::CacheError;
use rusqlite::{params, OptionalExtension};

pub type SearchHit = Message;

/// A conversation as a conversation list shows it: what it is, how many
/// messages from others I have not read, and its latest message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[derive(ts_rs::TS)]
pub struct ConvSummary {
    pub id: String,
    /// dm | group
    #[ts(type = "\"dm\" | \"group\"")]
    pub kind: String,
    pub name: String,
    pub owner: Option<String>,
    pub members: Vec<String>,
    /// Messages from others after my read mark.
    #[ts(as = "f64")]
    pub unread: u64,
    pub last_text: Option<String>,
    pub last_from: Option<String>,
    /// The latest message's file name, when it carries one.
    pub last_file: Option<String>,
    /// Milliseconds since the epoch of the latest message.
    #[ts(as = "Option<f64>")]
    pub last_at: Option<i64>,
    /// My messages not yet acknowledged by the relay.
    #[ts(as = "f64")]
    pub pending: u64,
}

const COLS: &str = "id, conv, seq, sender, text, state, error, sent_at, burn_secs, attachment, burn_at";

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
            burn_at: r.get(10)?,
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
        // Each word matches words that start with it ("pepper" finds
        // "Pepperoni"), as people expect of a search box.
        let words: Vec<String> = query.split_whitespace().map(|w| format!("\"{}\"*", w.replace('"', "\"\""))).collect();
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

    /// Every cached conversation with its unread count and latest message
    /// (both read through the `(conv, seq)` and pending indexes).
    pub fn summaries(&self, me: &str) -> Result<Vec<ConvSummary>> {
        let mut out = Vec::new();
        for c in self.conversations()? {
            let unread: i64 = self.conn.prepare_cached("SELECT count(*) FROM messages WHERE conv = ?1 AND seq > ?2 AND sender <> ?3 AND state = 'received'")?.query_row(params![c.id, c.my_read as i64, me], |r| r.get(0))?;
            let pending: i64 = self.conn.prepare_cached("SELECT count(*) FROM messages WHERE conv = ?1 AND seq IS NULL AND state = 'pending'")?.query_row([&c.id], |r| r.get(0))?;
            let last = |sql: &str| -> Result<Option<(String, String, i64, String, Option<String>)>> {
                Ok(self.conn.prepare_cached(sql)?.query_row([&c.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))).optional()?)
            };
            let ordered = last("SELECT text, sender, sent_at, state, json_extract(attachment, '$.name') FROM messages WHERE conv = ?1 AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1")?;
            let unsent = last("SELECT text, sender, sent_at, state, json_extract(attachment, '$.name') FROM messages WHERE conv = ?1 AND seq IS NULL ORDER BY rid DESC LIMIT 1")?;
            let latest = match (ordered, unsent) {
                (Some(a), Some(b)) => Some(if b.2 >= a.2 { b } else { a }),
                (a, b) => a.or(b),
            };
            out.push(ConvSummary {
                id: c.id,
                kind: c.kind,
                name: c.name,
                owner: c.owner,
                members: c.members,
                unread: unread.max(0) as u64,
                last_text: latest.as_ref().map(|l| if l.3 == "recalled" { String::new() } else { l.0.clone() }),
                last_from: latest.as_ref().map(|l| l.1.clone()),
                last_at: latest.as_ref().map(|l| l.2),
                last_file: latest.as_ref().filter(|l| l.3 != "recalled").and_then(|l| l.4.clone()),
                pending: pending.max(0) as u64,
            });
        }
        Ok(out)
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
        assert_eq!(c.search("hel", 10).unwrap().len(), 1, "a word's start finds it");
        assert_eq!(c.search("HELLO THE", 10).unwrap().len(), 1, "any case, every word a prefix");
        assert_eq!(c.search("ello", 10).unwrap().len(), 0, "not the middle of a word");
        assert_eq!(c.search("hello", 10).unwrap().len(), 1);
        assert_eq!(c.search("hello pizza", 10).unwrap().len(), 0, "every word must match");
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
    fn summaries_count_unread_and_show_the_latest() {
        let mut c = Cache::open_in_memory().unwrap();
        c.apply_entries("alice", "dm:alice:bob", &[entry(1, "a", "bob", "one"), entry(2, "b", "alice", "two"), entry(3, "c", "bob", "three")], &[]).unwrap();
        let s = c.summaries("alice").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].unread, s[0].last_text.as_deref(), s[0].last_from.as_deref(), s[0].pending), (2, Some("three"), Some("bob"), 0));
        c.mark_read("alice", "dm:alice:bob", Some(1), 10).unwrap();
        assert_eq!(c.summaries("alice").unwrap()[0].unread, 1, "only bob's seq 3 is after the read mark");
        let out = Outgoing { id: "p1".into(), target: Target::User("bob".into()), text: "later".into(), burn_secs: None, attachment: None, attempts: 0 };
        c.queue("alice", "dm:alice:bob", &out, 99).unwrap();
        let s = c.summaries("alice").unwrap();
        assert_eq!((s[0].last_text.as_deref(), s[0].last_at, s[0].pending), (Some("later"), Some(99), 1));
    }

    #[test]
    fn a_failed_message_goes_back_to_the_outbox_once() {
        let mut c = Cache::open_in_memory().unwrap();
        let out = Outgoing { id: "f1".into(), target: Target::User("bob".into()), text: "hi".into(), burn_secs: Some(5), attachment: None, attempts: 0 };
        c.queue("alice", "dm:alice:bob", &out, 1).unwrap();
        c.mark_failed("alice", "f1", "bob blocked you").unwrap();
        assert_eq!(c.outbox_len().unwrap(), 0);
        assert!(c.requeue_failed("alice", "nope", 2).unwrap().is_none());
        let m = c.requeue_failed("alice", "f1", 2).unwrap().unwrap();
        assert_eq!((m.state.as_str(), m.error.as_deref(), m.sent_at), ("pending", None, 2));
        let o = c.outbox("alice").unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!((o[0].target.clone(), o[0].burn_secs), (Target::User("bob".into()), Some(5)));
        assert!(c.requeue_failed("alice", "f1", 3).unwrap().is_none(), "pending now, not failed");
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
