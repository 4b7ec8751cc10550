//! HTTP routes of live rooms: create, list (the directory), one room, key
//! rotation and publish tickets (owner only), and the HLS files.

use super::fanout::Format;
use super::Live;
use crate::auth;
use crate::error::ApiError;
use crate::state::{now_ms, AppState};
use crate::store::rooms::key_hash;
use crate::store::RoomRow;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use super::access::TicketQuery;
use onair_proto::{ErrorBody, ErrorCode};
use onair_proto::{NewRoom, PublishTicket, ReplayInfo, RoomInfo, RoomKey, RoomQuery, RoomStopped};
use std::sync::Arc;

#[derive(Clone)]
pub struct LiveCtx {
    pub app: Arc<AppState>,
    pub live: Arc<Live>,
}

pub fn routes(app: Arc<AppState>, live: Arc<Live>) -> Router {
    Router::new()
        .route("/v1/rooms", post(create).get(list))
        .route("/v1/rooms/{id}", get(one).patch(update))
        .route("/v1/rooms/{id}/key", get(key).post(rotate))
        .route("/v1/rooms/{id}/stop", post(stop))
        .route("/v1/rooms/{id}/publish", post(publish_ticket))
        .route("/live/{id}/{file}", get(hls_file))
        .route("/live/{id}/{rung}/{file}", get(rung_file))
        .route("/v1/rooms/{id}/replays", get(replays))
        .route("/replays/{id}/{file}", get(replay_file))
        .route("/watch/{id}", get(super::player::page))
        .route("/static/live-player.js", get(super::player::script))
        .merge(super::access::routes())
        .merge(super::follows::routes(app.limits.max_cover_bytes))
        .with_state(LiveCtx { app, live })
}

pub struct LiveError(pub ErrorCode, pub String);

impl IntoResponse for LiveError {
    fn into_response(self) -> Response {
        (crate::http::status_of(self.0), axum::Json(ErrorBody { code: self.0, message: self.1 })).into_response()
    }
}

impl From<crate::error::StoreError> for LiveError {
    fn from(e: crate::error::StoreError) -> Self {
        let (c, m) = ApiError::from(e).to_wire();
        LiveError(c, m)
    }
}

pub(super) fn err(c: ErrorCode, m: &str) -> LiveError {
    LiveError(c, m.into())
}

pub(super) fn bearer_user(app: &AppState, headers: &HeaderMap) -> Result<String, LiveError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| err(ErrorCode::Unauthorized, "missing bearer token"))?;
    app.store.token_user(&auth::token_hash(token.trim()), now_ms())?.ok_or_else(|| err(ErrorCode::Unauthorized, "invalid or expired token"))
}

pub(super) fn info(app: &AppState, live: &Live, r: &RoomRow) -> RoomInfo {
    let on = live.on_air(&r.id);
    let fan = live.fanout(&r.id);
    // On air at another node: live here too, through an edge pull.
    let elsewhere = on.is_none() && app.bus.origin_of(&r.id).is_some();
    let streams = fan.as_ref().map(|f| f.viewers()).unwrap_or(0);
    let source_size = fan.as_ref().and_then(|f| f.size());
    // With several nodes the room's chat may be held by another (bus/rooms.rs).
    let chat = app.rooms.chatters(&r.id).max(app.bus.chatters(&r.id));
    RoomInfo {
        id: r.id.clone(),
        title: r.title.clone(),
        category: r.category.clone(),
        owner: r.owner.clone(),
        private: r.private,
        live: on.is_some() || elsewhere,
        started_at: on.as_ref().map(|o| o.started_at),
        clock_anchor_ms: on.and_then(|o| o.clock_anchor_ms),
        hls_path: format!("/live/{}/index.m3u8", r.id),
        flv_path: format!("/live/{}/live.flv", r.id),
        mp4_path: format!("/live/{}/live.mp4", r.id),
        mse_type: fan.and_then(|f| f.mp4_mime()),
        viewers: streams.max(chat) as u32,
        stream_viewers: streams as u32,
        chat_viewers: chat as u32,
        // Rungs never above the source (once its size is known).
        ladder: std::iter::once("source")
            .chain(live.ladder_for(r).iter().filter(|g| g.height == 0 || source_size.is_none_or(|(_, h)| g.height < h)).map(|g| g.name))
            .map(String::from)
            .collect(),
        followers: 0,
        cover_path: format!("/v1/rooms/{}/cover", r.id),
        has_cover: false,
    }
}

