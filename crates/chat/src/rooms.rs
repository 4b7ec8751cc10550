//! Live rooms on the relay, as their owner and as a viewer: create, the
//! directory, key rotation, publish tickets (→ an RTMP ingest URL without
//! the key), replays. Shared
//! by `onair room …`/`onair live --to relay://ROOM` and the desktop app.

use crate::net::Method;
pub use onair_proto::{FollowState, Following, NewRoom, PublishTicket, ReplayInfo, RoomInfo, RoomKey, RoomMembers, RoomQuery, RoomStopped, RoomUpdate, WatchTicket};

use crate::net::{http_decode, Http};
use crate::NetError;

async fn get<T: serde::de::DeserializeOwned>(http: &Http, path: &str, token: Option<&str>) -> Result<T, NetError> {
    let (status, bytes) = http.call(Method::GET, path, token, "application/json", Vec::new()).await?;
    http_decode(status, &bytes)
}

pub async fn create(http: &Http, token: &str, new: &NewRoom) -> Result<RoomKey, NetError> {
    http.json(Method::POST, "/v1/rooms", Some(token), new).await
}

/// A new stream key for a room (owner only): the answer is the only place
/// it is shown; a publisher live on the old key is disconnected.
pub async fn rotate(http: &Http, token: &str, room: &str) -> Result<RoomKey, NetError> {
    http.json(Method::POST, &format!("/v1/rooms/{}/key", pct(room)), Some(token), &serde_json::json!({})).await
}

/// A short-lived publish ticket for a room the user owns.
pub async fn publish_ticket(http: &Http, token: &str, room: &str) -> Result<PublishTicket, NetError> {
    http.json(Method::POST, &format!("/v1/rooms/{}/publish", pct(room)), Some(token), &serde_json::json!({})).await
}

/// The directory: rooms live now (`all`: every room), optionally filtered.
/// With a token it also lists the private rooms the user owns or is a member of.
pub async fn list(http: &Http, token: Option<&str>, all: bool, search: Option<&str>, category: Option<&str>) -> Result<Vec<RoomInfo>, NetError> {
    let mut path = format!("/v1/rooms?live={}", !all);
    if let Some(q) = search {
        path.push_str(&format!("&q={}", pct(q)));
    }
    if let Some(c) = category {
        path.push_str(&format!("&category={}", pct(c)));
    }
    get(http, &path, token).await
}

/// One room as the directory shows it (live state, start time, viewers, stream paths).
/// A private room answers only its owner and members (the token).
pub async fn room(http: &Http, token: Option<&str>, id: &str) -> Result<RoomInfo, NetError> {
    get(http, &format!("/v1/rooms/{}", pct(id)), token).await
}

/// Recorded lives of a room, newest first.
pub async fn replays(http: &Http, token: Option<&str>, room: &str) -> Result<Vec<ReplayInfo>, NetError> {
    get(http, &format!("/v1/rooms/{}/replays", pct(room)), token).await
}

/// A watch ticket for a private room's media URLs (`?ticket=`), for a
/// signed-in member.
pub async fn watch_ticket(http: &Http, token: &str, room: &str) -> Result<WatchTicket, NetError> {
    http.json(Method::POST, &format!("/v1/rooms/{}/watch", pct(room)), Some(token), &serde_json::json!({})).await
}

/// `path` (a media path the relay gave) with the ticket, when there is one.
pub fn with_ticket(path: &str, ticket: Option<&WatchTicket>) -> String {
    match ticket {
        Some(t) => format!("{path}{}ticket={}", if path.contains('?') { '&' } else { '?' }, pct(&t.ticket)),
        None => path.to_string(),
    }
}

/// Who may watch a private room besides its owner (owner only).
pub async fn members(http: &Http, token: &str, room: &str) -> Result<RoomMembers, NetError> {
    get(http, &format!("/v1/rooms/{}/members", pct(room)), Some(token)).await
}

/// Adds (`add`) or removes a member of a room (owner only).
pub async fn set_member(http: &Http, token: &str, room: &str, user: &str, add: bool) -> Result<RoomMembers, NetError> {
    let m = if add { Method::PUT } else { Method::DELETE };
    http.json(m, &format!("/v1/rooms/{}/members/{}", pct(room), pct(user)), Some(token), &serde_json::json!({})).await
}

/// What the user follows, and the followed rooms on air now.
pub async fn following(http: &Http, token: &str) -> Result<Following, NetError> {
    get(http, "/v1/follows", Some(token)).await
}

