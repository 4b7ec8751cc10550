//! One typed call state the Calls screen renders: the phase, both sides'
//! microphone and camera (as the engine and the other side's signal say,
//! never guessed from a black picture or silence), the engine's figures and
//! who records. Built from every `call://state` payload (the relay's call
//! events and the engine's lines and 1 s figures) and pushed whole as
//! `call://view`; `call_view` answers it on demand.
//!
//! ```text
//! relay events ─┐
//! engine figures┼─▶ call://state ─▶ reduce() ─▶ changed? ─▶ emit call://view ─▶ call.ts
//! app commands ─┘
//! ```

use std::sync::Mutex;

use onair_proto::cloud::CloudState;
use serde::Serialize;
use serde_json::Value;
use tauri::{AppHandle, Emitter, Listener, Manager};

pub const EVENT: &str = "call://view";

/// The call as the Calls screen shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CallView {
    #[cfg_attr(test, ts(type = "\"idle\" | \"outgoing\" | \"incoming\" | \"connecting\" | \"active\" | \"ended\""))]
    pub phase: &'static str,
    pub call_id: Option<String>,
    pub peer: Option<String>,
    /// When the call was answered (Unix ms), for the call timer.
    #[cfg_attr(test, ts(as = "Option<f64>"))]
    pub since_ms: Option<i64>,
    /// Why the last call ended.
    pub end_reason: Option<String>,
    /// The quality preset this side sends (`360p`, `720p`, `1080p`).
    pub preset: Option<String>,
    /// My microphone and camera as the engine applies them.
    pub me: SideMedia,
    /// The other side's, as it signalled them (None: not told yet).
    pub peer_media: SideMedia,
    /// The other side's relay connection dropped (it may come back).
    pub peer_away: bool,
    pub figures: Option<CallFigures>,
    pub recording: CallRecording,
    /// The server recording of this call, where it stands (None: none asked for).
    pub cloud: Option<CloudCall>,
}

/// A server recording of the call in progress, as the relay last told it.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CloudCall {
    pub id: String,
    /// pending (asking the other side), recording, done (stopped), failed, declined.
    pub state: onair_proto::cloud::CloudState,
    pub started_by: String,
    /// Why it stopped or failed ("no recorder worker", "the recorder stopped sending"…).
    pub reason: Option<String>,
}

impl Default for CallView {
    fn default() -> Self {
        CallView {
            phase: "idle",
            call_id: None,
            peer: None,
            since_ms: None,
            end_reason: None,
            preset: None,
            me: SideMedia::default(),
            peer_media: SideMedia::default(),
            peer_away: false,
            figures: None,
            recording: CallRecording::default(),
            cloud: None,
        }
    }
}

/// One side's microphone and camera.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SideMedia {
    pub muted: Option<bool>,
    pub camera_off: Option<bool>,
    /// Why the camera did not open (the call joined with video off).
    pub camera_error: Option<String>,
    /// Sending the screen instead of a camera.
    pub sharing: bool,
}

/// The engine's figures, about once a second.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CallFigures {
    /// Whether media flows.
    pub connected: bool,
    /// The picture size we send now (it steps down and up with the network).
    pub send_width: u32,
    pub send_height: u32,
    /// The size of the other side's picture as decoded here.
    pub recv_width: u32,
    pub recv_height: u32,
    #[cfg_attr(test, ts(as = "f64"))]
    pub frames_decoded: u64,
    pub send_kbps: f64,
    pub target_kbps: u32,
    pub rtt_ms: Option<f64>,
    pub loss: f64,
    pub quality_score: f64,
    pub relay_connected: bool,
}

/// Who records this call.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CallRecording {
    /// Our own recorder writes now.
    pub local: bool,
    /// The other side records.
    pub peer: bool,
    /// The relay records the call ("Recorded by the server").
    pub server: bool,
}