/// The answer that shows `key`: only room create and key rotate give it.
fn with_key(live: &Live, r: &RoomRow, key: &str) -> RoomKey {
    RoomKey {
        id: r.id.clone(),
        title: r.title.clone(),
        category: r.category.clone(),
        private: r.private,
        stream_key: key.to_string(),
        rtmp_url: live.rtmp_url(key),
        rtmps_url: live.rtmps_url(key),
        hls_path: format!("/live/{}/index.m3u8", r.id),
        ladder: std::iter::once("source").chain(live.ladder_for(r).iter().map(|g| g.name)).map(String::from).collect(),
    }
}

/// Runs `f`, which reads or writes the store, on the relay's bounded
/// blocking pool (`AppState::blocking`): a slow store never holds up a
/// tokio worker serving other viewers or the RTMP ingest.
pub(super) async fn off<T: Send + 'static>(cx: &LiveCtx, f: impl FnOnce(&LiveCtx) -> Result<T, LiveError> + Send + 'static) -> Result<T, LiveError> {
    let c = cx.clone();
    cx.app.blocking(move || f(&c)).await?
}

fn new_key() -> Result<String, LiveError> {
    Ok(format!("live_{}", auth::random_hex(20).map_err(|e| LiveError(ErrorCode::Internal, e.to_string()))?))
}

fn clean(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect::<String>().trim().to_string()
}

async fn create(State(cx): State<LiveCtx>, headers: HeaderMap, body: Bytes) -> Result<impl IntoResponse, LiveError> {
    let (row, key) = off(&cx, move |cx| create_room(cx, &headers, &body)).await?;
    tracing::info!(room = %row.id, owner = %row.owner, private = row.private, "room created");
    Ok((StatusCode::CREATED, axum::Json(with_key(&cx.live, &row, &key))))
}

fn create_room(cx: &LiveCtx, headers: &HeaderMap, body: &[u8]) -> Result<(RoomRow, String), LiveError> {
    let owner = bearer_user(&cx.app, headers)?;
    let n: NewRoom = serde_json::from_slice(body).map_err(|_| err(ErrorCode::BadFrame, "body must be {\"title\": …, \"category\": …}"))?;
    let title = clean(&n.title, 200);
    if title.is_empty() {
        return Err(err(ErrorCode::Invalid, "a room needs a title"));
    }
    let id = auth::random_hex(5).map_err(|e| LiveError(ErrorCode::Internal, e.to_string()))?;
    let key = new_key()?;
    let ladder = match &n.ladder {
        Some(l) => Some(super::ladder::canonical(&l.join(",")).map_err(|e| err(ErrorCode::Invalid, &format!("the room's quality ladder: {e}")))?),
        None => None,
    };
    let row = RoomRow { id, owner, title, category: clean(&n.category, 64), key_hash: key_hash(&key), private: n.private, created_at: now_ms(), ladder };
    cx.app.store.create_room(&row)?;
    Ok((row, key))
}

/// The directory: public rooms, and the private ones the caller (bearer,
/// optional) owns or is a member of.
async fn list(State(cx): State<LiveCtx>, headers: HeaderMap, Query(q): Query<RoomQuery>) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| directory(cx, &headers, q)).await?))
}