/// Follows (`on`) or unfollows a streamer, or with `room` one room.
pub async fn follow(http: &Http, token: &str, target: &str, room: bool, on: bool) -> Result<FollowState, NetError> {
    let m = if on { Method::PUT } else { Method::DELETE };
    let kind = if room { "rooms" } else { "users" };
    http.json(m, &format!("/v1/follows/{kind}/{}", pct(target)), Some(token), &serde_json::json!({})).await
}

/// Changes a room's title or category (owner only).
pub async fn update(http: &Http, token: &str, room: &str, u: &RoomUpdate) -> Result<RoomInfo, NetError> {
    http.json(Method::PATCH, &format!("/v1/rooms/{}", pct(room)), Some(token), u).await
}

/// Sets a room's cover picture (owner only; PNG, JPEG or WebP, checked by the relay).
pub async fn set_cover(http: &Http, token: &str, room: &str, bytes: Vec<u8>) -> Result<RoomInfo, NetError> {
    let (status, body) = http.call(Method::PUT, &format!("/v1/rooms/{}/cover", pct(room)), Some(token), "application/octet-stream", bytes).await?;
    http_decode(status, &body)
}

/// A room's cover picture and its type (the relay's default when it has none).
pub async fn cover(http: &Http, token: Option<&str>, room: &str) -> Result<(String, Vec<u8>), NetError> {
    let req = http.request(Method::GET, &format!("/v1/rooms/{}/cover", pct(room)), token)?;
    let res = req.send().await.map_err(|e| NetError::Protocol(format!("the room's cover: {e}")))?;
    let status = res.status();
    let mime = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let bytes = res.bytes().await.map_err(|e| NetError::Protocol(format!("the room's cover: {e}")))?;
    if !status.is_success() {
        return Err(http_decode::<serde_json::Value>(status, &bytes).err().unwrap_or_else(|| NetError::Protocol(format!("the room's cover: {status}"))));
    }
    Ok((mime, bytes.to_vec()))
}

/// Ends the room's live now (owner only).
pub async fn stop(http: &Http, token: &str, room: &str) -> Result<RoomStopped, NetError> {
    http.json(Method::POST, &format!("/v1/rooms/{}/stop", pct(room)), Some(token), &serde_json::json!({})).await
}

/// The RTMP URL to publish into `room` now, as its owner: it carries a
/// publish ticket, not the stream key (the relay no longer has the key).
pub async fn ingest_url(http: &Http, token: &str, room: &str) -> Result<String, NetError> {
    let t = publish_ticket(http, token, room).await?;
    publish_url(t.rtmp_url.as_deref(), t.rtmps_url.as_deref(), &http.url).ok_or_else(|| NetError::Protocol(format!("the relay {} has no RTMP ingest running", http.url.http())))
}

/// Where to publish: RTMPS when the relay is reached over TLS and runs it
/// (the key or ticket never crosses the network in clear when it need not),
/// else RTMP; always at the host the relay was reached by, since the relay
/// only knows the address it bound (`0.0.0.0` on a public host).
pub fn publish_url(rtmp: Option<&str>, rtmps: Option<&str>, relay: &crate::net::RelayUrl) -> Option<String> {
    let url = match (rtmps, relay.tls) {
        (Some(s), true) => s,
        _ => rtmp?,
    };
    Some(rehost(url, &relay.host))
}

/// `SCHEME://ADDR:PORT/rest` with ADDR replaced by `host`.
fn rehost(url: &str, host: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let port = authority.rsplit_once(':').map(|(_, p)| p);
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    match port {
        Some(p) => format!("{scheme}://{host}:{p}/{path}"),
        None => format!("{scheme}://{host}/{path}"),
    }
}

/// Percent-encodes a query or path value.
pub fn pct(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn publish_urls_use_the_relay_host_and_tls_when_there() {
        let (rtmp, rtmps) = (Some("rtmp://0.0.0.0:1935/live/k"), Some("rtmps://0.0.0.0:1936/live/k"));
        let tls = crate::net::RelayUrl::parse("https://relay.example.org").unwrap();
        assert_eq!(super::publish_url(rtmp, rtmps, &tls).unwrap(), "rtmps://relay.example.org:1936/live/k");
        let plain = crate::net::RelayUrl::parse("http://127.0.0.1:7380").unwrap();
        assert_eq!(super::publish_url(rtmp, rtmps, &plain).unwrap(), "rtmp://127.0.0.1:1935/live/k");
        let v6 = crate::net::RelayUrl::parse("https://[::1]:8443").unwrap();
        assert_eq!(super::publish_url(rtmp, rtmps, &v6).unwrap(), "rtmps://[::1]:1936/live/k");
        assert_eq!(super::publish_url(None, rtmps, &plain), None);
    }

    #[test]
    fn percent() {
        assert_eq!(super::pct("a b/ü"), "a%20b%2F%C3%BC");
    }
}
