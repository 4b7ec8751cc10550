//! The HTTP side: accounts, the RPC mirror of the socket requests,
//! attachments, health and metrics, and the WebSocket upgrade.

use crate::auth;
use crate::error::ApiError;
use crate::logic;
use crate::metrics::Metrics;
use crate::quota::{Quota, QuotaExceeded};
use crate::state::{now_ms, AppState};
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use onair_proto::{dm_peer, valid_conv_id, valid_username, Attachment, ErrorCode, Request};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;

/// The relay's routes; `oneshot` tests drive this without a port.
pub fn app(state: Arc<AppState>) -> Router {
    let upload_limit = state.limits.max_attachment_bytes as usize;
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/register", post(register))
        .route("/v1/login", post(login))
        .route("/v1/logout", post(logout))
        .merge(crate::account::routes())
        .route("/v1/rpc", post(rpc))
        // The handler reads the body itself, after its checks, up to the limit.
        .route("/v1/attachments", post(upload).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/v1/attachments/{id}", get(download))
        .route("/v1/ws", get(ws))
        .merge(crate::calls::web::routes())
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

/// An error as the HTTP API answers it: a status and `{code, message}`.
pub struct HttpError(pub ErrorCode, pub String);

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        let (c, m) = e.to_wire();
        HttpError(c, m)
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        Unauthorized | BadCredentials => StatusCode::UNAUTHORIZED,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        NotFound => StatusCode::NOT_FOUND,
        NotMember | NotOwner | Blocked | StrangerRefused | NotParticipant | BannedWord | Muted | Kicked => StatusCode::FORBIDDEN,
        NoSuchCall => StatusCode::NOT_FOUND,
        Busy | WrongState => StatusCode::CONFLICT,
        Offline => StatusCode::SERVICE_UNAVAILABLE,
        BadSdp => StatusCode::BAD_REQUEST,
        Taken | TooLate => StatusCode::CONFLICT,
        TooLarge | QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        BadFrame | UnknownType | UnsupportedVersion | Invalid => StatusCode::BAD_REQUEST,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<QuotaExceeded> for HttpError {
    fn from(e: QuotaExceeded) -> Self {
        HttpError(ErrorCode::QuotaExceeded, e.to_string())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = onair_proto::ErrorBody { code: self.0, message: self.1 };
        (status_of(self.0), axum::Json(body)).into_response()
    }
}

pub(crate) fn err(code: ErrorCode, m: impl Into<String>) -> HttpError {
    HttpError(code, m.into())
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HttpError> {
    serde_json::from_slice(body).map_err(|e| err(ErrorCode::BadFrame, format!("bad JSON body: {}", e.to_string().chars().take(120).collect::<String>())))
}

/// The user behind `Authorization: Bearer <token>`.
pub(crate) async fn bearer_user(state: &AppState, headers: &HeaderMap) -> Result<String, HttpError> {
    bearer(state, headers).await.map(|(user, _)| user)
}

/// The user behind the bearer token, and the token's hash.
pub(crate) async fn bearer(state: &AppState, headers: &HeaderMap) -> Result<(String, [u8; 32]), HttpError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| err(ErrorCode::Unauthorized, "missing bearer token"))?;
    let hash = auth::token_hash(token.trim());
    let now = now_ms();
    let user = state
        .store_call(move |s| s.token_user(&hash, now))
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| err(ErrorCode::Unauthorized, "invalid or expired token"))?;
    Ok((user, hash))
}

/// Prometheus text, for the operator only: `Authorization: Bearer` the
/// configured metrics token; without one configured, not served.
async fn metrics(State(state): State<Arc<AppState>>, headers: axum::http::HeaderMap) -> axum::response::Response {
    let Some(want) = state.metrics_token.get() else {
        return (StatusCode::NOT_FOUND, "metrics are off: start the relay with --metrics-token\n").into_response();
    };
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
    // Compared as hashes: equal length, so no early exit tells how much matched.
    if crate::auth::token_hash(given.trim()) != crate::auth::token_hash(&want.0) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "metrics need the relay's metrics token\n").into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render(state.hub.connections()) + &state.bus.metrics(&state.metrics)).into_response()
}

/// A signed-in session as register and login return it.
#[derive(Serialize, Deserialize, Debug)]
pub struct TokenResponse {
    pub user: String,
    pub token: String,
    pub expires_at: i64,
}

pub(crate) async fn issue_token(state: &AppState, user: &str) -> Result<TokenResponse, HttpError> {
    let (token, hash) = auth::new_token().map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let now = now_ms();
    let expires_at = now + state.limits.token_ttl_secs * 1000;
    let name = user.to_string();
    state.store_call(move |s| s.insert_token(&hash, &name, now, expires_at)).await.map_err(ApiError::from)?;
    Ok(TokenResponse { user: user.into(), token, expires_at })
}

