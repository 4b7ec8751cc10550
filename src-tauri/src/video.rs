//! The loopback media server: video into the webview without Tauri IPC.
//!
//! One axum server on 127.0.0.1 (a random port) with a per-launch token the
//! page passes as `?token=` (WebSockets cannot carry headers from a page):
//!
//! - `GET /preview` (WebSocket): the Go live preview. Each binary message is
//!   one downscaled RGBA frame behind a 24-byte header (see
//!   [`encode_preview`]); the page puts it on a canvas. Only the newest frame
//!   is kept per client, so a slow page skips frames instead of lagging.
//! - `GET /call/remote`, `GET /call/local` (WebSocket): the other side's
//!   picture and our self-view during a call, in the preview's format.
//! - `GET /media/recordings/{id}`: a finished recording with Range support,
//!   for the `<video>` player (WebKitGTK plays H.264 MP4 via GStreamer). An
//!   encrypted one is decrypted on the fly, only the 64 KiB chunks a Range
//!   covers (`Library::open_plain`); nothing plain is written to disk.
//! - `GET /media/thumbs/{id}`: the recording's thumbnail (JPEG; made in
//!   memory for an encrypted recording).
//! - `GET /media/cloud/{id}`: a server recording, streamed from the relay
//!   (Range passed through) with the signed-in user's bearer token, which
//!   so never appears in a URL the page holds or a log.
//!
//! Measured on this machine (GUIDE.md): a loopback WebSocket moves 180–200
//! MB/s into WebKitGTK, IPC channels 46–60 MB/s.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use onair_media::library::Library;
use serde::Deserialize;
use tokio::sync::watch;

use crate::error::{AppError, AppResult};

/// One preview frame ready to send (header + RGBA), shared by all clients
/// (cloning `Bytes` shares the buffer).
pub type PreviewMsg = axum::body::Bytes;

/// The server's handle: where it listens, its token, and the preview feed.
pub struct VideoServer {
    pub port: u16,
    pub token: String,
    pub preview: watch::Sender<Option<PreviewMsg>>,
    /// The call's pictures: the other side's, and our self-view.
    pub call_remote: watch::Sender<Option<PreviewMsg>>,
    pub call_local: watch::Sender<Option<PreviewMsg>>,
    /// Set once the app is up: `/media/cloud` asks its chat session for
    /// the relay and token.
    pub app: Arc<std::sync::OnceLock<tauri::AppHandle>>,
}

#[derive(Clone)]
struct Ctx {
    token: Arc<str>,
    preview: watch::Receiver<Option<PreviewMsg>>,
    call_remote: watch::Receiver<Option<PreviewMsg>>,
    call_local: watch::Receiver<Option<PreviewMsg>>,
    library: Arc<Library>,
    thumbs: Arc<std::path::PathBuf>,
    app: Arc<std::sync::OnceLock<tauri::AppHandle>>,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// A fresh random token (128 bits, hex).
pub fn new_token() -> AppResult<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| AppError::Internal(format!("no randomness for the video token: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Compares without an early exit, so timing does not leak the token.
fn token_ok(expected: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Binds 127.0.0.1:0 now (so the port is known before the window opens) and
/// serves on the Tauri async runtime.
pub fn start(library: Arc<Library>, thumbs: std::path::PathBuf) -> AppResult<VideoServer> {
    let std_listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).map_err(|e| AppError::io("binding the loopback video server", e))?;
    std_listener.set_nonblocking(true).map_err(|e| AppError::io("configuring the loopback video server", e))?;
    let port = std_listener.local_addr().map_err(|e| AppError::io("loopback video server address", e))?.port();
    let token = new_token()?;
    let (tx, rx) = watch::channel(None);
    let (remote_tx, remote_rx) = watch::channel(None);
    let (local_tx, local_rx) = watch::channel(None);
    let app = Arc::new(std::sync::OnceLock::new());
    let ctx = Ctx { token: token.clone().into(), preview: rx, call_remote: remote_rx, call_local: local_rx, library, thumbs: Arc::new(thumbs), app: app.clone() };
    let router = Router::new()
        .route("/preview", get(preview_ws))
        .route("/call/{side}", get(call_ws))
        .route("/media/recordings/{id}", get(recording_file))
        .route("/media/thumbs/{id}", get(thumb_file))
        .route("/media/cloud/{id}", get(cloud_file))
        .with_state(ctx);
    tauri::async_runtime::spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => return tracing::error!("video server: {e}"),
        };
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("video server: {e}");
        }
    });
    Ok(VideoServer { port, token, preview: tx, call_remote: remote_tx, call_local: local_tx, app })
}

