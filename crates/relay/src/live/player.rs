//! The browser player: `/static/live-player.js` (an ES module that feeds a
//! room's fragmented MP4 to Media Source Extensions; the desktop app's
//! webview imports the same file) and a minimal page at `/watch/ROOM`
//! that uses it. Both are compiled into the relay: nothing to install.

use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;

const SCRIPT: &str = include_str!("../../static/live-player.js");
const PAGE: &str = include_str!("../../static/watch.html");

pub async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache"), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], SCRIPT)
}

/// The page reads the room id from its own URL; the path is not echoed.
pub async fn page(Path(_room): Path<String>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], PAGE)
}