/// A `call://state` payload applied to the view. Payloads of another call
/// than the one shown (a second ring while in a call) leave it alone.
pub fn reduce(cur: &CallView, push: &Value) -> CallView {
    let id = push["call_id"].as_str().map(str::to_string);
    let same = id.is_none() || cur.call_id.is_none() || cur.call_id == id;
    let open = cur.phase != "idle" && cur.phase != "ended";
    let s = |k: &str| push[k].as_str().map(str::to_string);
    let mut v = cur.clone();
    match push["type"].as_str().unwrap_or("") {
        "dialing" => {
            if !open {
                v = CallView { phase: "outgoing", call_id: id, peer: s("peer"), ..CallView::default() };
            } else if cur.phase == "outgoing" && cur.peer == s("peer") {
                v.call_id = id.or(v.call_id);
            }
        }
        "ringing" if !open => v = CallView { phase: "incoming", call_id: id, peer: s("peer"), ..CallView::default() },
        "accepted" if same && (cur.phase == "outgoing" || cur.phase == "incoming") => {
            v.phase = "connecting";
            v.call_id = id.or(v.call_id);
        }
        "connected" if same && open => {
            v.phase = "active";
            v.call_id = id.or(v.call_id);
            v.since_ms = v.since_ms.or(push["at"].as_i64());
        }
        "ended" if same && cur.phase != "idle" => {
            v.phase = "ended";
            v.end_reason = s("reason");
            v.recording = CallRecording::default();
            v.peer_away = false;
        }
        "started" if same => v.preset = s("preset"),
        "cloud" if same && open => {
            let state = serde_json::from_value(push["state"].clone()).unwrap_or(onair_proto::cloud::CloudState::Failed);
            let id = s("id").unwrap_or_default();
            // A later push about an older recording (a stop that crossed a new start) is stale.
            if cur.cloud.as_ref().is_none_or(|c| c.id == id || matches!(state, CloudState::Pending | CloudState::Recording)) {
                v.recording.server = state == CloudState::Recording;
                v.cloud = Some(CloudCall { id, state, started_by: s("started_by").unwrap_or_default(), reason: s("reason") });
            }
        }
        "peer_connection" if same => v.peer_away = push["connected"].as_bool() == Some(false),
        "recording" if same => {
            let on = push["action"].as_str() == Some("started");
            if s("by") == cur.peer {
                v.recording.peer = on;
            } else {
                v.recording.server = on;
            }
        }
        "quality" if same => {
            if let Some(f) = v.figures.as_mut() {
                f.quality_score = push["score"].as_f64().unwrap_or(f.quality_score);
            }
        }
        "media" if same && cur.phase != "idle" => {
            let st = &push["stats"];
            let u = |k: &str| st[k].as_u64().unwrap_or(0);
            let u32_ = |k: &str| u32::try_from(u(k)).unwrap_or(u32::MAX);
            let f = |k: &str| st[k].as_f64().unwrap_or(0.0);
            v.figures = Some(CallFigures {
                connected: st["connected"].as_bool().unwrap_or(false),
                send_width: u32_("send_width"),
                send_height: u32_("send_height"),
                recv_width: u32_("video_width"),
                recv_height: u32_("video_height"),
                frames_decoded: u("video_frames_decoded"),
                send_kbps: f("send_kbps"),
                target_kbps: u32_("target_kbps"),
                rtt_ms: st["rtt_ms"].as_f64(),
                loss: f("loss"),
                quality_score: f("quality_score"),
                relay_connected: st["relay_connected"].as_bool().unwrap_or(true),
            });
            v.me = SideMedia {
                muted: st["muted"].as_bool(),
                camera_off: st["camera_off"].as_bool(),
                camera_error: st["camera_error"].as_str().map(str::to_string),
                sharing: st["video_source"].as_str().is_some_and(|s| s.starts_with("screen")),
            };
            v.peer_media.muted = st["peer_muted"].as_bool();
            v.peer_media.camera_off = st["peer_camera_off"].as_bool();
            v.recording.local = cur.phase != "ended" && st["recording_now"].as_bool().unwrap_or(false);
        }
        _ => {}
    }
    v
}

#[derive(Default)]
struct Shown(Mutex<CallView>);

/// Starts following `call://state`. Called once at start.
pub fn install(app: &AppHandle) {
    app.manage(Shown::default());
    let a = app.clone();
    app.listen_any(crate::commands::call::EVENT, move |ev| {
        let Ok(push) = serde_json::from_str::<Value>(ev.payload()) else { return };
        let shown = a.state::<Shown>();
        let mut cur = shown.0.lock().unwrap_or_else(|p| p.into_inner());
        let next = reduce(&cur, &push);
        if next != *cur {
            *cur = next.clone();
            drop(cur);
            let _ = a.emit(EVENT, next);
        }
    });
}