fn directory(cx: &LiveCtx, headers: &HeaderMap, q: RoomQuery) -> Result<Vec<RoomInfo>, LiveError> {
    let needle = q.q.map(|s| s.to_lowercase());
    let me = super::access::optional_user(cx, headers);
    let stamps = super::follows::stamps(cx.app.store.as_ref())?;
    let mut rooms = Vec::new();
    for r in cx.app.store.rooms()?.iter().filter(|r| super::access::listed_for(cx, r, me.as_deref())) {
        let mut i = info(&cx.app, &cx.live, r);
        let wanted = (q.live != Some(true) || i.live)
            && needle.as_ref().is_none_or(|n| i.title.to_lowercase().contains(n))
            && q.category.as_ref().is_none_or(|c| i.category.eq_ignore_ascii_case(c));
        if wanted {
            super::follows::decorate(cx.app.store.as_ref(), &mut i, r, stamps.get(&r.id).copied())?;
            rooms.push(i);
        }
    }
    Ok(rooms)
}

async fn one(State(cx): State<LiveCtx>, headers: HeaderMap, Query(t): Query<TicketQuery>, Path(id): Path<String>) -> Result<impl IntoResponse, LiveError> {
    let i = off(&cx, move |cx| {
        let r = watchable(cx, &headers, t.ticket.as_deref(), &id, "no such room")?;
        let mut i = info(&cx.app, &cx.live, &r);
        let stamp = cx.app.store.room_cover(&r.id)?.map(|c| c.updated_at);
        super::follows::decorate(cx.app.store.as_ref(), &mut i, &r, stamp)?;
        Ok(i)
    })
    .await?;
    Ok(axum::Json(i))
}