async fn preview_ws(State(ctx): State<Ctx>, Query(q): Query<TokenQuery>, ws: WebSocketUpgrade) -> Response {
    if !token_ok(&ctx.token, q.token.as_deref()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    ws.on_upgrade(move |socket| pump_preview(socket, ctx.preview)).into_response()
}

async fn call_ws(State(ctx): State<Ctx>, UrlPath(side): UrlPath<String>, Query(q): Query<TokenQuery>, ws: WebSocketUpgrade) -> Response {
    if !token_ok(&ctx.token, q.token.as_deref()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let rx = match side.as_str() {
        "remote" => ctx.call_remote,
        "local" => ctx.call_local,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ws.on_upgrade(move |socket| pump_preview(socket, rx)).into_response()
}

async fn pump_preview(mut socket: WebSocket, mut rx: watch::Receiver<Option<PreviewMsg>>) {
    rx.mark_changed();
    while rx.changed().await.is_ok() {
        let msg = rx.borrow_and_update().clone();
        if let Some(m) = msg {
            if socket.send(Message::Binary(m)).await.is_err() {
                return;
            }
        }
    }
}

/// Header of a preview message: width, height, sequence number, format
/// (1 = RGBA), then the capture time in Unix milliseconds (f64), all
/// little-endian; the RGBA bytes follow. `ui/src/lib/preview.ts` reads it.
pub const PREVIEW_HEADER: usize = 24;

pub fn encode_preview(width: u32, height: u32, seq: u32, captured_unix_ms: f64, rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREVIEW_HEADER + rgba.len());
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&captured_unix_ms.to_le_bytes());
    out.extend_from_slice(rgba);
    out
}

/// Parses `bytes=START-[END]` (one range) against a file of `len` bytes;
/// returns the inclusive range to send, or None when unsatisfiable.
pub fn parse_range(h: &str, len: u64) -> Option<(u64, u64)> {
    let spec = h.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len - 1)
    } else {
        let s: u64 = a.parse().ok()?;
        let e = if b.is_empty() { len - 1 } else { b.parse::<u64>().ok()?.min(len - 1) };
        (s, e)
    };
    (start <= end && start < len).then_some((start, end))
}

/// Largest body one response carries; players ask again for the rest.
const MAX_CHUNK: u64 = 4 << 20;

async fn serve_file(path: std::path::PathBuf, mime: &'static str, headers: &HeaderMap) -> Response {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut f = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    let len = match f.metadata().await {
        Ok(m) => m.len(),
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, len.saturating_sub(1)),
        Some(r) => match parse_range(r, len) {
            Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e.min(s + MAX_CHUNK - 1)),
            None => {
                return Response::builder()
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                    .body(Body::empty())
                    .unwrap_or_default()
            }
        },
    };
    let n = if len == 0 { 0 } else { end - start + 1 };
    let mut buf = vec![0u8; n as usize];
    if f.seek(std::io::SeekFrom::Start(start)).await.is_err() || f.read_exact(&mut buf).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut b = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, mime)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "no-store");
    if status == StatusCode::PARTIAL_CONTENT {
        b = b.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    }
    b.body(Body::from(buf)).unwrap_or_default()
}