pub(crate) fn peer_ip(ci: &Option<Extension<ConnectInfo<SocketAddr>>>) -> String {
    ci.as_ref().map(|Extension(ConnectInfo(a))| a.ip().to_string()).unwrap_or_else(|| "local".into())
}

async fn register(State(state): State<Arc<AppState>>, ci: Option<Extension<ConnectInfo<SocketAddr>>>, body: Bytes) -> Result<impl IntoResponse, HttpError> {
    Metrics::inc(&state.metrics.http_requests);
    let c: onair_proto::SignInBody = parse(&body)?;
    if !valid_username(&c.user) {
        return Err(err(ErrorCode::Invalid, "user names are 1-32 of a-z 0-9 _ . - starting with a letter or digit"));
    }
    if !onair_proto::PASSWORD_BYTES.contains(&c.password.len()) {
        return Err(err(ErrorCode::Invalid, "passwords are 8-1024 bytes"));
    }
    if !state.logins.allow_address(now_ms(), &peer_ip(&ci), state.limits.login_attempts_per_minute * 10) {
        Metrics::inc(&state.metrics.logins_rate_limited);
        return Err(err(ErrorCode::RateLimited, "too many attempts; wait a minute"));
    }
    let pw = c.password;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(|e| err(ErrorCode::Internal, format!("hashing task: {e}")))?
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let (name, now) = (c.user.clone(), now_ms());
    state.store_call(move |s| s.create_user(&name, &hash, now)).await.map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, axum::Json(issue_token(&state, &c.user).await?)))
}

async fn login(State(state): State<Arc<AppState>>, ci: Option<Extension<ConnectInfo<SocketAddr>>>, body: Bytes) -> Result<impl IntoResponse, HttpError> {
    Metrics::inc(&state.metrics.http_requests);
    let c: onair_proto::SignInBody = parse(&body)?;
    let now = now_ms();
    let per = state.limits.login_attempts_per_minute;
    let wrong = || err(ErrorCode::BadCredentials, "wrong user name or password");
    // The owner's device shows a live token of this account: guessing by
    // others never slows or refuses it (auth::LoginLimiter).
    let device = match c.device_token.as_deref() {
        Some(t) if valid_username(&c.user) && t.len() <= 128 => {
            let h = auth::token_hash(t.trim());
            (state.store_call(move |s| s.token_user(&h, now)).await.map_err(ApiError::from)?.as_deref() == Some(c.user.as_str())).then_some(h)
        }
        _ => None,
    };
    let delay_ms = match state.logins.check_login(now, &peer_ip(&ci), &c.user, device.as_ref(), per) {
        Ok(d) => d,
        // No account has such a name: nothing was stored, nothing to check.
        Err(auth::LoginRefusal::BadName) => {
            Metrics::inc(&state.metrics.logins_failed);
            return Err(wrong());
        }
        Err(auth::LoginRefusal::Limited) => {
            Metrics::inc(&state.metrics.logins_rate_limited);
            return Err(err(ErrorCode::RateLimited, "too many log-in attempts from here; wait a minute"));
        }
    };
    // With several nodes, the same limits count attempts on all of them.
    let delay_ms = match state.bus.login_check(&peer_ip(&ci), &c.user, device.as_ref(), per).await {
        Ok(shared) => delay_ms.max(shared),
        Err(crate::bus::Limited) => {
            Metrics::inc(&state.metrics.logins_rate_limited);
            return Err(err(ErrorCode::RateLimited, "too many log-in attempts from here; wait a minute"));
        }
    };
    if delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
    }
    let name = c.user.clone();
    let row = state.store_call(move |s| s.user(&name)).await.map_err(ApiError::from)?;
    // Verify against a real hash even for unknown users, so timing does not
    // tell which names exist.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$R1Q0s3H1Ci6QzZpTf7X8hS1mH0zyWZbLx5c5kXQxk2A";
    let phc = row.as_ref().map(|r| r.pw_hash.clone()).unwrap_or_else(|| DUMMY.into());
    let pw = c.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&phc, &pw)).await.unwrap_or(false);
    if !ok || row.is_none() {
        Metrics::inc(&state.metrics.logins_failed);
        state.logins.login_failed(now_ms(), &c.user);
        state.bus.login_failed(&c.user);
        return Err(wrong());
    }
    Ok(axum::Json(issue_token(&state, &c.user).await?))
}

/// Revokes the token, then closes the sockets already open with it.
async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<impl IntoResponse, HttpError> {
    let (user, hash) = bearer(&state, &headers).await?;
    state.store_call(move |s| s.revoke_token(&hash)).await.map_err(ApiError::from)?;
    state.sockets.close_token(&user, &hash, crate::signout::SignedOut::LoggedOut);
    Ok(StatusCode::NO_CONTENT)
}

