//! Live rooms over HTTP: the bodies and answers of `/v1/rooms…`. One
//! definition for the relay, the chat client, the CLI and the app; the UI's
//! TypeScript (`ui/src/generated/rooms.ts`) is generated from these by a unit
//! test (ts-rs is a dev-dependency: release builds do not carry it).

use serde::{Deserialize, Serialize};

#[cfg(test)]
use ts_rs::TS;

/// `POST /v1/rooms`: a new room. The answer is a [`RoomKey`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct NewRoom {
    pub title: String,
    #[serde(default)]
    pub category: String,
    /// Live and replays only for the owner and the members they add.
    #[serde(default)]
    pub private: bool,
    /// The room's quality ladder, e.g. `["source", "720p", "480p", "audio"]`
    /// (rungs above the source are never made); absent: the relay's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub ladder: Option<Vec<String>>,
}

/// A room as the directory shows it (`GET /v1/rooms`, `GET /v1/rooms/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct RoomInfo {
    pub id: String,
    pub title: String,
    pub category: String,
    pub owner: String,
    /// Only the owner and members may watch (media URLs need a [`WatchTicket`]).
    #[serde(default)]
    pub private: bool,
    pub live: bool,
    /// Wall-clock ms when the current live started.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub started_at: Option<i64>,
    /// The wall-clock time of RTMP timestamp 0 as the fastest video packet
    /// saw it: viewers of the test source turn capture stamps into latency.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub clock_anchor_ms: Option<i64>,
    pub hls_path: String,
    /// The low-latency stream as HTTP-FLV.
    pub flv_path: String,
    /// The low-latency stream as fragmented MP4 (for Media Source Extensions).
    pub mp4_path: String,
    /// The MSE type of `mp4_path` while live, e.g.
    /// `video/mp4; codecs="avc1.64001f,mp4a.40.2"`.
    #[serde(default)]
    pub mse_type: Option<String>,
    /// People here now: the larger of `stream_viewers` and `chat_viewers`.
    #[serde(default)]
    pub viewers: u32,
    /// Low-latency streams open now (FLV + fMP4).
    #[serde(default)]
    pub stream_viewers: u32,
    /// Signed-in users in the room's chat.
    #[serde(default)]
    pub chat_viewers: u32,
    /// The renditions a viewer may choose, `source` first (e.g. `source`,
    /// `480p`, `audio`); each below the source at `/live/ROOM/RUNG/`.
    #[serde(default)]
    pub ladder: Vec<String>,
    /// People following the room or its owner.
    #[serde(default)]
    pub followers: u32,
    /// The room's cover image (a default picture when the owner set none);
    /// `?v=` changes when the cover does.
    #[serde(default)]
    pub cover_path: String,
    /// The owner set a cover (false: `cover_path` gives the default).
    #[serde(default)]
    pub has_cover: bool,
}

/// `PATCH /v1/rooms/{id}` (owner): change the room's title or category.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct RoomUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub category: Option<String>,
}

/// `GET /v1/follows` (bearer): what the caller follows (`user:NAME`,
/// `room:ID`) and the rooms among them on air now that the caller may
/// watch (the app's "Live now from people you follow").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct Following {
    pub follows: Vec<String>,
    pub live: Vec<RoomInfo>,
}

/// The answer to `PUT`/`DELETE /v1/follows/users/{name}` and
/// `…/rooms/{id}`: whether the caller follows the target now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct FollowState {
    /// `user:NAME` or `room:ID`.
    pub target: String,
    pub following: bool,
    /// The target's followers now.
    pub followers: u32,
}

/// The answer to room create and key rotate: the only time the stream key
/// is shown (the relay keeps its SHA-256, never the key).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct RoomKey {
    pub id: String,
    pub title: String,
    pub category: String,
    #[serde(default)]
    pub private: bool,
    pub stream_key: String,
    /// `rtmp://ADDR/live/KEY` when the relay runs RTMP ingest.
    pub rtmp_url: Option<String>,
    /// The same inside TLS, when the relay runs RTMPS ingest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub rtmps_url: Option<String>,
    pub hls_path: String,
    /// The room's renditions, `source` first (see [`RoomInfo::ladder`]).
    #[serde(default)]
    pub ladder: Vec<String>,
}