async fn recording_file(State(ctx): State<Ctx>, UrlPath(id): UrlPath<i64>, Query(q): Query<TokenQuery>, headers: HeaderMap) -> Response {
    if !token_ok(&ctx.token, q.token.as_deref()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let lib = ctx.library.clone();
    let rec = tokio::task::spawn_blocking(move || lib.get(id)).await;
    match rec {
        Ok(Ok(r)) if r.state != "recording" && r.encrypted => serve_plain(ctx.library.clone(), id, &headers).await,
        Ok(Ok(r)) if r.state != "recording" => serve_file(r.path, "video/mp4", &headers).await,
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// An encrypted recording's plain bytes for one Range (at most
/// [`MAX_CHUNK`]), decrypting only the chunks it covers.
async fn serve_plain(lib: Arc<Library>, id: i64, headers: &HeaderMap) -> Response {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let res = tokio::task::spawn_blocking(move || -> Result<Response, onair_media::MediaError> {
        let mut f = lib.open_plain(id)?;
        let len = f.len();
        let (status, start, end) = match range.as_deref() {
            None => (StatusCode::OK, 0, len.saturating_sub(1).min(MAX_CHUNK - 1)),
            Some(r) => match parse_range(r, len) {
                Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e.min(s + MAX_CHUNK - 1)),
                None => {
                    return Ok(Response::builder()
                        .status(StatusCode::RANGE_NOT_SATISFIABLE)
                        .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                        .body(Body::empty())
                        .unwrap_or_default())
                }
            },
        };
        let mut buf = Vec::with_capacity((end + 1 - start) as usize);
        if len > 0 {
            f.range(start, end + 1, |b| {
                buf.extend_from_slice(b);
                Ok(())
            })
            .map_err(|e| onair_media::MediaError::Io { what: format!("reading recording {id}"), source: e })?;
        }
        // Without a Range the whole file would not fit one answer: say 206
        // with where this part sits, as players expect.
        let status = if status == StatusCode::OK && (buf.len() as u64) < len { StatusCode::PARTIAL_CONTENT } else { status };
        let mut b = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "video/mp4")
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CACHE_CONTROL, "no-store");
        if status == StatusCode::PARTIAL_CONTENT {
            b = b.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
        }
        Ok(b.body(Body::from(buf)).unwrap_or_default())
    })
    .await;
    match res {
        Ok(Ok(r)) => r,
        Ok(Err(e @ onair_media::MediaError::NoKey(_))) => (StatusCode::FORBIDDEN, e.to_string()).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(recording = id, error = %e, "serving an encrypted recording");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn thumb_file(State(ctx): State<Ctx>, UrlPath(id): UrlPath<i64>, Query(q): Query<TokenQuery>, headers: HeaderMap) -> Response {
    if !token_ok(&ctx.token, q.token.as_deref()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let lib = ctx.library.clone();
    let made = tokio::task::spawn_blocking(move || -> Option<onair_media::Result<Vec<u8>>> {
        let r = lib.get(id).ok().filter(|r| r.encrypted && r.state != "recording")?;
        Some(lib.key(&r).and_then(|k| onair_media::thumb::jpeg(&r.path, k.as_ref(), 320)))
    })
    .await;
    match made {
        Ok(Some(Ok(jpeg))) => return ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], jpeg).into_response(),
        Ok(Some(Err(_))) => return StatusCode::NOT_FOUND.into_response(),
        _ => {}
    }
    serve_file(ctx.thumbs.join(format!("{id}.jpg")), "image/jpeg", &headers).await
}

/// A server recording from the relay, the page's Range passed through.
async fn cloud_file(State(ctx): State<Ctx>, UrlPath(id): UrlPath<String>, Query(q): Query<TokenQuery>, headers: HeaderMap) -> Response {
    use tauri::Manager;
    if !token_ok(&ctx.token, q.token.as_deref()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some(app) = ctx.app.get() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    let Ok(api) = crate::commands::cloud::api(&app.state::<crate::commands::chat::ChatState>()) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let res = match api.stream(&id, range).await {
        Ok(r) => r,
        Err(onair_chat::NetError::Refused { code: onair_proto::ErrorCode::NotFound, .. }) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!(recording = %id, error = %e, "streaming a server recording");
            return StatusCode::BAD_GATEWAY.into_response();
        }
    };
    let mut b = Response::builder().status(res.status().as_u16()).header(header::CACHE_CONTROL, "no-store");
    for h in [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_RANGE, header::ACCEPT_RANGES] {
        if let Some(v) = res.headers().get(h.as_str()).and_then(|v| header::HeaderValue::from_bytes(v.as_bytes()).ok()) {
            b = b.header(h, v);
        }
    }
    b.body(Body::from_stream(res.bytes_stream())).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-", 100), Some((0, 99)));
        assert_eq!(parse_range("bytes=10-19", 100), Some((10, 19)));
        assert_eq!(parse_range("bytes=90-200", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-1", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=x-", 100), None);
    }

    #[test]
    fn tokens() {
        assert!(token_ok("abcd", Some("abcd")));
        assert!(!token_ok("abcd", Some("abce")));
        assert!(!token_ok("abcd", Some("abc")));
        assert!(!token_ok("abcd", None));
    }

    /// One HTTP/1.1 GET over a plain socket: (status, headers, body).
    fn get(port: u16, path: &str, range: Option<&str>) -> (u16, String, Vec<u8>) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let range = range.map(|r| format!("Range: {r}\r\n")).unwrap_or_default();
        write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{range}Connection: close\r\n\r\n").unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let at = all.windows(4).position(|w| w == b"\r\n\r\n").expect("a header");
        let head = String::from_utf8_lossy(&all[..at]).into_owned();
        let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
        (status, head.to_lowercase(), all[at + 4..].to_vec())
    }

    /// An encrypted recording made by the real pipeline plays through the
    /// server: each Range equals the same bytes of the plain export, and the
    /// thumbnail is made without a file in the thumbnail folder.
    #[test]
    fn an_encrypted_recording_is_served_decrypted_by_range() {
        use onair_media::golive::GoLive;
        use onair_media::pipeline::{Limits, PipelineConfig};
        use onair_media::source::{AudioSpec, VideoSpec};
        use std::time::Duration;
        // The master key goes to the 0600 secrets file, not a developer's keychain.
        std::env::set_var("ONAIR_KEYCHAIN", "off");
        let home = tempfile::tempdir().unwrap();
        let (lib, _) = Library::open(home.path()).unwrap();
        lib.set_encrypt_recordings(true).unwrap();
        let lib = Arc::new(lib);
        let cfg = PipelineConfig {
            video: VideoSpec::Test,
            overlay: None,
            audio: vec![AudioSpec::Test.into()],
            looped: false,
            camera_mode: None,
            encoding: onair_media::encode::EncodingConfig { preset: "480p30".parse().unwrap(), ..Default::default() },
            live: vec![],
            record: Some(home.path().join("enc.mp4")),
            limits: Limits { duration: Some(Duration::from_secs(2)), ..Default::default() },
            beauty: None,
        };
        let ctl = GoLive::new();
        ctl.start(cfg, Some(lib.clone()), None).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let rec = loop {
            if let Some((_, s)) = ctl.finish_if_ended() {
                break s.unwrap().recording.expect("a recording");
            }
            assert!(std::time::Instant::now() < deadline, "the 2 s recording did not stop");
            std::thread::sleep(Duration::from_millis(100));
        };
        let raw = std::fs::read(&rec.path).unwrap();
        assert_eq!(&raw[..8], b"ONAIRVLT", "the file on disk is encrypted");
        let plain = home.path().join("plain.mp4");
        let n = lib.export(rec.id, &plain, false).unwrap();
        let plain = std::fs::read(&plain).unwrap();
        assert_eq!(plain.len() as u64, n);

        let thumbs = home.path().join("thumbs");
        let server = tauri::async_runtime::block_on(async { start(lib.clone(), thumbs.clone()) }).unwrap();
        let url = |what: &str| format!("/media/{what}/{}?token={}", rec.id, server.token);
        for (a, b) in [(0u64, 99u64), (70_000, 200_000), (n - 1000, n - 1)] {
            let (status, head, body) = get(server.port, &url("recordings"), Some(&format!("bytes={a}-{b}")));
            assert_eq!(status, 206, "{head}");
            assert!(head.contains(&format!("content-range: bytes {a}-{b}/{n}")), "{head}");
            assert_eq!(body, plain[a as usize..=b as usize], "bytes {a}-{b}");
        }
        let (status, _, body) = get(server.port, &url("recordings"), None);
        assert_eq!(status, 200);
        assert_eq!(body, plain);
        let (status, _, _) = get(server.port, &format!("/media/recordings/{}?token=wrong", rec.id), Some("bytes=0-9"));
        assert_eq!(status, 403);
        let (status, head, jpeg) = get(server.port, &url("thumbs"), None);
        assert_eq!(status, 200, "{head}");
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
        assert!(!thumbs.join(format!("{}.jpg", rec.id)).exists(), "no picture of an encrypted recording on disk");
    }

    #[test]
    fn preview_header() {
        let m = encode_preview(4, 2, 7, 1234.5, &[9; 32]);
        assert_eq!(m.len(), PREVIEW_HEADER + 32);
        assert_eq!(u32::from_le_bytes(m[0..4].try_into().unwrap()), 4);
        assert_eq!(f64::from_le_bytes(m[16..24].try_into().unwrap()), 1234.5);
    }
}