async fn rpc(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<impl IntoResponse, HttpError> {
    Metrics::inc(&state.metrics.http_requests);
    let me = bearer_user(&state, &headers).await?;
    let req: Request = parse(&body)?;
    // Call ops answered here and the session logic both read the store:
    // one trip through the seam.
    let st = state.clone();
    let handled = state
        .blocking(move || match crate::calls::direct(&st, &me, now_ms(), &req) {
            Some(r) => r.map(|response| logic::Handled { response, events: Vec::new() }),
            None => st.with_ctx(|ctx| logic::handle(ctx, &me, now_ms(), req)),
        })
        .await
        .map_err(ApiError::from)??;
    for (users, ev) in handled.events {
        crate::ws::publish(&state, &users, ev);
    }
    Ok(axum::Json(handled.response))
}

#[derive(Deserialize)]
struct UploadQuery {
    conv: String,
    name: String,
}

/// May `me` see files of `conv`? Members may; so may either party of a 1:1
/// conversation not created yet (its first message may carry the file).
async fn may_use_conv(state: &AppState, conv: &str, me: &str) -> Result<bool, HttpError> {
    if !valid_conv_id(conv) {
        return Ok(false);
    }
    if dm_peer(conv, me).is_some() {
        return Ok(true);
    }
    let (conv, me) = (conv.to_string(), me.to_string());
    Ok(state.store_call(move |s| s.is_member(&conv, &me)).await.map_err(ApiError::from)?)
}

/// An upload is checked before a byte of its body is read: the token, the
/// conversation (a member of the group, or one end of a DM with a user who
/// exists), the name; then the body is read up to the size limit. The
/// relay, not the sender, says what the file is (its size as stored, its
/// type from its first bytes).
async fn upload(State(state): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<UploadQuery>, body: axum::body::Body) -> Result<impl IntoResponse, HttpError> {
    Metrics::inc(&state.metrics.http_requests);
    let me = bearer_user(&state, &headers).await?;
    if !may_use_conv(&state, &q.conv, &me).await? {
        return Err(err(ErrorCode::NotMember, "not a member of that conversation"));
    }
    if let Some(peer) = dm_peer(&q.conv, &me) {
        let name = peer.to_string();
        if peer != me && state.store_call(move |s| s.user(&name)).await.map_err(ApiError::from)?.is_none() {
            return Err(err(ErrorCode::NotFound, format!("no user {peer}")));
        }
    }
    let name: String = q.name.chars().filter(|c| !c.is_control() && *c != '/' && *c != '\\').take(200).collect();
    if name.is_empty() {
        return Err(err(ErrorCode::Invalid, "file name required"));
    }
    let Some(dir) = &state.files else { return Err(err(ErrorCode::Internal, "attachments are not enabled")) };
    let limit = state.limits.max_attachment_bytes;
    let too_large = || err(ErrorCode::TooLarge, format!("attachments are at most {} MiB", limit / (1024 * 1024)));
    let announced = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    // Quotas: refused before the body when the length it announces would
    // not fit; until it is stored, the most it may bring counts as used.
    let quota = Quota { per_day: state.limits.upload_bytes_per_day, total: state.limits.upload_bytes_total };
    let usage = || state.store.upload_usage(&me, now_ms()).map_err(|e| HttpError::from(ApiError::from(e)));
    // The quota check reads the store under the in-flight lock (and the
    // insert below runs under it too), so it cannot hop to the blocking
    // pool with that borrow: it blocks in place, off the runtime's workers.
    let hold = crate::store::off_runtime(|| state.uploads.start(&me, announced.unwrap_or(0), announced.unwrap_or(limit), quota, usage))?;
    let body = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await.map_err(|_| too_large())?;
    let mime = sniff_mime(&body).to_string();
    let id = auth::random_hex(16).map_err(|e| err(ErrorCode::Internal, e.to_string()))?;
    let tmp = dir.join(format!("{id}.part"));
    let write = async {
        tokio::fs::write(&tmp, &body).await?;
        tokio::fs::rename(&tmp, dir.join(&id)).await
    };
    if let Err(e) = write.await {
        tracing::error!(error = %e, "attachment write failed");
        return Err(err(ErrorCode::Internal, "could not store the file"));
    }
    let row = crate::store::AttachmentRow { id: id.clone(), conv: q.conv, owner: me.clone(), name: name.clone(), mime: mime.clone(), size: body.len() as u64 };
    let stored = crate::store::off_runtime(|| state.uploads.finish(hold, row.size, quota, usage, || state.store.insert_attachment(&row, now_ms()).map_err(|e| HttpError::from(ApiError::from(e)))));
    if stored.is_err() {
        let _ = tokio::fs::remove_file(dir.join(&id)).await;
    }
    stored?;
    Ok((StatusCode::CREATED, axum::Json(Attachment { id, name, size: row.size, mime })))
}

async fn download(State(state): State<Arc<AppState>>, headers: HeaderMap, Path(id): Path<String>) -> Result<impl IntoResponse, HttpError> {
    Metrics::inc(&state.metrics.http_requests);
    let me = bearer_user(&state, &headers).await?;
    let not_found = || err(ErrorCode::NotFound, "no such attachment");
    if id.len() != 32 || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let row = state.store_call(move |s| s.attachment(&id)).await.map_err(ApiError::from)?.ok_or_else(not_found)?;
    if !may_use_conv(&state, &row.conv, &me).await? {
        return Err(not_found());
    }
    let Some(dir) = &state.files else { return Err(not_found()) };
    let bytes = tokio::fs::read(dir.join(&row.id)).await.map_err(|_| not_found())?;
    Ok((
        [
            (header::CONTENT_TYPE, row.mime),
            // Never rendered by a browser as something else, never inline.
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CONTENT_DISPOSITION, content_disposition(&row.name)),
        ],
        bytes,
    ))
}