/// The owner changes the room's title or category (`onair live --category`,
/// the app's Go live).
async fn update(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<impl IntoResponse, LiveError> {
    let i = off(&cx, move |cx| {
        let u: onair_proto::RoomUpdate = serde_json::from_slice(&body).map_err(|_| err(ErrorCode::BadFrame, "body must be {\"title\": …, \"category\": …}"))?;
        let mut r = owned_room(cx, &headers, &id)?;
        if let Some(c) = &u.category {
            r.category = clean(c, 64);
            cx.app.store.set_room_category(&r.id, &r.category)?;
        }
        if let Some(t) = &u.title {
            let t = clean(t, 200);
            if t.is_empty() {
                return Err(err(ErrorCode::Invalid, "a room needs a title"));
            }
            cx.app.store.set_room_title(&r.id, &t)?;
            r.title = t;
        }
        let mut i = info(&cx.app, &cx.live, &r);
        let stamp = cx.app.store.room_cover(&r.id)?.map(|c| c.updated_at);
        super::follows::decorate(cx.app.store.as_ref(), &mut i, &r, stamp)?;
        Ok(i)
    })
    .await?;
    Ok(axum::Json(i))
}

/// The room `id`, if this request may watch it ([`super::access::may_watch`]).
fn watchable(cx: &LiveCtx, headers: &HeaderMap, ticket: Option<&str>, id: &str, missing: &str) -> Result<RoomRow, LiveError> {
    let r = cx.app.store.room(id)?.ok_or_else(|| err(ErrorCode::NotFound, missing))?;
    super::access::may_watch(cx, headers, ticket, &r)?;
    Ok(r)
}

pub(super) fn owned_room(cx: &LiveCtx, headers: &HeaderMap, id: &str) -> Result<RoomRow, LiveError> {
    let me = bearer_user(&cx.app, headers)?;
    let r = cx.app.store.room(id)?.ok_or_else(|| err(ErrorCode::NotFound, "no such room"))?;
    if r.owner != me {
        return Err(err(ErrorCode::NotOwner, "only the room's owner can do that"));
    }
    Ok(r)
}

/// The relay keeps only a hash of the key: it cannot show it again.
async fn key(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, LiveError> {
    off(&cx, move |cx| owned_room(cx, &headers, &id)).await?;
    Err(err(ErrorCode::NotFound, "a stream key is shown once, when the room is created or the key rotated, and the relay keeps only its hash; rotate it for a new one (onair room rotate ROOM), or publish with onair live --to relay://ROOM"))
}

/// A new key; a publisher live on the old one is disconnected (whoever
/// held the old key must not stay on air), and publish tickets made for
/// the old key stop working (they sign its hash).
async fn rotate(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>) -> Result<impl IntoResponse, LiveError> {
    let key = new_key()?;
    let hash = key_hash(&key);
    let r = off(&cx, move |cx| {
        let mut r = owned_room(cx, &headers, &id)?;
        cx.app.store.set_room_key_hash(&r.id, &hash)?;
        r.key_hash = hash;
        Ok(r)
    })
    .await?;
    let ended = cx.live.stop(&r.id);
    tracing::info!(room = %r.id, ended_live = ended, "stream key rotated");
    Ok(axum::Json(with_key(&cx.live, &r, &key)))
}

/// Where the owner publishes now without the key: RTMP(S) URLs carrying a
/// ticket that starts a live in this room until it expires.
async fn publish_ticket(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>) -> Result<impl IntoResponse, LiveError> {
    let (r, secret) = off(&cx, move |cx| Ok((owned_room(cx, &headers, &id)?, cx.live.ticket_secret(cx.app.store.as_ref())?))).await?;
    let expires_at = now_ms() + cx.app.limits.publish_ticket_secs.max(1) * 1000;
    let t = super::ticket::publish(&secret, &r.id, &r.owner, &r.key_hash, expires_at);
    Ok(axum::Json(PublishTicket { room: r.id, rtmp_url: cx.live.rtmp_url(&t), rtmps_url: cx.live.rtmps_url(&t), expires_at }))
}

/// The owner ends the room's live now (the publisher is disconnected; it
/// may publish again with the key).
async fn stop(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>) -> Result<impl IntoResponse, LiveError> {
    let r = off(&cx, move |cx| owned_room(cx, &headers, &id)).await?;
    let stopped = cx.live.stop(&r.id);
    tracing::info!(room = %r.id, stopped, "live stopped by its owner");
    Ok(axum::Json(RoomStopped { room: r.id, stopped }))
}

fn safe_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && !s.starts_with('.') && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.')
}

async fn hls_file(State(cx): State<LiveCtx>, headers: HeaderMap, Query(t): Query<TicketQuery>, Path((id, file)): Path<(String, String)>, req: axum::extract::Request) -> Result<Response, LiveError> {
    let not_found = || err(ErrorCode::NotFound, "no such live file");
    if !safe_name(&id) {
        return Err(not_found());
    }
    if let Some(edge) = t.edge.clone() {
        // Another node pulling the live for its viewers (`super::edge`).
        if file != "live.flv" {
            return Err(not_found());
        }
        let i = id.clone();
        off(&cx, move |cx| {
            let secret = cx.live.ticket_secret(cx.app.store.as_ref())?;
            super::ticket::check_edge(&secret, &edge, &i, now_ms()).map_err(|e| err(ErrorCode::Unauthorized, &e.to_string()))
        })
        .await?;
        return super::edge::serve(&cx, &id).ok_or_else(|| err(ErrorCode::NotFound, "the room is not live on this node"));
    }
    let (i, ticket) = (id.clone(), t.ticket.clone());
    let room = off(&cx, move |cx| watchable(cx, &headers, ticket.as_deref(), &i, "no such live file")).await?;
    let format = match file.as_str() {
        "live.flv" => Some(Format::Flv),
        "live.mp4" => Some(Format::Mp4),
        _ => None,
    };
    // With several nodes the publisher may be on another: pull it here.
    let pulling = cx.app.bus.shared() && cx.live.on_air(&id).is_none() && super::edge::ensure(&cx, &room);
    if format.is_none() {
        cx.live.touch(&id);
    }
    if let Some(f) = format {
        return low_latency_stream(&cx, &id, f).ok_or_else(|| err(ErrorCode::NotFound, "the room is not live"));
    }
    // A private room's ticket rides on every URI the playlists name.
    let query = t.ticket.as_deref().filter(|t| room.private && super::access::ticket_chars(t)).map(|t| format!("?ticket={t}")).unwrap_or_default();
    if let Some(res) = ll_file(&cx, &id, None, &file, &t, room.private, &query).await {
        return res;
    }
    if pulling && file.ends_with(".m3u8") {
        // An edge's first playlist comes with its first segment.
        let path = cx.live.dir.join(&id).join(&file);
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(8);
        while !tokio::fs::try_exists(&path).await.unwrap_or(false) && tokio::time::Instant::now() < until && cx.live.on_air(&id).is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    if !safe_name(&file) || file.ends_with(".tmp") {
        return Err(not_found());
    }
    let ctype = if file.ends_with(".m3u8") {
        "application/vnd.apple.mpegurl"
    } else if file.ends_with(".ts") {
        "video/mp2t"
    } else {
        return Err(not_found());
    };
    let path = cx.live.dir.join(&id).join(&file);
    // The playlist changes every segment; segments never change. Shared
    // caches keep nothing of a private room.
    let cache = match (ctype.ends_with("mpegurl"), room.private) {
        (true, _) => "no-cache",
        (false, false) => "max-age=60",
        (false, true) => "private, max-age=60",
    };
    // A private room's playlist hands its ticket on to the segments: it is
    // rewritten, so read (a playlist is a few hundred bytes; capped anyway).
    if let Some(t) = t.ticket.as_deref().filter(|t| room.private && ctype.ends_with("mpegurl") && super::access::ticket_chars(t)) {
        let text = read_small(&path, 256 * 1024).await.ok_or_else(not_found)?;
        let body = super::access::with_ticket(&text, t);
        return Ok(([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, cache), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], body).into_response());
    }
    // Everything else streams from disk through tower-http's ServeFile, as
    // replays do: Range (206, 416), conditional requests, no whole-file reads.
    let mut res = serve_file(path, req).await.ok_or_else(not_found)?;
    let ok = res.status().is_success();
    let h = res.headers_mut();
    if ok {
        h.insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static(ctype));
    }
    h.insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static(cache));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, axum::http::HeaderValue::from_static("*"));
    Ok(res)
}