/// The call view now (a page that just loaded asks once).
#[tauri::command]
pub fn call_view(app: AppHandle) -> CallView {
    app.try_state::<Shown>().map(|s| s.0.lock().unwrap_or_else(|p| p.into_inner()).clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(pushes: &[Value]) -> CallView {
        pushes.iter().fold(CallView::default(), |v, p| reduce(&v, p))
    }

    #[test]
    fn phases_follow_the_call() {
        let v = run(&[json!({"type": "dialing", "call_id": null, "peer": "bob"}), json!({"type": "dialing", "call_id": "c1", "peer": "bob"})]);
        assert_eq!((v.phase, v.call_id.as_deref()), ("outgoing", Some("c1")));
        let v = reduce(&v, &json!({"type": "connected", "call_id": "c1", "at": 5}));
        assert_eq!((v.phase, v.since_ms), ("active", Some(5)));
        // A second ring while in a call leaves it alone.
        assert_eq!(reduce(&v, &json!({"type": "ringing", "call_id": "c2", "peer": "carol"})), v);
        assert_eq!(reduce(&v, &json!({"type": "ended", "call_id": "c2", "reason": "declined"})).phase, "active");
        let v = reduce(&v, &json!({"type": "ended", "call_id": "c1", "reason": "hangup"}));
        assert_eq!((v.phase, v.end_reason.as_deref()), ("ended", Some("hangup")));
        let v = reduce(&v, &json!({"type": "ringing", "call_id": "c3", "peer": "carol"}));
        assert_eq!((v.phase, v.peer.as_deref(), v.figures.is_none()), ("incoming", Some("carol"), true));
    }

    #[test]
    fn the_server_recording_follows_the_relays_pushes() {
        let v = run(&[json!({"type": "ringing", "call_id": "c1", "peer": "alice"}), json!({"type": "connected", "call_id": "c1", "at": 1})]);
        let cloud = |id: &str, state: &str, reason: Option<&str>| json!({"type": "cloud", "call_id": "c1", "id": id, "state": state, "started_by": "alice", "reason": reason});
        let v = reduce(&v, &cloud("r1", "pending", None));
        assert_eq!((v.cloud.as_ref().unwrap().state, v.recording.server), (CloudState::Pending, false));
        let v = reduce(&v, &cloud("r1", "recording", None));
        assert!(v.recording.server);
        let v = reduce(&v, &cloud("r1", "failed", Some("no recorder worker")));
        assert_eq!((v.cloud.as_ref().unwrap().reason.as_deref(), v.recording.server), (Some("no recorder worker"), false));
        // A new one starts; a late stop of the old one does not hide it.
        let v = reduce(&v, &cloud("r2", "recording", None));
        assert_eq!(reduce(&v, &cloud("r1", "done", None)), v);
        // Another call's push, or a nonsense state, never panics or leaks in.
        assert_eq!(reduce(&v, &json!({"type": "cloud", "call_id": "c9", "id": "r3", "state": "recording"})), v);
        assert_eq!(reduce(&v, &json!({"type": "cloud", "call_id": "c1", "id": "r2", "state": 7})).cloud.unwrap().state, CloudState::Failed);
    }

    #[test]
    fn media_comes_from_the_engine_and_the_signal() {
        let v = run(&[
            json!({"type": "ringing", "call_id": "c1", "peer": "alice"}),
            json!({"type": "connected", "call_id": "c1", "at": 1}),
            json!({"type": "started", "call_id": "c1", "preset": "360p"}),
            json!({"type": "media", "call_id": "c1", "stats": {"connected": true, "send_width": 640, "send_height": 360, "video_width": 1280, "video_height": 720,
                "muted": false, "camera_off": true, "camera_error": "no camera at camera:9", "video_source": "none", "peer_muted": true, "peer_camera_off": null, "recording_now": false}}),
            json!({"type": "recording", "call_id": "c1", "by": "alice", "action": "started"}),
            json!({"type": "recording", "call_id": "c1", "by": "onair-server", "action": "started"}),
        ]);
        assert_eq!(v.preset.as_deref(), Some("360p"));
        assert_eq!(v.me.camera_error.as_deref(), Some("no camera at camera:9"));
        assert_eq!((v.peer_media.muted, v.peer_media.camera_off), (Some(true), None));
        let f = v.figures.clone().unwrap();
        assert_eq!((f.send_width, f.send_height, f.recv_width, f.recv_height), (640, 360, 1280, 720));
        assert_eq!(v.recording, CallRecording { local: false, peer: true, server: true });
        // Nonsense from a peer or a broken payload never panics.
        let w = reduce(&v, &json!({"type": "media", "call_id": "c1", "stats": {"send_width": -3, "video_width": 1e30}}));
        assert_eq!(w.figures.unwrap().send_width, 0);
        assert_eq!(reduce(&v, &json!(42)), v);
    }
}