impl std::fmt::Debug for RoomKey {
    // The stream key is a secret: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomKey").field("id", &self.id).field("title", &self.title).finish_non_exhaustive()
    }
}

/// `POST /v1/rooms/{id}/publish` (owner, bearer): where to publish now
/// without the stream key. The URLs carry a ticket that starts a live in
/// this room only, until `expires_at`, and dies when the key is rotated.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct PublishTicket {
    pub room: String,
    pub rtmp_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub rtmps_url: Option<String>,
    /// Wall-clock ms after which no new publish is accepted with it.
    #[cfg_attr(test, ts(type = "number"))]
    pub expires_at: i64,
}

impl std::fmt::Debug for PublishTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishTicket").field("room", &self.room).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// `POST /v1/rooms/{id}/watch` (a signed-in member, bearer): a ticket the
/// media URLs of a private room carry as `?ticket=` (players cannot always
/// send headers). Checked against the room's members on every request.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct WatchTicket {
    pub room: String,
    pub ticket: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub expires_at: i64,
}

impl std::fmt::Debug for WatchTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchTicket").field("room", &self.room).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// A finished replay of a room (`GET /v1/rooms/{id}/replays`, newest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct ReplayInfo {
    pub id: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub started_at: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub bytes: u64,
    pub path: String,
    /// The renditions made so far, `source` (at `path`) first, then the
    /// room's rungs below it (made in the background after the live).
    #[serde(default)]
    pub renditions: Vec<Rendition>,
}

/// One rendition of a replay: `source`, `480p`, `audio`, … and its path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct Rendition {
    pub name: String,
    pub path: String,
}

/// `GET /v1/rooms?live=&q=&category=`: the directory's filters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct RoomQuery {
    /// Only rooms on air now (the directory's default view).
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub live: Option<bool>,
    /// Substring of the title, any case.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub q: Option<String>,
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub category: Option<String>,
}

/// `POST /v1/rooms/{id}/stop`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct RoomStopped {
    pub room: String,
    /// False when nobody was live.
    pub stopped: bool,
}

/// `GET /v1/rooms/{id}/members` (owner): who may watch a private room
/// besides its owner. `PUT`/`DELETE …/members/{user}` change it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct RoomMembers {
    pub room: String,
    pub members: Vec<String>,
}

/// The TypeScript of every type above, as `ui/src/generated/rooms.ts` holds it.
#[cfg(test)]
pub fn typescript() -> String {
    let decls = [
        NewRoom::decl(),
        RoomInfo::decl(),
        RoomKey::decl(),
        PublishTicket::decl(),
        WatchTicket::decl(),
        ReplayInfo::decl(),
        Rendition::decl(),
        RoomQuery::decl(),
        RoomStopped::decl(),
        RoomMembers::decl(),
        RoomUpdate::decl(),
        Following::decl(),
        FollowState::decl(),
    ];
    let mut out = String::from("// Generated from crates/proto/src/rooms.rs by its test `ui_types_are_current`; do not edit.\n// Regenerate: ONAIR_BLESS_TS=1 cargo test -p onair-proto ui_types_are_current\n");
    for d in decls {
        out.push_str("\nexport ");
        out.push_str(&d);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod ts_tests {
    /// The checked-in UI types must match the Rust ones.
    #[test]
    fn ui_types_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated/rooms.ts");
        let want = super::typescript();
        if std::env::var_os("ONAIR_BLESS_TS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is out of date with crates/proto/src/rooms.rs; regenerate it with\n  ONAIR_BLESS_TS=1 cargo test -p onair-proto ui_types_are_current",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_stay_out_of_debug() {
        let k = super::RoomKey { id: "r".into(), title: "t".into(), category: String::new(), private: false, stream_key: "live_secret".into(), rtmp_url: Some("rtmp://a/live/live_secret".into()), rtmps_url: None, hls_path: String::new(), ladder: Vec::new() };
        assert!(!format!("{k:?}").contains("secret"));
        let t = super::WatchTicket { room: "r".into(), ticket: "wt_secret".into(), expires_at: 1 };
        assert!(!format!("{t:?}").contains("secret"));
    }

    #[test]
    fn old_bodies_still_parse() {
        let n: super::NewRoom = serde_json::from_str(r#"{"title":"t"}"#).unwrap();
        assert!(!n.private && n.category.is_empty());
    }
}
