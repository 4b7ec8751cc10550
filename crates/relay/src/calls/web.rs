//! HTTP for calls: the audit record for participants, and the browser
//! guest page (`/call`, `/call.js`, `/call.css`), embedded in the binary
//! and served with a strict Content-Security-Policy: no inline script, no
//! third-party origin, media only from the camera and the peer.

use crate::http::{bearer_user, HttpError};
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use onair_proto::Request;
use std::sync::Arc;

const PAGE: &str = include_str!("page/call.html");
const SCRIPT: &str = include_str!("page/call.js");
const STYLE: &str = include_str!("page/call.css");

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/calls/{id}/audit", get(audit))
        .route("/call", get(|h: HeaderMap| async move { asset(&h, PAGE, "text/html; charset=utf-8") }))
        .route("/call.js", get(|h: HeaderMap| async move { asset(&h, SCRIPT, "text/javascript; charset=utf-8") }))
        .route("/call.css", get(|h: HeaderMap| async move { asset(&h, STYLE, "text/css; charset=utf-8") }))
}

async fn audit(State(state): State<Arc<AppState>>, headers: HeaderMap, Path(id): Path<String>) -> Result<impl IntoResponse, HttpError> {
    let me = bearer_user(&state, &headers).await?;
    let st = state.clone();
    let r = state.blocking(move || super::direct(&st, &me, now_ms(), &Request::CallAudit { call_id: id })).await.map_err(crate::error::ApiError::from)?;
    match r.ok_or_else(|| HttpError(onair_proto::ErrorCode::Internal, "internal error".into()))?? {
        onair_proto::Response::CallAudit { audit } => Ok(axum::Json(audit)),
        _ => Err(HttpError(onair_proto::ErrorCode::Internal, "internal error".into())),
    }
}

/// The page's WebSocket goes back to the host it was loaded from; CSP
/// `'self'` does not cover `ws:` in every browser, so name it.
fn csp(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255 && h.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']')));
    let ws = host.map(|h| format!(" ws://{h} wss://{h}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'{ws}; media-src 'self' blob: mediastream:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

fn asset(headers: &HeaderMap, body: &'static str, mime: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&csp(headers)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(self), microphone=(self), display-capture=(self)"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_names_only_a_clean_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7380"));
        assert!(csp(&h).contains("connect-src 'self' ws://127.0.0.1:7380 wss://127.0.0.1:7380;"));
        h.insert(header::HOST, HeaderValue::from_static("evil.com; script-src *"));
        assert!(csp(&h).contains("connect-src 'self';"));
        assert!(csp(&h).contains("script-src 'self';"));
    }
}
