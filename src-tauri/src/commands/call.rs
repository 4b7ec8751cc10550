//! The Calls screen's commands: invite, answer, decline, cancel, hang up,
//! in-call controls (mute, camera, share, beauty, record, bookmark, consent)
//! and the events that drive the screen (`call://state`).
//!
//! Signaling goes over the chat listener's socket: the relay treats one
//! signed-in WebSocket as one device, and this app is one device, so the
//! socket that is told about an incoming call is the one that answers it.
//! The call events the listener receives are translated by [`on_event`];
//! the running call's media engine (`crate::calls`) hears them on the same
//! relay link, and its own signaling travels on it.

use onair_call::driver::{Command as CallCommand, Role};
use onair_media::source::VideoSpec;
use onair_proto::{Event, MediaKind, RecordAction, Request, Response};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};

use crate::calls::{CallMedia, CallSources, Launch};
use crate::commands::chat::ChatState;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const EVENT: &str = "call://state";

/// `call://state` payloads; the UI's `lib/callState.ts` and
/// `lib/recording.ts` reduce them.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallPush {
    Dialing { call_id: Option<String>, peer: String },
    Ringing { call_id: String, peer: String },
    /// The callee's device is ringing (to the caller).
    PeerRinging { call_id: String },
    Accepted { call_id: String },
    Connected {
        call_id: String,
        #[cfg_attr(test, ts(as = "f64"))]
        at: i64,
    },
    Ended { call_id: Option<String>, reason: String },
    Quality { call_id: String, score: u8 },
    /// The other side's relay connection dropped or came back.
    PeerConnection { call_id: String, connected: bool },
    /// Someone started or stopped recording (`started` | `stopped`).
    Recording {
        call_id: String,
        by: String,
        #[cfg_attr(test, ts(type = "\"started\" | \"stopped\""))]
        action: String,
    },
    /// A server recording of the call changed state (the relay's push):
    /// asking the other side, recording, done, failed (with the reason), declined.
    Cloud {
        call_id: String,
        id: String,
        state: onair_proto::cloud::CloudState,
        started_by: String,
        reason: Option<String>,
    },
    /// The other side asks to record; answer with `call_consent`.
    ConsentRequest { call_id: String, by: String },
    /// My request to record was answered.
    ConsentResult { call_id: String, by: String, accepted: bool },
    /// A line from the call's media engine ("connected", "recording saved: …").
    Notice { call_id: String, text: String },
    /// The call's figures, about once a second (and once at the end).
    Media {
        call_id: String,
        #[cfg_attr(test, ts(as = "onair_call::driver::CallReport"))]
        stats: serde_json::Value,
    },
    /// The call's media started sending at this quality preset.
    Started { call_id: String, preset: String },
}

/// The relay's call events as screen state; None for other events.
pub fn translate(ev: &Event, now_ms: i64) -> Option<CallPush> {
    let rec = |a: &RecordAction| if matches!(a, RecordAction::Start) { "started" } else { "stopped" }.to_string();
    Some(match ev {
        Event::CallIncoming { call_id, from, .. } => CallPush::Ringing { call_id: call_id.clone(), peer: from.clone() },
        Event::CallRinging { call_id } => CallPush::PeerRinging { call_id: call_id.clone() },
        // Answered: the screen shows the call; its media connects
        // meanwhile (`crate::calls`, reported as `notice` / `media`).
        Event::CallAccepted { call_id } => return Some(CallPush::Connected { call_id: call_id.clone(), at: now_ms }),
        Event::CallEnded { call_id, reason, .. } => CallPush::Ended { call_id: Some(call_id.clone()), reason: serde_json::to_value(reason).ok()?.as_str()?.to_string() },
        Event::CallPeer { call_id, connected } => CallPush::PeerConnection { call_id: call_id.clone(), connected: *connected },
        Event::CallRecording { call_id, by, action } => CallPush::Recording { call_id: call_id.clone(), by: by.clone(), action: rec(action) },
        Event::CallConsentRequest { call_id, by } => CallPush::ConsentRequest { call_id: call_id.clone(), by: by.clone() },
        Event::CloudRecording { id, call_id, state, started_by, reason, .. } => {
            CallPush::Cloud { call_id: call_id.clone(), id: id.clone(), state: *state, started_by: started_by.clone(), reason: reason.clone() }
        }
        Event::CallConsentResult { call_id, by, accepted } => CallPush::ConsentResult { call_id: call_id.clone(), by: by.clone(), accepted: *accepted },
        _ => return None,
    })
}