/// A rung of the room's quality ladder ([`super::ladder`]): its
/// low-latency streams and low-latency HLS, as for the source.
async fn rung_file(State(cx): State<LiveCtx>, headers: HeaderMap, Query(t): Query<TicketQuery>, Path((id, rung, file)): Path<(String, String, String)>) -> Result<Response, LiveError> {
    let not_found = || err(ErrorCode::NotFound, "no such rung or file (the relay's ladder: onair relay --ladder)");
    if !safe_name(&id) || !safe_name(&rung) || !safe_name(&file) {
        return Err(not_found());
    }
    let (i, ticket) = (id.clone(), t.ticket.clone());
    let room = off(&cx, move |cx| watchable(cx, &headers, ticket.as_deref(), &i, "no such live file")).await?;
    // With several nodes the publisher may be on another: pull it here.
    if cx.app.bus.shared() && cx.live.on_air(&id).is_none() {
        super::edge::ensure(&cx, &room);
    }
    let fan = cx.live.rungs(&id).into_iter().find(|(r, _)| r.name == rung).map(|(_, f)| f).ok_or_else(not_found)?;
    // Someone wants this rung: the transcoder makes it from the next keyframe.
    cx.live.touch(&format!("{id}/{rung}"));
    match file.as_str() {
        "live.flv" => return stream_of(fan, Format::Flv).ok_or_else(not_found),
        "live.mp4" => return stream_of(fan, Format::Mp4).ok_or_else(not_found),
        _ => {}
    }
    let query = t.ticket.as_deref().filter(|t| room.private && super::access::ticket_chars(t)).map(|t| format!("?ticket={t}")).unwrap_or_default();
    ll_file(&cx, &id, Some(&rung), &file, &t, room.private, &query).await.unwrap_or_else(|| Err(not_found()))
}

/// How long a blocking playlist request or a preload-hinted part may wait.
const LL_WAIT: std::time::Duration = std::time::Duration::from_secs(4);

