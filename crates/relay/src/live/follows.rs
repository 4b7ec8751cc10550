//! Followers, go-live notices and room covers (issue 17).
//!
//! A signed-in user follows a streamer (`PUT /v1/follows/users/NAME`) or
//! one room (`PUT /v1/follows/rooms/ID`). When a room goes live, the ingest
//! asks the store whether this go-live deserves a notice (one per go-live:
//! an ingest reconnecting within `live_notice_grace_secs` is the same live;
//! the store decides atomically, so nodes sharing it agree) and sends
//! `room_live` to every follower's sockets, on every node, except those
//! who may not watch the room (a private room's non-members) and those
//! who blocked, or were blocked by, its owner. A follower offline then
//! finds the room in `GET /v1/follows`'s `live` while it is on air.
//!
//! A room's cover is a PNG, JPEG or WebP picture its owner uploads
//! (`PUT /v1/rooms/ID/cover`), checked by decoding it, kept in the store
//! (every node serves it) and served with its own type and `nosniff`.

use super::routes::{bearer_user, err, off, owned_room, LiveCtx, LiveError};
use crate::state::{now_ms, AppState};
use crate::store::follows::{room_target, user_target, Cover};
use crate::store::{RoomRow, Store};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use onair_proto::{ErrorCode, Event, FollowState, Following, RoomInfo};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

pub fn routes(max_cover: usize) -> Router<LiveCtx> {
    Router::new()
        .route("/v1/follows", get(following))
        .route("/v1/follows/users/{name}", put(follow_user).delete(unfollow_user))
        .route("/v1/follows/rooms/{id}", put(follow_room).delete(unfollow_room))
        // The limit is the cover's plus room for a multipart-free body's slack.
        .route("/v1/rooms/{id}/cover", get(cover).put(set_cover).layer(DefaultBodyLimit::max(max_cover + 1)))
}

/// Sets the room's follower count and cover path on `i` (`stamp`: when its
/// cover was set, if it has one).
pub(super) fn decorate(store: &dyn Store, i: &mut RoomInfo, r: &RoomRow, stamp: Option<i64>) -> Result<(), LiveError> {
    i.followers = followers_of_room(store, r)?.len() as u32;
    i.has_cover = stamp.is_some();
    i.cover_path = match stamp {
        Some(v) => format!("/v1/rooms/{}/cover?v={v}", r.id),
        None => format!("/v1/rooms/{}/cover", r.id),
    };
    Ok(())
}

/// Everyone who follows the room or its owner.
fn followers_of_room(store: &dyn Store, r: &RoomRow) -> Result<BTreeSet<String>, LiveError> {
    let mut set: BTreeSet<String> = store.followers(&user_target(&r.owner))?.into_iter().collect();
    set.extend(store.followers(&room_target(&r.id))?);
    set.remove(&r.owner);
    Ok(set)
}

/// When each room's cover was set.
pub(super) fn stamps(store: &dyn Store) -> Result<HashMap<String, i64>, LiveError> {
    Ok(store.cover_stamps()?.into_iter().collect())
}

fn blocked_either_way(store: &dyn Store, a: &str, b: &str) -> Result<bool, LiveError> {
    Ok(store.blocks(a, b)? || store.blocks(b, a)?)
}

/// Who gets `room_live` for `r`: its followers who may watch it and
/// neither blocked nor were blocked by its owner.
pub fn recipients(store: &dyn Store, r: &RoomRow) -> Result<Vec<String>, LiveError> {
    let mut out = Vec::new();
    for u in followers_of_room(store, r)? {
        if blocked_either_way(store, &r.owner, &u)? {
            continue;
        }
        if r.private && !store.is_room_member(&r.id, &u)? {
            continue;
        }
        out.push(u);
    }
    Ok(out)
}