/// While the server records our running call, our media also goes to its
/// recorder over a second connection the engine opens (as `onair call`
/// does); stopped when the recording ends or fails.
fn cloud_leg(app: &AppHandle, call_id: &str, id: &str, state: onair_proto::cloud::CloudState) {
    use onair_proto::cloud::CloudState;
    let media = app.state::<CallMedia>();
    if !media.runs(call_id) {
        return;
    }
    let target = match state {
        CloudState::Pending => return,
        CloudState::Recording => match app.state::<ChatState>().remote() {
            Ok((remote, _)) => Some(onair_call::cloud::LegTarget { relay: remote.base(), token: remote.bearer().to_string(), recording: id.to_string() }),
            Err(_) => return,
        },
        CloudState::Done | CloudState::Failed | CloudState::Declined => None,
    };
    if let Err(e) = media.command(CallCommand::CloudLeg(target)) {
        tracing::warn!("the server recording's media leg: {e}");
    }
}

/// Called by the chat listener for every relay event.
pub fn on_event(app: &AppHandle, ev: &Event) {
    if let Event::CloudRecording { id, call_id, state, .. } = ev {
        cloud_leg(app, call_id, id, *state);
    }
    if let Some(p) = translate(ev, onair_chat::now_ms()) {
        if let CallPush::Ringing { peer, .. } = &p {
            let w = crate::tray::words(app);
            crate::tray::notify(app, &w.incoming_call, &w.ringing.replace("{peer}", peer));
        }
        let _ = app.emit(EVENT, p);
    }
}

async fn on_socket(chat: &ChatState, req: Request) -> AppResult<Response> {
    chat.request(req).await
}

/// Takes the call slot. The last call's engine may still be closing its
/// connection and devices for a moment after the screen shows it ended:
/// a call placed or answered then waits for it (up to 8 s) instead of
/// failing with "already in a call".
async fn begin_when_free(media: &CallMedia, link: &onair_chat::net::RelayLink, call_id: Option<String>) -> AppResult<crate::calls::Pending> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
    loop {
        match media.begin(link, call_id.clone()) {
            Err(AppError::State(_)) if std::time::Instant::now() < deadline => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            r => return r,
        }
    }
}

/// The camera mode Settings → Devices chose on this machine (as Go live
/// opens the camera): calls open the camera in it too.
fn chosen_camera_mode(state: &AppState) -> Option<onair_media::source::camera::CameraMode> {
    let s = crate::state::AppSettings::load(&state.home).ok()?;
    s.devices?.camera_mode?.parse().ok()
}