/// The low-latency HLS files ([`super::llhls`]), served from memory; None
/// for any other name.
async fn ll_file(cx: &LiveCtx, id: &str, rung: Option<&str>, file: &str, q: &TicketQuery, private: bool, query: &str) -> Option<Result<Response, LiveError>> {
    use super::llhls::{parse_name, Lookup};
    let named = parse_name(file);
    if !matches!(file, "index.m3u8" | "ll.m3u8" | "init.mp4") && named.is_none() {
        return None;
    }
    let not_live = || Some(Err(err(ErrorCode::NotFound, "the room is not live")));
    let fan = match rung {
        None => cx.live.fanout(id),
        Some(r) => cx.live.rungs(id).into_iter().find(|(x, _)| x.name == r).map(|(_, f)| f),
    };
    let Some(fan) = fan else { return not_live() };
    let (immutable, playlist) = if private { ("private, max-age=31536000, immutable", "private, max-age=1") } else { ("public, max-age=31536000, immutable", "public, max-age=1") };
    let reply = |ctype: &'static str, cache: &'static str, body: axum::body::Body| -> Option<Result<Response, LiveError>> {
        Some(Ok(([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, cache), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], body).into_response()))
    };
    let mut changes = fan.ll_changes();
    let deadline = tokio::time::Instant::now() + LL_WAIT;
    // Waits for the next change; false once the wait is over.
    let mut next = async || tokio::time::timeout_at(deadline, changes.changed()).await.is_ok_and(|r| r.is_ok());
    match file {
        "index.m3u8" if rung.is_none() => {
            use super::llhls::Variant;
            let size = fan.size();
            let mut variants = vec![Variant { uri: "ll.m3u8".into(), name: "source".into(), bandwidth: fan.ll().bandwidth(), size, mime: fan.mp4_mime() }];
            // Rungs never above the source (a taller one is not made).
            for (r, f) in cx.live.rungs(id).into_iter().filter(|(r, _)| size.is_none_or(|(_, h)| r.height < h)) {
                let bandwidth = Some(f.ll().bandwidth()).filter(|b| *b > 0).unwrap_or(u64::from(r.kbps) * 1000 * 11 / 10);
                let (size, mime) = if r.height == 0 {
                    (None, Some("audio/mp4; codecs=\"mp4a.40.2\"".to_string()))
                } else {
                    let scaled = size.map(|(w, h)| super::ladder::scaled(w, h, r.height));
                    (f.size().or(scaled), f.mp4_mime().or(fan.mp4_mime()))
                };
                variants.push(Variant { uri: format!("{}/ll.m3u8", r.name), name: r.name.into(), bandwidth, size, mime });
            }
            let text = super::llhls::multivariant(&variants, query);
            reply("application/vnd.apple.mpegurl", playlist, text.into())
        }
        "index.m3u8" => None,
        "ll.m3u8" => {
            if let Some(msn) = q.hls_msn {
                if fan.ll().too_far(msn) {
                    return Some(Err(err(ErrorCode::Invalid, "_HLS_msn is more than two segments ahead")));
                }
                while !fan.ll().has(msn, q.hls_part) {
                    if !next().await {
                        break;
                    }
                }
            } else {
                // A new live's first whole segment is a GOP away.
                while !fan.ll().ready() {
                    if !next().await {
                        break;
                    }
                }
            }
            let text = fan.ll().media_playlist(query);
            reply("application/vnd.apple.mpegurl", playlist, text.into())
        }
        "init.mp4" => match fan.ll().init_segment() {
            Some(b) => reply("video/mp4", immutable, b.into()),
            None => not_live(),
        },
        _ => {
            let (msn, part) = named?;
            loop {
                let found = match part {
                    Some(n) => fan.ll().part(msn, n),
                    None => fan.ll().segment(msn),
                };
                match found {
                    Lookup::Ready(b) => return reply("video/iso.segment", immutable, b.into()),
                    Lookup::Soon if next().await => continue,
                    _ => return Some(Err(err(ErrorCode::NotFound, "no such part or segment (it left the playlist's window, or never came)"))),
                }
            }
        }
    }
}