/// The ingest accepted a publisher for `r`: notify its followers unless
/// this go-live was notified already (a reconnect). Runs off the workers.
pub fn went_live(app: Arc<AppState>, r: RoomRow) {
    tokio::spawn(async move {
        let a = app.clone();
        let grace = app.limits.live_notice_grace_secs.max(0) * 1000;
        let res = app
            .blocking(move || -> Result<Vec<String>, LiveError> {
                if !a.store.claim_live_notice(&r.id, now_ms(), grace)? {
                    return Ok(Vec::new());
                }
                let to = recipients(a.store.as_ref(), &r)?;
                let ev = Event::RoomLive { room: r.id.clone(), owner: r.owner.clone(), title: r.title.clone(), category: r.category.clone() };
                tracing::info!(room = %r.id, followers = to.len(), "go-live notice sent");
                crate::ws::publish(&a, &to, ev);
                Ok(to)
            })
            .await;
        match res {
            Ok(Ok(_)) => {}
            Ok(Err(LiveError(_, m))) => tracing::warn!("go-live notice: {m}"),
            Err(e) => tracing::warn!("go-live notice: {e}"),
        }
    });
}

/// `room`'s live ended (remembered, so a quick return is a reconnect).
pub fn live_ended(app: Arc<AppState>, room: String) {
    tokio::spawn(async move {
        let a = app.clone();
        match app.blocking(move || a.store.note_live_ended(&room, now_ms())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) | Err(e) => tracing::warn!("recording a live's end: {e}"),
        }
    });
}

async fn following(State(cx): State<LiveCtx>, headers: HeaderMap) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| following_of(cx, &headers)).await?))
}

fn following_of(cx: &LiveCtx, headers: &HeaderMap) -> Result<Following, LiveError> {
    let me = bearer_user(&cx.app, headers)?;
    let store = cx.app.store.as_ref();
    let follows = store.following(&me)?;
    let stamps = stamps(store)?;
    let mut live = Vec::new();
    for r in store.rooms()? {
        let followed = follows.iter().any(|t| *t == user_target(&r.owner) || *t == room_target(&r.id));
        if !followed || r.owner == me || !super::access::listed_for(cx, &r, Some(&me)) || blocked_either_way(store, &me, &r.owner)? {
            continue;
        }
        let mut i = super::routes::info(&cx.app, &cx.live, &r);
        if i.live {
            decorate(store, &mut i, &r, stamps.get(&r.id).copied())?;
            live.push(i);
        }
    }
    Ok(Following { follows, live })
}

enum Target {
    User(String),
    Room(String),
}

async fn follow_user(State(cx): State<LiveCtx>, headers: HeaderMap, Path(name): Path<String>) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| set_follow(cx, &headers, Target::User(name), true)).await?))
}

async fn unfollow_user(State(cx): State<LiveCtx>, headers: HeaderMap, Path(name): Path<String>) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| set_follow(cx, &headers, Target::User(name), false)).await?))
}

async fn follow_room(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| set_follow(cx, &headers, Target::Room(id), true)).await?))
}

async fn unfollow_room(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>) -> Result<impl IntoResponse, LiveError> {
    Ok(axum::Json(off(&cx, move |cx| set_follow(cx, &headers, Target::Room(id), false)).await?))
}

fn set_follow(cx: &LiveCtx, headers: &HeaderMap, t: Target, on: bool) -> Result<FollowState, LiveError> {
    let me = bearer_user(&cx.app, headers)?;
    let store = cx.app.store.as_ref();
    let (target, owner) = match &t {
        Target::User(name) => {
            if !onair_proto::valid_username(name) || store.user(name)?.is_none() {
                return Err(err(ErrorCode::NotFound, "no such user"));
            }
            (user_target(name), name.clone())
        }
        Target::Room(id) => {
            // A private room the caller may not see does not exist for them.
            let r = store.room(id)?.filter(|r| super::access::listed_for(cx, r, Some(&me))).ok_or_else(|| err(ErrorCode::NotFound, "no such room"))?;
            (room_target(&r.id), r.owner)
        }
    };
    if on {
        if owner == me {
            return Err(err(ErrorCode::Invalid, "you cannot follow yourself"));
        }
        if blocked_either_way(store, &me, &owner)? {
            return Err(err(ErrorCode::Blocked, &format!("you cannot follow {owner}: one of you blocked the other")));
        }
        if store.follow(&me, &target, now_ms())? {
            tracing::info!(follower = %me, %target, "followed");
        }
    } else {
        store.unfollow(&me, &target)?;
    }
    let followers = match &t {
        Target::Room(id) => match store.room(id)? {
            Some(r) => followers_of_room(store, &r)?.len(),
            None => 0,
        },
        Target::User(_) => store.followers(&target)?.len(),
    } as u32;
    Ok(FollowState { following: on, target, followers })
}