/// Rings `peer` and starts the call's media; the call id comes back once
/// the relay accepted the invite.
#[tauri::command]
pub async fn call_invite(app: AppHandle, state: State<'_, AppState>, chat: State<'_, ChatState>, media: State<'_, CallMedia>, peer: String, video: bool, sources: CallSources) -> AppResult<String> {
    let peer = peer.trim().to_string();
    if !onair_proto::valid_username(&peer) {
        return Err(AppError::Invalid(format!("{peer:?} is not a user name")));
    }
    let mut send = sources.send_config(video)?;
    send.camera_mode = chosen_camera_mode(&state);
    let preset = sources.preset()?;
    let me = chat.me()?;
    let link = chat.link()?;
    let kinds = if video { vec![MediaKind::Audio, MediaKind::Video] } else { vec![MediaKind::Audio] };
    // Reserve the call first: its events queue from the moment it exists.
    let pending = begin_when_free(&media, &link, None).await?;
    let _ = app.emit(EVENT, CallPush::Dialing { call_id: None, peer: peer.clone() });
    let call_id = match on_socket(&chat, Request::CallInvite { to: peer.clone(), media: kinds }).await {
        Ok(Response::Call { call_id }) => call_id,
        other => {
            media.abort(pending);
            let e = match other {
                Ok(r) => AppError::Internal(format!("unexpected answer to call_invite: {r:?}")),
                Err(e) => e,
            };
            // A refusal travels as its code (`offline`, `busy`…) for the screen to word.
            let _ = app.emit(EVENT, CallPush::Ended { call_id: None, reason: e.relay_code().unwrap_or_else(|| e.to_string()) });
            return Err(e);
        }
    };
    media.set_call_id(&pending, &call_id);
    let _ = app.emit(EVENT, CallPush::Dialing { call_id: Some(call_id.clone()), peer: peer.clone() });
    let role = Role::Invited { call_id: call_id.clone(), to: peer.clone() };
    crate::calls::launch(&app, Launch { pending, call_id: call_id.clone(), peer, role, me, link, send, preset })?;
    Ok(call_id)
}

/// Answers a ringing call and starts its media.
#[tauri::command]
pub async fn call_accept(app: AppHandle, state: State<'_, AppState>, chat: State<'_, ChatState>, media: State<'_, CallMedia>, call_id: String, peer: String, sources: CallSources) -> AppResult<()> {
    let mut send = sources.send_config(true)?;
    send.camera_mode = chosen_camera_mode(&state);
    let preset = sources.preset()?;
    let me = chat.me()?;
    let link = chat.link()?;
    let pending = begin_when_free(&media, &link, Some(call_id.clone())).await?;
    let role = Role::Accept { call_id: call_id.clone(), from: peer.clone() };
    crate::calls::launch(&app, Launch { pending, call_id: call_id.clone(), peer, role, me, link, send, preset })?;
    let _ = app.emit(EVENT, CallPush::Connected { call_id, at: onair_chat::now_ms() });
    Ok(())
}

#[tauri::command]
pub async fn call_decline(app: AppHandle, chat: State<'_, ChatState>, call_id: String) -> AppResult<()> {
    on_socket(&chat, Request::CallDecline { call_id: call_id.clone() }).await?;
    let _ = app.emit(EVENT, CallPush::Ended { call_id: Some(call_id), reason: "declined".into() });
    Ok(())
}

/// Hangs up (or cancels a ringing call I started).
#[tauri::command]
pub async fn call_hangup(app: AppHandle, chat: State<'_, ChatState>, media: State<'_, CallMedia>, call_id: String) -> AppResult<()> {
    if media.runs(&call_id) {
        // The engine stops the recording, tells the relay and ends the call.
        media.command(CallCommand::Hangup)?;
        let _ = app.emit(EVENT, CallPush::Ended { call_id: Some(call_id), reason: "hangup".into() });
        return Ok(());
    }
    let r = on_socket(&chat, Request::CallHangup { call_id: call_id.clone() }).await;
    // Ended either way: the relay already forgot the call if it says so.
    let _ = app.emit(EVENT, CallPush::Ended { call_id: Some(call_id), reason: "hangup".into() });
    match r {
        Ok(_) => Ok(()),
        Err(AppError::Net(onair_chat::NetError::Refused { code: onair_proto::ErrorCode::NoSuchCall, .. })) => Ok(()),
        Err(e) => Err(e),
    }
}

/// An in-call control from the Calls screen.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallControl {
    Mute { on: bool },
    Camera { on: bool },
    /// `screen`, `camera[:N]`, `file:PATH` or `test`.
    Share { source: String },
    Beauty { smooth: u8, whiten: u8 },
    /// Asks the relay (and, where it requires it, the other side) first;
    /// writing starts only once allowed, and both sides are told.
    Record { on: bool },
    Bookmark { label: Option<String> },
}

