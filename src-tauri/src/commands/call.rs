//! The Calls screen's commands: invite, answer, decline, cancel, hang up,
//! record (with the relay's consent flow), and the events that drive the
//! screen (`call://state`).
//!
//! Signaling goes over the chat listener's socket: the relay treats one
//! signed-in WebSocket as one device, and this app is one device, so the
//! socket that is told about an incoming call is the one that answers it.
//! The call events the listener receives are translated by [`on_event`].

use onair_chat::Command;
use onair_proto::{Event, MediaKind, RecordAction, Request, Response};
use serde::Serialize;
use tauri::{AppHandle, Emitter, State};

use crate::commands::chat::ChatState;
use crate::error::{AppError, AppResult};

pub const EVENT: &str = "call://state";

/// `call://state` payloads; the UI's `lib/callState.ts` and
/// `lib/recording.ts` reduce them.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallPush {
    Dialing { call_id: Option<String>, peer: String },
    Ringing { call_id: String, peer: String },
    /// The callee's device is ringing (to the caller).
    PeerRinging { call_id: String },
    Accepted { call_id: String },
    Connected { call_id: String, at: i64 },
    Ended { call_id: Option<String>, reason: String },
    Quality { call_id: String, score: u8 },
    /// The other side's relay connection dropped or came back.
    PeerConnection { call_id: String, connected: bool },
    /// Someone started or stopped recording (`started` | `stopped`).
    Recording { call_id: String, by: String, action: String },
    /// The other side asks to record; answer with `call_consent`.
    ConsentRequest { call_id: String, by: String },
    /// My request to record was answered.
    ConsentResult { call_id: String, by: String, accepted: bool },
}

/// The relay's call events as screen state; None for other events.
pub fn translate(ev: &Event, now_ms: i64) -> Option<CallPush> {
    let rec = |a: &RecordAction| if matches!(a, RecordAction::Start) { "started" } else { "stopped" }.to_string();
    Some(match ev {
        Event::CallIncoming { call_id, from, .. } => CallPush::Ringing { call_id: call_id.clone(), peer: from.clone() },
        Event::CallRinging { call_id } => CallPush::PeerRinging { call_id: call_id.clone() },
        // Media runs in crates/call once wired; until then signaling
        // success is the connected state the screen shows.
        Event::CallAccepted { call_id } => return Some(CallPush::Connected { call_id: call_id.clone(), at: now_ms }),
        Event::CallEnded { call_id, reason, .. } => CallPush::Ended { call_id: Some(call_id.clone()), reason: serde_json::to_value(reason).ok()?.as_str()?.to_string() },
        Event::CallPeer { call_id, connected } => CallPush::PeerConnection { call_id: call_id.clone(), connected: *connected },
        Event::CallRecording { call_id, by, action } => CallPush::Recording { call_id: call_id.clone(), by: by.clone(), action: rec(action) },
        Event::CallConsentRequest { call_id, by } => CallPush::ConsentRequest { call_id: call_id.clone(), by: by.clone() },
        Event::CallConsentResult { call_id, by, accepted } => CallPush::ConsentResult { call_id: call_id.clone(), by: by.clone(), accepted: *accepted },
        _ => return None,
    })
}

/// Called by the chat listener for every relay event.
pub fn on_event(app: &AppHandle, ev: &Event) {
    if let Some(p) = translate(ev, onair_chat::now_ms()) {
        if let CallPush::Ringing { peer, .. } = &p {
            crate::tray::notify(app, "Incoming call", &format!("{peer} is calling"));
        }
        let _ = app.emit(EVENT, p);
    }
}

async fn on_socket(chat: &ChatState, req: Request) -> AppResult<Response> {
    let tx = chat.commands()?;
    let (reply, rx) = tokio::sync::oneshot::channel();
    tx.send(Command::Request { req, reply }).await.map_err(|_| AppError::State("the relay connection is not running".into()))?;
    match rx.await.map_err(|_| AppError::State("the relay connection stopped".into()))? {
        Ok(r) => Ok(r),
        Err(onair_chat::NetError::Closed) => Err(AppError::State("offline: the relay cannot be reached right now".into())),
        Err(e) => Err(e.into()),
    }
}

/// Rings `peer`; the call id comes back once the relay accepted the invite.
#[tauri::command]
pub async fn call_invite(app: AppHandle, chat: State<'_, ChatState>, peer: String, video: bool) -> AppResult<String> {
    let peer = peer.trim().to_string();
    if !onair_proto::valid_username(&peer) {
        return Err(AppError::Invalid(format!("{peer:?} is not a user name")));
    }
    let media = if video { vec![MediaKind::Audio, MediaKind::Video] } else { vec![MediaKind::Audio] };
    let _ = app.emit(EVENT, CallPush::Dialing { call_id: None, peer: peer.clone() });
    match on_socket(&chat, Request::CallInvite { to: peer.clone(), media }).await {
        Ok(Response::Call { call_id }) => {
            let _ = app.emit(EVENT, CallPush::Dialing { call_id: Some(call_id.clone()), peer });
            Ok(call_id)
        }
        Ok(other) => Err(AppError::Internal(format!("unexpected answer to call_invite: {other:?}"))),
        Err(e) => {
            let _ = app.emit(EVENT, CallPush::Ended { call_id: None, reason: e.to_string() });
            Err(e)
        }
    }
}

#[tauri::command]
pub async fn call_accept(app: AppHandle, chat: State<'_, ChatState>, call_id: String) -> AppResult<()> {
    on_socket(&chat, Request::CallAccept { call_id: call_id.clone() }).await?;
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
pub async fn call_hangup(app: AppHandle, chat: State<'_, ChatState>, call_id: String) -> AppResult<()> {
    let r = on_socket(&chat, Request::CallHangup { call_id: call_id.clone() }).await;
    // Ended either way: the relay already forgot the call if it says so.
    let _ = app.emit(EVENT, CallPush::Ended { call_id: Some(call_id), reason: "hangup".into() });
    match r {
        Ok(_) => Ok(()),
        Err(AppError::Net(onair_chat::NetError::Refused { code: onair_proto::ErrorCode::NoSuchCall, .. })) => Ok(()),
        Err(e) => Err(e),
    }
}

// No `call_record` yet: announcing a recording needs the recorder, which
// needs the call's media in the app (the other side must never be told it
// is recorded when nothing records).

/// Answers the other side's request to record.
#[tauri::command]
pub async fn call_consent(chat: State<'_, ChatState>, call_id: String, accept: bool) -> AppResult<()> {
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
}
