//! The HTTP doors of cloud recording: `/v1/cloud/…` for the two
//! participants (bearer token), `/v1/recorder/…` for recorder workers
//! (the relay's `--recorder-token`). A recording of someone else's call
//! answers 404, as one that does not exist.

use super::{wire, Cloud};
use crate::error::ApiError;
use crate::http::{bearer_user, err, parse, HttpError};
use crate::state::{now_ms, AppState};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use onair_proto::cloud::*;
use onair_proto::ErrorCode;
use std::sync::Arc;

#[derive(Clone)]
pub struct Ctx {
    app: Arc<AppState>,
    cloud: Arc<Cloud>,
}

/// Bytes one `media` request may carry (a recorder sends ~1 s fragments).
const MEDIA_MAX: usize = 16 << 20;

pub fn routes(app: Arc<AppState>, cloud: Arc<Cloud>) -> Router {
    Router::new()
        .route("/v1/cloud/recordings", post(start).get(list))
        .route("/v1/cloud/recordings/{id}", get(show).delete(delete))
        .route("/v1/cloud/recordings/{id}/file", get(download))
        .route("/v1/cloud/recordings/{id}/stop", post(stop))
        .route("/v1/cloud/recordings/{id}/bookmarks", post(bookmark))
        .route("/v1/cloud/recordings/{id}/consent", post(consent))
        .route("/v1/cloud/recordings/{id}/pin", post(pin))
        .route("/v1/cloud/recordings/{id}/leg", post(leg))
        .route("/v1/cloud/consent", get(get_consent).put(set_consent))
        .route("/v1/cloud/live", get(live))
        .route("/v1/recorder/claim", post(claim))
        .route("/v1/recorder/jobs/{id}/media", post(media).layer(axum::extract::DefaultBodyLimit::max(MEDIA_MAX)))
        .route("/v1/recorder/jobs/{id}/fail", post(fail))
        .route("/v1/recorder/jobs/{id}/legs", get(next_leg))
        .route("/v1/recorder/jobs/{id}/legs/{leg}", post(answer_leg))
        .with_state(Ctx { app, cloud })
}

type R<T> = Result<T, HttpError>;

fn valid_id(id: &str) -> bool {
    id.len() == 17 && id.starts_with('r') && id[1..].bytes().all(|c| c.is_ascii_hexdigit())
}

/// The recording, if `user` took part in its call (audited as `action`).
async fn visible(c: &Ctx, user: &str, id: &str, action: &'static str) -> R<crate::store::CloudRow> {
    if !valid_id(id) {
        return Err(err(ErrorCode::NotFound, "no such recording"));
    }
    let (u, rid, now) = (user.to_string(), id.to_string(), now_ms());
    let row = c
        .app
        .store_call(move |s| {
            let row = s.cloud_get(&rid)?.filter(|r| r.caller == u || r.callee == u);
            // Refusals are audited too: someone tried.
            s.cloud_access(&rid, &u, if row.is_some() { action } else { "refused" }, now)?;
            Ok(row)
        })
        .await
        .map_err(ApiError::from)?;
    row.ok_or_else(|| err(ErrorCode::NotFound, "no such recording"))
}

async fn start(State(c): State<Ctx>, h: HeaderMap, body: Bytes) -> R<Json<CloudRecording>> {
    let user = bearer_user(&c.app, &h).await?;
    let req: StartCloudRecording = if body.is_empty() { StartCloudRecording::default() } else { parse(&body)? };
    Ok(Json(super::start(&c.app, &c.cloud, &user, req).await?))
}

