//! Who may watch a room. A public room's live and replays are for anyone;
//! a private room's are for its owner and the members the owner adds.
//! Media requests prove membership with a bearer token or, since players
//! cannot always send headers, a watch ticket in `?ticket=` (see
//! [`super::ticket`]); membership is checked again on every request, so a
//! removed member's tickets stop working at once.

use super::routes::{bearer_user, err, off, owned_room, LiveCtx, LiveError};
use crate::state::now_ms;
use crate::store::RoomRow;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use onair_proto::{ErrorCode, RoomMembers, WatchTicket};
use serde::Deserialize;

pub fn routes() -> Router<LiveCtx> {
    Router::new()
        .route("/v1/rooms/{id}/watch", post(watch_ticket))
        .route("/v1/rooms/{id}/members", get(members))
        .route("/v1/rooms/{id}/members/{user}", put(add_member).delete(remove_member))
}

/// `?ticket=` on a media URL.
#[derive(Deserialize, Default)]
pub struct TicketQuery {
    #[serde(default)]
    pub ticket: Option<String>,
    /// Another relay node pulling the live (`super::edge`).
    #[serde(default)]
    pub edge: Option<String>,
    /// Low-latency HLS blocking reload: answer once this segment (and part)
    /// is in the playlist.
    #[serde(default, rename = "_HLS_msn")]
    pub hls_msn: Option<u64>,
    #[serde(default, rename = "_HLS_part")]
    pub hls_part: Option<usize>,
}

/// The owner, or a member the owner added.
fn belongs(cx: &LiveCtx, room: &RoomRow, user: &str) -> Result<bool, LiveError> {
    Ok(room.owner == user || cx.app.store.is_room_member(&room.id, user)?)
}

/// The signed-in user of a request that may be anonymous (a bad token
/// counts as none: the directory is public).
pub fn optional_user(cx: &LiveCtx, headers: &HeaderMap) -> Option<String> {
    headers.contains_key(header::AUTHORIZATION).then(|| bearer_user(&cx.app, headers).ok()).flatten()
}

/// Whether a directory listing shows `room` to `user`.
pub fn listed_for(cx: &LiveCtx, room: &RoomRow, user: Option<&str>) -> bool {
    !room.private || user.is_some_and(|u| belongs(cx, room, u).unwrap_or(false))
}

/// May this request see `room`'s media (and its details)? Anonymous → 401;
/// a signed-in non-member, or a ticket for another room or user → 403.
pub fn may_watch(cx: &LiveCtx, headers: &HeaderMap, ticket: Option<&str>, room: &RoomRow) -> Result<(), LiveError> {
    if !room.private {
        return Ok(());
    }
    let user = if let Some(t) = ticket.filter(|t| !t.is_empty()) {
        let secret = cx.live.ticket_secret(cx.app.store.as_ref())?;
        super::ticket::check_watch(&secret, t, &room.id, now_ms()).map_err(|e| match e {
            super::ticket::TicketError::Expired => err(ErrorCode::Unauthorized, "the watch ticket has expired; ask for a new one (POST /v1/rooms/ID/watch)"),
            super::ticket::TicketError::Invalid => err(ErrorCode::NotMember, "this ticket is not for this room"),
        })?
    } else if headers.contains_key(header::AUTHORIZATION) {
        bearer_user(&cx.app, headers)?
    } else {
        return Err(err(ErrorCode::Unauthorized, "this room is private: sign in, and as a member ask for a watch ticket (POST /v1/rooms/ID/watch)"));
    };
    if !belongs(cx, room, &user)? {
        return Err(err(ErrorCode::NotMember, "this room is private: only its owner and the members they add may watch"));
    }
    Ok(())
}

/// A watch ticket for a signed-in member (any signed-in user of a public room).
async fn watch_ticket(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| new_watch_ticket(cx, &headers, &id)).await?))
}

fn new_watch_ticket(cx: &LiveCtx, headers: &HeaderMap, id: &str) -> Result<WatchTicket, LiveError> {
    let me = bearer_user(&cx.app, headers)?;
    let room = cx.app.store.room(id)?.ok_or_else(|| err(ErrorCode::NotFound, "no such room"))?;
    if room.private && !belongs(cx, &room, &me)? {
        return Err(err(ErrorCode::NotMember, "this room is private: only its owner and the members they add may watch"));
    }
    let secret = cx.live.ticket_secret(cx.app.store.as_ref())?;
    let expires_at = now_ms() + cx.app.limits.watch_ticket_secs.max(1) * 1000;
    Ok(WatchTicket { ticket: super::ticket::watch(&secret, &room.id, &me, expires_at), room: room.id, expires_at })
}

fn member_list(cx: &LiveCtx, room: &str) -> Result<RoomMembers, LiveError> {
    Ok(RoomMembers { room: room.to_string(), members: cx.app.store.room_members(room)? })
}

async fn members(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| member_list(cx, &owned_room(cx, &headers, &id)?.id)).await?))
}

async fn add_member(State(cx): State<LiveCtx>, headers: HeaderMap, Path((id, user)): Path<(String, String)>) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| add(cx, &headers, &id, &user)).await?))
}

fn add(cx: &LiveCtx, headers: &HeaderMap, id: &str, user: &str) -> Result<RoomMembers, LiveError> {
    let room = owned_room(cx, headers, id)?;
    if !onair_proto::valid_username(user) || cx.app.store.user(user)?.is_none() {
        return Err(err(ErrorCode::NotFound, "no such user"));
    }
    if user != room.owner {
        cx.app.store.add_room_member(&room.id, user, now_ms())?;
        tracing::info!(room = %room.id, %user, "room member added");
    }
    member_list(cx, &room.id)
}

async fn remove_member(State(cx): State<LiveCtx>, headers: HeaderMap, Path((id, user)): Path<(String, String)>) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| remove(cx, &headers, &id, &user)).await?))
}

fn remove(cx: &LiveCtx, headers: &HeaderMap, id: &str, user: &str) -> Result<RoomMembers, LiveError> {
    let room = owned_room(cx, headers, id)?;
    if cx.app.store.remove_room_member(&room.id, user)? {
        tracing::info!(room = %room.id, %user, "room member removed");
    }
    member_list(cx, &room.id)
}

/// A private room's playlist with `?ticket=` on every URI, so a player that
/// fetched the playlist with a ticket fetches the segments with it too.
pub fn with_ticket(playlist: &str, ticket: &str) -> String {
    let mut out = String::with_capacity(playlist.len() + 64 * ticket.len() / 8);
    for line in playlist.lines() {
        out.push_str(line);
        if !line.is_empty() && !line.starts_with('#') {
            out.push_str(if line.contains('?') { "&ticket=" } else { "?ticket=" });
            out.push_str(ticket);
        }
        out.push('\n');
    }
    out
}

/// Is `s` made only of the characters a ticket has (so it needs no escaping
/// inside a playlist)?
pub fn ticket_chars(s: &str) -> bool {
    s.len() <= 256 && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn playlist_uris_carry_the_ticket() {
        let p = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg00001.ts\n\n#EXTINF:2.0,\nseg00002.ts?x=1\n";
        let out = super::with_ticket(p, "wt.r.1.ab.ann");
        assert_eq!(out, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg00001.ts?ticket=wt.r.1.ab.ann\n\n#EXTINF:2.0,\nseg00002.ts?x=1&ticket=wt.r.1.ab.ann\n");
        assert!(super::ticket_chars("wt.r1.5.ab.bob_1-x") && !super::ticket_chars("a\nb") && !super::ticket_chars("a\"b"));
    }
}
