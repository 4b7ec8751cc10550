//! The Watch screen's commands: the live-room directory, one room, its
//! replays, and the room's live chat (joined on the chat listener's socket,
//! because the relay delivers room chat to the sockets that joined).
//!
//! Video does not pass through here: the page plays the relay's
//! low-latency fragmented MP4 (`mp4_path`) with MSE and replays with a
//! `<video>` element, straight from the relay (CSP allows loopback HTTP).

use onair_chat::net::{Http, RelayUrl};
use onair_proto::{Request, Response, RoomComment};
use serde::Serialize;
use tauri::State;

use crate::commands::chat::ChatState;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

fn http(state: &AppState) -> AppResult<Http> {
    Ok(Http::new(RelayUrl::parse(&state.relay.url)?))
}

/// The signed-in account's token, if any: with it the directory lists the
/// private rooms the user may watch.
fn token(state: &AppState) -> Option<String> {
    onair_chat::account::load(&state.home).ok().map(|c| c.token)
}

/// The relay the player fetches from (`http://host:port`).
#[tauri::command]
pub fn watch_relay(state: State<'_, AppState>) -> String {
    state.relay.url.clone()
}

/// The directory: rooms live now (or all), optionally searched by title.
#[tauri::command]
pub async fn watch_rooms(state: State<'_, AppState>, all: bool, search: Option<String>) -> AppResult<Vec<onair_chat::rooms::RoomInfo>> {
    let http = http(&state)?;
    Ok(onair_chat::rooms::list(&http, token(&state).as_deref(), all, search.as_deref().map(str::trim).filter(|s| !s.is_empty()), None).await?)
}

/// One room (live state, start time, viewers, stream paths).
#[tauri::command]
pub async fn watch_room(state: State<'_, AppState>, room: String) -> AppResult<onair_chat::rooms::RoomInfo> {
    let http = http(&state)?;
    Ok(onair_chat::rooms::room(&http, token(&state).as_deref(), &room).await?)
}

/// A watch ticket for a private room's media URLs (`?ticket=`): the page's
/// player cannot send the bearer token itself.
#[tauri::command]
pub async fn watch_ticket(state: State<'_, AppState>, room: String) -> AppResult<onair_chat::rooms::WatchTicket> {
    let http = http(&state)?;
    let token = token(&state).ok_or(AppError::NotSignedIn)?;
    Ok(onair_chat::rooms::watch_ticket(&http, &token, &room).await?)
}

/// A room's finished replays, newest first.
#[tauri::command]
pub async fn watch_replays(state: State<'_, AppState>, room: String) -> AppResult<Vec<onair_chat::rooms::ReplayInfo>> {
    let http = http(&state)?;
    Ok(onair_chat::rooms::replays(&http, token(&state).as_deref(), &room).await?)
}

/// Sends a room-chat request on the listener's socket and waits for the answer.
async fn on_socket(chat: &ChatState, req: Request) -> AppResult<Response> {
    chat.request(req).await
}

/// A room's chat as joining finds it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RoomJoined {
    pub room: String,
    pub owner: String,
    /// Who is in the room's chat now.
    pub viewers: Vec<String>,
    /// The latest comments, oldest first.
    pub recent: Vec<RoomComment>,
}

/// Joins a room's chat: who is there and the latest comments. Comments
/// then arrive as `chat://event` (`room_comment`, `room_viewer`, …).
#[tauri::command]
pub async fn watch_join(chat: State<'_, ChatState>, room: String) -> AppResult<RoomJoined> {
    match on_socket(&chat, Request::RoomJoin { room }).await? {
        Response::RoomJoined { room, owner, viewers, recent } => Ok(RoomJoined { room, owner, viewers, recent }),
        other => Err(AppError::Internal(format!("the relay answered a room join with {other:?}"))),
    }
}

#[tauri::command]
pub async fn watch_leave(chat: State<'_, ChatState>, room: String) -> AppResult<()> {
    on_socket(&chat, Request::RoomLeave { room }).await.map(|_| ())
}

#[tauri::command]
pub async fn watch_say(chat: State<'_, ChatState>, room: String, text: String) -> AppResult<()> {
    if text.trim().is_empty() {
        return Err(AppError::Invalid("nothing to say".into()));
    }
    on_socket(&chat, Request::RoomSay { room, text }).await.map(|_| ())
}

/// What the user follows and the followed rooms on air now (Watch's
/// "Live now from people you follow", also after signing in again).
#[tauri::command]
pub async fn watch_following(state: State<'_, AppState>) -> AppResult<onair_chat::rooms::Following> {
    let http = http(&state)?;
    let token = token(&state).ok_or(AppError::NotSignedIn)?;
    Ok(onair_chat::rooms::following(&http, &token).await?)
}

/// Follows (`on`) or unfollows a streamer (`room`: a room id instead).
#[tauri::command]
pub async fn watch_follow(state: State<'_, AppState>, target: String, room: bool, on: bool) -> AppResult<onair_chat::rooms::FollowState> {
    let http = http(&state)?;
    let token = token(&state).ok_or(AppError::NotSignedIn)?;
    Ok(onair_chat::rooms::follow(&http, &token, &target, room, on).await?)
}

/// Go live's room details: its category and cover picture (the relay
/// checks the picture: PNG, JPEG or WebP, at most 2 MiB). Owner only.
#[tauri::command]
pub async fn room_studio(state: State<'_, AppState>, room: String, category: Option<String>, cover: Option<Vec<u8>>) -> AppResult<onair_chat::rooms::RoomInfo> {
    let http = http(&state)?;
    let token = token(&state).ok_or(AppError::NotSignedIn)?;
    let mut info = None;
    if let Some(c) = category {
        info = Some(onair_chat::rooms::update(&http, &token, &room, &onair_chat::rooms::RoomUpdate { title: None, category: Some(c) }).await?);
    }
    if let Some(bytes) = cover.filter(|b| !b.is_empty()) {
        info = Some(onair_chat::rooms::set_cover(&http, &token, &room, bytes).await?);
    }
    match info {
        Some(i) => Ok(i),
        None => Ok(onair_chat::rooms::room(&http, Some(&token), &room).await?),
    }
}