/// `attachment; filename="…"` with an ASCII fallback and the real name in
/// RFC 5987 form.
fn content_disposition(name: &str) -> String {
    let ascii: String = name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// What a file is, from its first bytes; anything unknown is plain bytes.
pub fn sniff_mime(b: &[u8]) -> &'static str {
    let at = |off: usize, sig: &[u8]| b.len() >= off + sig.len() && &b[off..off + sig.len()] == sig;
    if at(0, b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if at(0, b"\xff\xd8\xff") {
        "image/jpeg"
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        "image/gif"
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        "image/webp"
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        "audio/wav"
    } else if at(4, b"ftyp") {
        "video/mp4"
    } else if at(0, b"\x1a\x45\xdf\xa3") {
        "video/webm"
    } else if at(0, b"OggS") {
        "audio/ogg"
    } else if at(0, b"ID3") || (b.len() >= 2 && b[0] == 0xff && b[1] & 0xe0 == 0xe0) {
        "audio/mpeg"
    } else if at(0, b"%PDF-") {
        "application/pdf"
    } else {
        "application/octet-stream"
    }
}

async fn ws(State(state): State<Arc<AppState>>, upgrade: WebSocketUpgrade) -> Response {
    let hard = state.limits.hard_frame_bytes;
    // Chat frames are small: 8 KiB buffers instead of tungstenite's 128 KiB
    // keep 20,000 idle sockets from costing gigabytes.
    upgrade
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(hard)
        .max_frame_size(hard)
        .on_upgrade(move |socket| crate::ws::run(state, socket))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_knows_the_allow_list_by_magic_bytes_only() {
        let riff = |kind: &[u8]| [b"RIFF\x10\0\0\0".as_slice(), kind, b"rest"].concat();
        let cases: &[(&[u8], &str)] = &[
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
            (b"GIF89a\x01\0", "image/gif"),
            (b"GIF87a", "image/gif"),
            (&riff(b"WEBP"), "image/webp"),
            (&riff(b"WAVE"), "audio/wav"),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", "video/mp4"),
            (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "video/webm"),
            (b"OggS\0\x02", "audio/ogg"),
            (b"ID3\x04\0\0", "audio/mpeg"),
            (b"\xff\xfb\x90\x64", "audio/mpeg"),
            (b"%PDF-1.7\n", "application/pdf"),
        ];
        for (bytes, mime) in cases {
            assert_eq!(sniff_mime(bytes), *mime, "{bytes:?}");
        }
        // What a sender might call an image but is not on the list, or is
        // cut short, is plain bytes: never text/html, never SVG.
        for b in [
            b"<html><script>alert(1)</script>".as_slice(),
            b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            b"\x89PNG\r\n",
            b"RIFF\0\0\0\0AVI ",
            b"RIFF",
            b"GIF8",
            b"",
            b"\xff",
        ] {
            assert_eq!(sniff_mime(b), "application/octet-stream", "{b:?}");
        }
    }

    #[test]
    fn content_disposition_is_always_an_attachment_with_a_safe_quoted_name() {
        assert_eq!(content_disposition("cat.png"), "attachment; filename=\"cat.png\"; filename*=UTF-8''cat.png");
        let h = content_disposition("a\"b\\c\r\nSet-Cookie: x=1;.html");
        assert!(h.starts_with("attachment; filename=\"a_b_c__Set-Cookie: x=1;.html\";"), "{h}");
        assert!(!h.contains('\r') && !h.contains('\n'), "{h}");
        assert!(axum::http::HeaderValue::from_str(&h).is_ok());
        let h = content_disposition("отчёт 1.pdf");
        assert!(h.contains("filename=\"_____ 1.pdf\"") && h.contains("filename*=UTF-8''%D0%BE"), "{h}");
    }
}
