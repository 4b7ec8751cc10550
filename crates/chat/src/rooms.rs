//! Live rooms on the relay, as their owner and as a viewer: create, the
//! directory, a room's stream key (→ its RTMP ingest URL), replays. Shared
//! by `onair room …`/`onair live --to relay://ROOM` and the desktop app.

use hyper::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::net::{http_decode, Http};
use crate::NetError;

/// A room with its key, as the relay answers its owner.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RoomKey {
    pub id: String,
    pub title: String,
    pub category: String,
    pub stream_key: String,
    pub rtmp_url: Option<String>,
    pub hls_path: String,
}

async fn get<T: serde::de::DeserializeOwned>(http: &Http, path: &str, token: Option<&str>) -> Result<T, NetError> {
    let (status, bytes) = http.call(Method::GET, path, token, "application/json", Vec::new()).await?;
    http_decode(status, &bytes)
}

pub async fn create(http: &Http, token: &str, title: &str, category: &str) -> Result<RoomKey, NetError> {
    http.json(Method::POST, "/v1/rooms", Some(token), &serde_json::json!({"title": title, "category": category})).await
}

/// A room's key (owner only); `rotate` issues a new one.
pub async fn key(http: &Http, token: &str, room: &str, rotate: bool) -> Result<RoomKey, NetError> {
    let path = format!("/v1/rooms/{}/key", pct(room));
    if rotate {
        http.json(Method::POST, &path, Some(token), &serde_json::json!({})).await
    } else {
        get(http, &path, Some(token)).await
    }
}

/// The directory: rooms live now (`all`: every room), optionally filtered.
pub async fn list(http: &Http, all: bool, search: Option<&str>, category: Option<&str>) -> Result<Vec<Value>, NetError> {
    let mut path = format!("/v1/rooms?live={}", !all);
    if let Some(q) = search {
        path.push_str(&format!("&q={}", pct(q)));
    }
    if let Some(c) = category {
        path.push_str(&format!("&category={}", pct(c)));
    }
    get(http, &path, None).await
}

/// One room as the directory shows it (live state, start time, viewers, stream paths).
pub async fn room(http: &Http, id: &str) -> Result<Value, NetError> {
    get(http, &format!("/v1/rooms/{}", pct(id)), None).await
}

/// Recorded lives of a room, newest first.
pub async fn replays(http: &Http, room: &str) -> Result<Vec<Value>, NetError> {
    get(http, &format!("/v1/rooms/{}/replays", pct(room)), None).await
}

/// The RTMP URL (with its key) to publish into `room`, as its owner.
pub async fn ingest_url(http: &Http, token: &str, room: &str) -> Result<String, NetError> {
    let k = key(http, token, room, false).await?;
    k.rtmp_url.ok_or_else(|| NetError::Protocol(format!("the relay {} has no RTMP ingest running", http.url.http())))
}

/// Percent-encodes a query or path value.
pub fn pct(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent() {
        assert_eq!(super::pct("a b/ü"), "a%20b%2F%C3%BC");
    }
}