/// A file of at most `max` bytes as text, or None.
async fn read_small(path: &std::path::Path, max: u64) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let f = tokio::fs::File::open(path).await.ok()?;
    let mut text = String::new();
    f.take(max).read_to_string(&mut text).await.ok()?;
    Some(text)
}

/// `path` answered by `ServeFile` for `req` (its Range and conditional
/// headers); None when the file is not there (a segment that just left the
/// playlist's window, a replay never made).
async fn serve_file(path: std::path::PathBuf, req: axum::extract::Request) -> Option<Response> {
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return None;
    }
    use tower::ServiceExt;
    let res = tower_http::services::ServeFile::new(path).oneshot(req).await.ok()?;
    Some(res.map(axum::body::Body::new))
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names() {
        assert!(super::safe_name("seg00001.ts"));
        assert!(!super::safe_name(".."));
        assert!(!super::safe_name("a/b"));
        assert!(!super::safe_name(""));
    }
}

async fn replays(State(cx): State<LiveCtx>, headers: HeaderMap, Query(t): Query<TicketQuery>, Path(id): Path<String>) -> Result<impl IntoResponse, LiveError> {
    let i = id.clone();
    off(&cx, move |cx| watchable(cx, &headers, t.ticket.as_deref(), &i, "no such room")).await?;
    let root = cx.live.replays_dir();
    let list: Vec<ReplayInfo> = tokio::task::spawn_blocking(move || super::replay::list(&root, &id)).await.unwrap_or_default();
    Ok(axum::Json(list))
}

/// A finished replay, served by tower-http's `ServeFile`: Range (206, and
/// 416 for a range past the end), conditional requests, streamed from disk.
async fn replay_file(State(cx): State<LiveCtx>, headers: HeaderMap, Query(t): Query<TicketQuery>, Path((id, file)): Path<(String, String)>, req: axum::extract::Request) -> Result<Response, LiveError> {
    let not_found = || err(ErrorCode::NotFound, "no such replay");
    if !safe_name(&id) || !safe_name(&file) || !file.ends_with(".mp4") {
        return Err(not_found());
    }
    // Replays of a room that no longer exists are nobody's to watch.
    let i = id.clone();
    off(&cx, move |cx| watchable(cx, &headers, t.ticket.as_deref(), &i, "no such replay")).await?;
    let mut res = serve_file(cx.live.replays_dir().join(&id).join(&file), req).await.ok_or_else(not_found)?;
    res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, axum::http::HeaderValue::from_static("*"));
    Ok(res)
}

/// A low-latency stream: (FLV: the file header,) the headers or init
/// segment and the current GOP, then every tag or fragment as it arrives,
/// until the live ends or the viewer falls more than the fan-out's queue
/// behind (it reconnects and starts again at the latest keyframe).
pub(super) fn low_latency_stream(cx: &LiveCtx, id: &str, format: Format) -> Option<Response> {
    stream_of(cx.live.fanout(id)?, format)
}

fn stream_of(fan: std::sync::Arc<super::fanout::Fanout>, format: Format) -> Option<Response> {
    let (first, rx) = fan.join(format);
    let ctype = match format {
        Format::Flv => "video/x-flv".to_string(),
        Format::Mp4 => fan.mp4_mime().unwrap_or_else(|| "video/mp4".into()),
    };
    drop(fan);
    let file_header = (format == Format::Flv).then(|| Bytes::from_static(&super::fanout::FLV_HEADER));
    let head = file_header.into_iter().chain(first);
    let head = futures_util::stream::iter(head.map(Ok::<_, std::convert::Infallible>).collect::<Vec<_>>());
    let live = futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(t) => Some((Ok::<_, std::convert::Infallible>(t), rx)),
            // Lagged: this viewer is too slow; closed: the live ended.
            Err(_) => None,
        }
    });
    use futures_util::StreamExt;
    let body = axum::body::Body::from_stream(head.chain(live));
    Some(([(header::CONTENT_TYPE, ctype.as_str()), (header::CACHE_CONTROL, "no-cache"), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], body).into_response())
}
