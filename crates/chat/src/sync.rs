//! Delivering the outbox and fetching what is new, over one connection.
//!
//! Order and exactly-once: the outbox goes out one message at a time, oldest
//! first, each waiting for its ack, so the relay assigns seqs in the order
//! the user wrote; a resend after any failure carries the same client id, so
//! the relay answers it with the original seq instead of storing it again.

use crate::cache::Cache;
use crate::error::{ChatError, NetError};
use crate::net::RelayLink;
use onair_proto::*;

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Report {
    pub sent: usize,
    pub failed: usize,
    pub fetched: usize,
    pub conversations: usize,
    pub pending: u64,
}

/// Is this refusal final for this message (so it is marked failed), or may
/// a later attempt succeed?
fn permanent(code: ErrorCode) -> bool {
    !matches!(code, ErrorCode::RateLimited | ErrorCode::Internal | ErrorCode::Unauthorized)
}

/// Sends every outbox message, oldest first. Stops at the first transient
/// failure, leaving the rest for the next attempt.
pub async fn flush_outbox(conn: &RelayLink, cache: &mut Cache, me: &str) -> Result<(usize, usize), ChatError> {
    let (mut sent, mut failed) = (0, 0);
    for m in cache.outbox(me)? {
        let req = Request::Send { client_id: m.id.clone(), to: m.target.clone(), text: m.text.clone(), burn_secs: m.burn_secs, attachment: m.attachment.clone() };
        match conn.request(req).await {
            Ok(Response::Sent { conv, seq, sent_at, .. }) => {
                cache.mark_sent(me, &m.id, &conv, seq, sent_at)?;
                sent += 1;
            }
            Ok(other) => return Err(NetError::Protocol(format!("unexpected answer to send: {other:?}")).into()),
            Err(NetError::Refused { code, message }) if permanent(code) => {
                cache.mark_failed(me, &m.id, &message)?;
                failed += 1;
            }
            Err(e) => {
                cache.note_attempt(&m.id, &e.to_string())?;
                return Err(e.into());
            }
        }
    }
    Ok((sent, failed))
}

/// Fetches everything newer than the cursor of every conversation, in
/// order, then tells the relay what was read here while offline.
pub async fn fetch_all(conn: &RelayLink, cache: &mut Cache, me: &str, page: u32) -> Result<(usize, usize), ChatError> {
    let convs = match conn.request(Request::Conversations).await? {
        Response::Conversations { convs } => convs,
        other => return Err(NetError::Protocol(format!("unexpected answer: {other:?}")).into()),
    };
    let mut fetched = 0;
    for c in &convs {
        cache.upsert_conv(c)?;
        fetched += fetch_conv(conn, cache, me, &c.id, page).await?;
    }
    for c in cache.conversations()? {
        if c.my_read > c.read_sent && convs.iter().any(|x| x.id == c.id) {
            conn.request(Request::Read { conv: c.id.clone(), seq: c.my_read }).await?;
            cache.set_read_sent(&c.id, c.my_read)?;
        }
    }
    Ok((convs.len(), fetched))
}

pub async fn fetch_conv(conn: &RelayLink, cache: &mut Cache, me: &str, conv: &str, page: u32) -> Result<usize, ChatError> {
    let mut fetched = 0;
    loop {
        let after = cache.cursor(conv)?;
        match conn.request(Request::Sync { conv: conv.into(), after, limit: page }).await? {
            Response::Entries { entries, more, reads, .. } => {
                let a = cache.apply_entries(me, conv, &entries, &reads)?;
                fetched += a.new;
                if a.gap {
                    return Err(NetError::Protocol(format!("relay skipped seqs in {conv} after {after}")).into());
                }
                if !more || entries.is_empty() {
                    return Ok(fetched);
                }
            }
            other => return Err(NetError::Protocol(format!("unexpected answer: {other:?}")).into()),
        }
    }
}

/// Applies a pushed event to the cache; fetches when it reveals a gap or a
/// conversation change. Returns what to show the user, if anything.
pub async fn apply_event(conn: &RelayLink, cache: &mut Cache, me: &str, ev: &Event) -> Result<(), ChatError> {
    match ev {
        Event::Message { conv, entry } => {
            let a = cache.apply_entries(me, conv, std::slice::from_ref(entry), &[])?;
            if a.gap {
                fetch_conv(conn, cache, me, conv, 500).await?;
            }
        }
        Event::Read { conv, user, seq } => cache.apply_read(conv, user, *seq)?,
        Event::ConvChanged { .. } => {
            fetch_all(conn, cache, me, 500).await?;
        }
        // Presence and friends are shown live; call events belong to the
        // call session (crates/call), not the chat cache; live-room chat
        // is shown, not cached.
        _ => {}
    }
    Ok(())
}