/// What a cover is, by its first bytes.
fn sniff(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The smallest and largest side a cover may have, and the widest aspect.
const MIN_SIDE: u32 = 16;
const MAX_SIDE: u32 = 4096;
const MAX_ASPECT: u32 = 4;

/// The picture's type and size, or why it is not a cover. PNG and JPEG are
/// decoded whole (with memory limits); WebP's headers are parsed for its
/// size (the relay carries no WebP decoder; browsers and WebKit decode it
/// in their own sandboxed image code).
pub fn check_cover(b: &[u8]) -> Result<(&'static str, u32, u32), String> {
    let what = "a cover must be a PNG, JPEG or WebP picture";
    let mime = sniff(b).ok_or_else(|| what.to_string())?;
    let (w, h) = match mime {
        "image/webp" => webp_size(b).ok_or_else(|| "the WebP picture is damaged".to_string())?,
        _ => {
            let fmt = if mime == "image/png" { image::ImageFormat::Png } else { image::ImageFormat::Jpeg };
            let mut r = image::ImageReader::with_format(std::io::Cursor::new(b), fmt);
            let mut limits = image::Limits::default();
            limits.max_image_width = Some(MAX_SIDE);
            limits.max_image_height = Some(MAX_SIDE);
            limits.max_alloc = Some(256 * 1024 * 1024);
            r.limits(limits);
            let img = r.decode().map_err(|e| match e {
                image::ImageError::Limits(_) => format!("the picture is larger than {MAX_SIDE}×{MAX_SIDE}"),
                _ => format!("the picture cannot be read: {}", if mime == "image/png" { "a damaged PNG" } else { "a damaged JPEG" }),
            })?;
            (img.width(), img.height())
        }
    };
    if w < MIN_SIDE || h < MIN_SIDE || w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!("the picture is {w}×{h}; a cover is between {MIN_SIDE}×{MIN_SIDE} and {MAX_SIDE}×{MAX_SIDE}"));
    }
    if w > h * MAX_ASPECT || h > w * MAX_ASPECT {
        return Err(format!("the picture is {w}×{h}; a cover may be at most {MAX_ASPECT} times wider than tall, or taller than wide"));
    }
    Ok((mime, w, h))
}

/// Width and height from a WebP's RIFF chunks (VP8, VP8L or VP8X).
fn webp_size(b: &[u8]) -> Option<(u32, u32)> {
    let riff = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?) as usize;
    if riff.checked_add(8)? != b.len() || b.len() < 30 {
        return None;
    }
    let chunk = b.get(12..16)?;
    let d = b.get(20..30)?;
    let le24 = |x: &[u8]| u32::from(x[0]) | u32::from(x[1]) << 8 | u32::from(x[2]) << 16;
    match chunk {
        b"VP8 " => {
            // Frame tag (3 bytes), start code, then 14-bit width and height.
            if d[3..6] != [0x9d, 0x01, 0x2a] {
                return None;
            }
            let w = u32::from(u16::from_le_bytes([d[6], d[7]]) & 0x3fff);
            let h = u32::from(u16::from_le_bytes([d[8], d[9]]) & 0x3fff);
            Some((w, h))
        }
        b"VP8L" => {
            if d[0] != 0x2f {
                return None;
            }
            let bits = u32::from_le_bytes([d[1], d[2], d[3], d[4]]);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        b"VP8X" => Some((le24(&d[4..7]) + 1, le24(&d[7..10]) + 1)),
        _ => None,
    }
}

