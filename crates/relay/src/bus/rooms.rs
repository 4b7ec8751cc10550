//! Live-room chat across nodes. A room's chat (who is in it, the order of
//! comments, mutes, kicks, rate limits) lives on one node, its home: the
//! first node asked claims `onair:room:ID` (`SET NX`, refreshed while the
//! room has chatters); the others forward their users' requests there and
//! relay the answers. The home's events reach members on every node through
//! their user channels, so everyone sees one order (the home's `seq`).
//!
//! A home that dies takes the chat's live state with it (it was never
//! durable: comments are live only); the next request claims the room on
//! a live node and members rejoin, as after a relay restart.

use crate::live::chat::RoomReq;
use crate::state::AppState;
use std::sync::Arc;

/// Sends a room request to the room's home if that is another node; true
/// if it went (the answer comes back through the bus). With Redis away
/// the room is served here.
pub async fn forwarded(state: &Arc<AppState>, me: &str, conn: u64, id: u64, room: &str, req: &RoomReq) -> bool {
    let Some(r) = state.bus.redis() else { return false };
    // Only real rooms get a home (no Redis key for a made-up id): anything
    // else gets its refusal here.
    if room.is_empty() || room.len() > 64 {
        return false;
    }
    let name = room.to_string();
    if !matches!(state.store_call(move |s| s.room(&name)).await, Ok(Some(_))) {
        return false;
    }
    match r.room_home(room).await {
        Some(home) => {
            r.link(conn, &home);
            r.send(&home, super::Note::RoomReq { conn, user: me.to_string(), id, room: room.to_string(), req: req.clone() });
            true
        }
        None => false,
    }
}