impl CallControl {
    fn command(self) -> AppResult<CallCommand> {
        Ok(match self {
            CallControl::Mute { on } => CallCommand::Mute(on),
            CallControl::Camera { on } => CallCommand::Camera(on),
            CallControl::Share { source } => {
                let spec: VideoSpec = source.parse().map_err(|e| AppError::Invalid(format!("share {source:?}: {e}")))?;
                if matches!(spec, VideoSpec::None) {
                    return Err(AppError::Invalid("share what? screen, camera, a file or test".into()));
                }
                CallCommand::Video(spec)
            }
            CallControl::Beauty { smooth, whiten } => {
                CallCommand::Beauty((smooth > 0 || whiten > 0).then(|| onair_beauty::BeautyParams::new(smooth, whiten)))
            }
            CallControl::Record { on: true } => CallCommand::RecordStart,
            CallControl::Record { on: false } => CallCommand::RecordStop,
            CallControl::Bookmark { label } => CallCommand::Bookmark(label.map(|l| l.trim().to_string()).filter(|l| !l.is_empty())),
        })
    }
}

/// Applies an in-call control; what happened comes back as `call://state`
/// notices and figures.
#[tauri::command]
pub fn call_control(media: State<'_, CallMedia>, control: CallControl) -> AppResult<()> {
    media.command(control.command()?)
}

/// Answers the other side's request to record.
#[tauri::command]
pub async fn call_consent(chat: State<'_, ChatState>, media: State<'_, CallMedia>, call_id: String, accept: bool) -> AppResult<()> {
    if media.runs(&call_id) {
        return media.command(CallCommand::Consent(accept));
    }
    on_socket(&chat, Request::CallConsent { call_id, accept }).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_proto::EndReason;

    #[test]
    fn relay_call_events_become_screen_state() {
        let ring = Event::CallIncoming { call_id: "c1".into(), from: "bob".into(), media: vec![MediaKind::Audio] };
        assert_eq!(translate(&ring, 0), Some(CallPush::Ringing { call_id: "c1".into(), peer: "bob".into() }));
        let end = Event::CallEnded { call_id: "c1".into(), reason: EndReason::AnsweredElsewhere, by: None };
        assert_eq!(translate(&end, 0), Some(CallPush::Ended { call_id: Some("c1".into()), reason: "answered_elsewhere".into() }));
        let rec = Event::CallRecording { call_id: "c1".into(), by: "bob".into(), action: RecordAction::Start };
        assert_eq!(serde_json::to_value(translate(&rec, 0).unwrap()).unwrap(), serde_json::json!({"type": "recording", "call_id": "c1", "by": "bob", "action": "started"}));
        assert_eq!(translate(&Event::ConvChanged { conv: "x".into() }, 0), None);
    }

    #[test]
    fn controls_parse_and_refuse_nonsense() {
        let c: CallControl = serde_json::from_value(serde_json::json!({"type": "share", "source": "screen"})).unwrap();
        assert_eq!(c.command().unwrap(), CallCommand::Video(VideoSpec::Screen { display: None }));
        let c: CallControl = serde_json::from_value(serde_json::json!({"type": "beauty", "smooth": 0, "whiten": 0})).unwrap();
        assert_eq!(c.command().unwrap(), CallCommand::Beauty(None));
        let c: CallControl = serde_json::from_value(serde_json::json!({"type": "bookmark", "label": "  "})).unwrap();
        assert_eq!(c.command().unwrap(), CallCommand::Bookmark(None));
        let c: CallControl = serde_json::from_value(serde_json::json!({"type": "share", "source": "none"})).unwrap();
        assert!(matches!(c.command(), Err(AppError::Invalid(_))));
        let c: CallControl = serde_json::from_value(serde_json::json!({"type": "share", "source": "floppy:1"})).unwrap();
        assert!(matches!(c.command(), Err(AppError::Invalid(_))));
    }
}