async fn set_cover(State(cx): State<LiveCtx>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<impl IntoResponse, LiveError> {
    let max = cx.app.limits.max_cover_bytes;
    let r = off(&cx, move |cx| {
        let r = owned_room(cx, &headers, &id)?;
        if body.len() > max {
            return Err(err(ErrorCode::TooLarge, &format!("a cover may be at most {} KiB", max / 1024)));
        }
        let (mime, w, h) = check_cover(&body).map_err(|m| err(ErrorCode::Invalid, &m))?;
        cx.app.store.set_room_cover(&r.id, &Cover { mime: mime.into(), bytes: body.to_vec(), updated_at: now_ms() })?;
        tracing::info!(room = %r.id, mime, w, h, bytes = body.len(), "room cover set");
        let stamps = stamps(cx.app.store.as_ref())?;
        let mut i = super::routes::info(&cx.app, &cx.live, &r);
        decorate(cx.app.store.as_ref(), &mut i, &r, stamps.get(&r.id).copied())?;
        Ok(i)
    })
    .await?;
    Ok(axum::Json(r))
}

/// The picture shown for a room without a cover.
const DEFAULT_COVER: &str = include_str!("../../static/default-cover.svg");

async fn cover(State(cx): State<LiveCtx>, headers: HeaderMap, Query(t): Query<super::access::TicketQuery>, Path(id): Path<String>) -> Result<Response, LiveError> {
    let (r, c) = off(&cx, move |cx| {
        let r = cx.app.store.room(&id)?.ok_or_else(|| err(ErrorCode::NotFound, "no such room"))?;
        super::access::may_watch(cx, &headers, t.ticket.as_deref(), &r)?;
        let c = cx.app.store.room_cover(&r.id)?;
        Ok((r, c))
    })
    .await?;
    let cache = if r.private { "private, max-age=60" } else { "public, max-age=60" };
    let (mime, body) = match c {
        Some(c) => (c.mime, c.bytes),
        None => ("image/svg+xml".to_string(), DEFAULT_COVER.as_bytes().to_vec()),
    };
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    // Opened alone (say, the SVG), a cover runs nothing.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_are_checked_by_their_content() {
        let mut png = Vec::new();
        image::RgbImage::from_pixel(64, 36, image::Rgb([200, 30, 30])).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        assert_eq!(check_cover(&png).unwrap(), ("image/png", 64, 36));
        assert!(check_cover(b"<svg onload=alert(1)>").unwrap_err().contains("PNG, JPEG or WebP"));
        assert!(check_cover(&png[..png.len() / 2]).is_err(), "a cut PNG is damaged");
        let mut tiny = Vec::new();
        image::RgbImage::new(4, 4).write_to(&mut std::io::Cursor::new(&mut tiny), image::ImageFormat::Png).unwrap();
        assert!(check_cover(&tiny).unwrap_err().contains("4×4"));
        let mut thin = Vec::new();
        image::RgbImage::new(400, 20).write_to(&mut std::io::Cursor::new(&mut thin), image::ImageFormat::Png).unwrap();
        assert!(check_cover(&thin).is_err());
        // A lossless WebP header claiming 320×180.
        let bits: u32 = (320 - 1) | (180 - 1) << 14;
        let mut w = b"RIFF\0\0\0\0WEBPVP8L\x0a\0\0\0\x2f".to_vec();
        w.extend_from_slice(&bits.to_le_bytes());
        w.extend_from_slice(&[0; 6]);
        let n = (w.len() - 8) as u32;
        w[4..8].copy_from_slice(&n.to_le_bytes());
        assert_eq!(check_cover(&w).unwrap(), ("image/webp", 320, 180));
        w.push(0);
        assert!(check_cover(&w).is_err(), "RIFF size must match");
        // Real files from FFmpeg (libwebp's lossy VP8, mjpeg), the fuzz corpus' seeds.
        assert_eq!(check_cover(include_bytes!("../../fuzz/corpus/cover/small.webp")).unwrap(), ("image/webp", 32, 18));
        assert_eq!(check_cover(include_bytes!("../../fuzz/corpus/cover/small.jpg")).unwrap(), ("image/jpeg", 32, 18));
    }
}