async fn list(State(c): State<Ctx>, h: HeaderMap) -> R<Json<Vec<CloudRecording>>> {
    let user = bearer_user(&c.app, &h).await?;
    let now = now_ms();
    let rows = c
        .app
        .store_call(move |s| {
            let rows = s.cloud_list(&user)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                s.cloud_access(&r.id, &user, "list", now)?;
                let marks = s.cloud_bookmarks(&r.id)?;
                out.push(wire(&r, marks));
            }
            Ok(out)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(Json(rows))
}

async fn live(State(c): State<Ctx>, h: HeaderMap) -> R<Json<Vec<CloudRecording>>> {
    let user = bearer_user(&c.app, &h).await?;
    Ok(Json(c.cloud.live_for(&user)))
}

async fn show(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>) -> R<Json<CloudRecording>> {
    let user = bearer_user(&c.app, &h).await?;
    let row = visible(&c, &user, &id, "show").await?;
    let (marks, audit) = c.app.store_call(move |s| Ok((s.cloud_bookmarks(&id)?, s.cloud_accesses(&id)?))).await.map_err(ApiError::from)?;
    let mut r = wire(&row, marks);
    r.audit = audit.into_iter().map(|(user, action, at)| CloudAccess { user, action, at }).collect();
    Ok(Json(r))
}

async fn stop(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>) -> R<Json<CloudRecording>> {
    let user = bearer_user(&c.app, &h).await?;
    if !valid_id(&id) || !c.cloud.running_for(&id, &user) {
        return Err(err(ErrorCode::NotFound, "no running recording of yours by that id"));
    }
    Ok(Json(super::finish(&c.app, &c.cloud, &id, "done", &user, "stopped by a participant").await?))
}

async fn bookmark(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> R<StatusCode> {
    let user = bearer_user(&c.app, &h).await?;
    let b: NewCloudBookmark = if body.is_empty() { NewCloudBookmark::default() } else { parse(&body)? };
    if b.label.chars().count() > 200 {
        return Err(err(ErrorCode::TooLarge, "a bookmark label is at most 200 characters"));
    }
    let t_ms = c.cloud.elapsed(&id, &user)?;
    let m = crate::store::CloudMark { t_ms, by: user, label: b.label };
    c.app.store_call(move |s| s.cloud_bookmark(&id, &m)).await.map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn consent(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> R<StatusCode> {
    let user = bearer_user(&c.app, &h).await?;
    let a: CloudConsent = parse(&body)?;
    super::answer(&c.app, &c.cloud, &user, &id, a.accept).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn pin(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> R<StatusCode> {
    let user = bearer_user(&c.app, &h).await?;
    let p: CloudPin = parse(&body)?;
    visible(&c, &user, &id, if p.pinned { "pin" } else { "unpin" }).await?;
    c.app.store_call(move |s| s.cloud_pin(&id, p.pinned)).await.map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>) -> R<StatusCode> {
    let user = bearer_user(&c.app, &h).await?;
    let row = visible(&c, &user, &id, "delete").await?;
    if row.state == "recording" || row.state == "pending" {
        return Err(err(ErrorCode::WrongState, "stop the recording before deleting it"));
    }
    let _ = std::fs::remove_file(c.cloud.file(&id));
    c.app.store_call(move |s| s.cloud_delete(&id)).await.map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_consent(State(c): State<Ctx>, h: HeaderMap) -> R<Json<ConsentSetting>> {
    let user = bearer_user(&c.app, &h).await?;
    let a = c.app.store_call(move |s| s.recording_consent(&user)).await.map_err(ApiError::from)?;
    Ok(Json(ConsentSetting {
        answer: a.and_then(|a| a.parse().ok()).unwrap_or_default(),
    }))
}

async fn set_consent(State(c): State<Ctx>, h: HeaderMap, body: Bytes) -> R<Json<ConsentSetting>> {
    let user = bearer_user(&c.app, &h).await?;
    let s: ConsentSetting = parse(&body)?;
    let name = serde_json::to_value(s.answer).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    let now = now_ms();
    c.app
        .store_call(move |st| {
            st.set_recording_consent(&user, &name)?;
            st.cloud_access(&format!("user:{user}"), &user, &format!("consent {name}"), now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(Json(s))
}

/// `Range: bytes=A-B | A- | -N` against `len`: (start, end exclusive).
fn range(h: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(v) = h.get(header::RANGE) else { return Ok(None) };
    let v = v.to_str().map_err(|_| ())?.trim();
    let spec = v.strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(()); // one range only
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            (len.saturating_sub(n), len)
        }
        (a, "") => (a.parse().map_err(|_| ())?, len),
        (a, b) => {
            let (a, b): (u64, u64) = (a.parse().map_err(|_| ())?, b.parse().map_err(|_| ())?);
            (a, b.saturating_add(1).min(len))
        }
    };
    if start >= end || start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// The recording as plain MP4, decrypted on the fly, whole or one Range.
async fn download(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let user = match bearer_user(&c.app, &h).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let row = match visible(&c, &user, &id, "download").await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if row.state == "recording" || row.state == "pending" {
        return err(ErrorCode::WrongState, "the recording is still running: download it after it stops").into_response();
    }
    let key = match c.cloud.key(&row) {
        Ok(k) => k,
        Err(e) => return HttpError::from(e).into_response(),
    };
    let path = c.cloud.file(&id);
    let reader = match onair_vault::open(&path, &key) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(recording = %id, error = %e, "cannot open a recording");
            return err(ErrorCode::Internal, "the recording's file is damaged or missing").into_response();
        }
    };
    let len = reader.len();
    let (start, end, status) = match range(&h, len) {
        Ok(None) => (0, len, StatusCode::OK),
        Ok(Some((s, e))) => (s, e, StatusCode::PARTIAL_CONTENT),
        Err(()) => return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{len}"))]).into_response(),
    };
    // A blocking thread decrypts chunk by chunk into a small queue: memory
    // stays a few chunks whatever the file's size.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let mut reader = reader;
    tokio::task::spawn_blocking(move || {
        let r = reader.read_range(start, end, |b| {
            tx.blocking_send(Ok(Bytes::copy_from_slice(b))).map_err(|_| std::io::Error::other("client went away").into())
        });
        if let Err(e) = r {
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    let hs = resp.headers_mut();
    hs.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("video/mp4"));
    hs.insert(header::ACCEPT_RANGES, header::HeaderValue::from_static("bytes"));
    hs.insert(header::CONTENT_LENGTH, header::HeaderValue::from(end - start));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = header::HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1)) {
            hs.insert(header::CONTENT_RANGE, v);
        }
    }
    resp
}

fn recorder(c: &Ctx, h: &HeaderMap) -> R<()> {
    let given = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
    if c.cloud.recorder_ok(given.trim()) {
        Ok(())
    } else {
        Err(err(ErrorCode::Unauthorized, "recorder workers need the relay's --recorder-token"))
    }
}

async fn claim(State(c): State<Ctx>, h: HeaderMap) -> Response {
    if let Err(e) = recorder(&c, &h) {
        return e.into_response();
    }
    match c.cloud.claim() {
        Some(job) => {
            super::watch_worker(&c.app, &c.cloud, &job.id);
            Json(job).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn media(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> R<StatusCode> {
    recorder(&c, &h)?;
    super::append(&c.app, &c.cloud, &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The worker gives up on a job; the body, if any, is its reason (plain
/// text, cut to 200 characters) for the audit.
async fn fail(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> R<StatusCode> {
    recorder(&c, &h)?;
    let reason: String = String::from_utf8_lossy(&body).chars().filter(|c| !c.is_control()).take(200).collect();
    let why = if reason.is_empty() { "the recorder failed".to_string() } else { format!("the recorder failed: {reason}") };
    super::finish(&c.app, &c.cloud, &id, "failed", "recorder", &why).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A participant's media leg to the recorder, WHIP-style: the body is a
/// complete SDP offer (ICE gathering finished), the answer comes back as
/// `201 application/sdp` once the job's worker made it, or 504.
async fn leg(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let user = match bearer_user(&c.app, &h).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if !valid_id(&id) {
        return err(ErrorCode::NotFound, "no such recording").into_response();
    }
    let side = match c.cloud.leg_side(&id, &user) {
        Ok(s) => s,
        Err(e) => return HttpError::from(e).into_response(),
    };
    let Ok(sdp) = String::from_utf8(body.to_vec()) else {
        return err(ErrorCode::BadSdp, "the offer is not UTF-8 text").into_response();
    };
    if !sdp.starts_with("v=0") || !sdp.contains("m=") {
        return err(ErrorCode::BadSdp, "the body must be an SDP offer").into_response();
    }
    let Some((leg_id, rx)) = c.cloud.legs.offer(&id, side, &user, sdp) else {
        return err(ErrorCode::RateLimited, "too many media legs waiting for this recording").into_response();
    };
    tracing::info!(recording = %id, side, leg = %leg_id, "a media leg for the recorder");
    match tokio::time::timeout(super::legs::ANSWER_WITHIN, rx).await {
        Ok(Ok(answer)) => (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/sdp")], answer).into_response(),
        _ => {
            c.cloud.legs.forget(&leg_id);
            (StatusCode::GATEWAY_TIMEOUT, Json(onair_proto::ErrorBody { code: ErrorCode::Offline, message: "no recorder answered the media leg in time".into() })).into_response()
        }
    }
}

/// A worker's long poll for the next leg of a job it claimed: 200 with
/// the leg, or 204 after a while without one, or 404 once the job ended.
async fn next_leg(State(c): State<Ctx>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(e) = recorder(&c, &h) {
        return e.into_response();
    }
    if !valid_id(&id) || !c.cloud.claimed(&id) {
        return err(ErrorCode::NotFound, "no such job (it ended, or was not claimed)").into_response();
    }
    match c.cloud.legs.next(&id).await {
        Some(l) => Json(l).into_response(),
        None if c.cloud.claimed(&id) => StatusCode::NO_CONTENT.into_response(),
        None => err(ErrorCode::NotFound, "the job ended").into_response(),
    }
}

/// The worker's answer SDP to a leg.
async fn answer_leg(State(c): State<Ctx>, h: HeaderMap, Path((id, leg)): Path<(String, String)>, body: Bytes) -> R<StatusCode> {
    recorder(&c, &h)?;
    if !valid_id(&id) || !c.cloud.claimed(&id) {
        return Err(err(ErrorCode::NotFound, "no such job (it ended, or was not claimed)"));
    }
    let sdp = String::from_utf8(body.to_vec()).map_err(|_| err(ErrorCode::BadSdp, "the answer is not UTF-8 text"))?;
    if c.cloud.legs.answer(&leg, sdp) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(err(ErrorCode::NotFound, "nobody waits for that leg any more"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::RANGE, v.parse().unwrap());
        m
    }

    #[test]
    fn ranges_parse_and_bad_ones_are_refused() {
        assert_eq!(range(&HeaderMap::new(), 100), Ok(None));
        assert_eq!(range(&h("bytes=0-9"), 100), Ok(Some((0, 10))));
        assert_eq!(range(&h("bytes=90-"), 100), Ok(Some((90, 100))));
        assert_eq!(range(&h("bytes=-10"), 100), Ok(Some((90, 100))));
        assert_eq!(range(&h("bytes=50-1000"), 100), Ok(Some((50, 100))));
        for bad in ["bytes=100-", "bytes=5-1", "bytes=0-1,5-6", "items=0-1", "bytes=x-1", "bytes=-0", "bytes=18446744073709551615-"] {
            assert_eq!(range(&h(bad), 100), Err(()), "{bad}");
        }
    }

    #[test]
    fn ids_are_checked_before_any_store_work() {
        assert!(valid_id("r0123456789abcdef"));
        for bad in ["r0123", "x0123456789abcdef", "r0123456789abcdeg", "../../relay.db", "r0123456789abcdef0"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
