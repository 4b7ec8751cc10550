//! Translation between the relay's frames (`onair_proto`) and the state
//! machine's [`Signal`]s and [`Input`]s. Requests are numbered; the answers
//! that matter to a call (the invite's call id, whether we may record, a
//! refusal) are matched back to what was asked.

use std::collections::HashMap;

use onair_proto::{
    ClientFrame, EndReason as WireEnd, ErrorCode, Event, MediaKind, RecordAction, Request, Response, SdpKind, ServerFrame,
    PROTOCOL_VERSION,
};

use crate::error::{CallError, Result};
use crate::state::{EndReason, Input, Signal};

/// Milliseconds since the Unix epoch (for events the relay does not stamp).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub fn hello(token: &str) -> String {
    ClientFrame::Hello { v: PROTOCOL_VERSION, token: token.into() }.to_json()
}

/// `Ok(Some(user))` for the welcome, `Ok(None)` for anything else that may
/// come first, an error when the relay refuses us.
pub fn welcome(text: &str) -> Result<Option<String>> {
    match serde_json::from_str::<ServerFrame>(text) {
        Ok(ServerFrame::Welcome { user, .. }) => Ok(Some(user)),
        Ok(ServerFrame::Error { code, message, .. }) => Err(CallError::Signaling(format!("{code:?}: {message}"))),
        _ => Ok(None),
    }
}

/// The request asking for STUN/TURN servers, with its id.
pub fn ice_servers_request(id: u64) -> String {
    ClientFrame::Req { id, body: Request::IceServers }.to_json()
}

/// The answer to [`ice_servers_request`], if `text` is it.
pub fn ice_servers_answer(text: &str, id: u64) -> Option<Result<Vec<onair_proto::IceServer>>> {
    ice_servers_answer_frame(&serde_json::from_str::<ServerFrame>(text).ok()?, id)
}

/// The same for a parsed frame.
pub fn ice_servers_answer_frame(frame: &ServerFrame, id: u64) -> Option<Result<Vec<onair_proto::IceServer>>> {
    match frame {
        ServerFrame::Res { id: rid, ok, err } if *rid == id => Some(match (ok, err) {
            (Some(Response::IceServers { ice_servers, .. }), _) => Ok(ice_servers.clone()),
            (_, Some(e)) => Err(CallError::Signaling(format!("ice servers: {:?}: {}", e.code, e.message))),
            _ => Ok(Vec::new()),
        }),
        _ => None,
    }
}

/// Numbers requests and remembers what each asked.
#[derive(Default)]
pub struct Wire {
    me: String,
    next_id: u64,
    pending: HashMap<u64, Signal>,
}

impl Wire {
    pub fn new(me: impl Into<String>, first_id: u64) -> Self {
        Wire { me: me.into(), next_id: first_id, pending: HashMap::new() }
    }

    pub fn encode(&mut self, s: &Signal) -> String {
        self.encode_frame(s).to_json()
    }

    /// The request frame for `s` (numbered; for a connection someone else
    /// writes, like the app's chat socket).
    pub fn encode_frame(&mut self, s: &Signal) -> ClientFrame {
        let id = self.next_id;
        self.next_id += 1;
        let body = match s.clone() {
            Signal::Invite { to } => Request::CallInvite { to, media: vec![MediaKind::Audio, MediaKind::Video] },
            Signal::Accept { call_id } => Request::CallAccept { call_id },
            Signal::Decline { call_id } => Request::CallDecline { call_id },
            Signal::Hangup { call_id } => Request::CallHangup { call_id },
            Signal::Sdp { call_id, offer, sdp } => Request::CallSdp { call_id, kind: if offer { SdpKind::Offer } else { SdpKind::Answer }, sdp },
            Signal::Candidate { call_id, candidate } => Request::CallIce { call_id, candidate: Some(candidate) },
            Signal::Resume { call_id } => Request::CallResume { call_id },
            Signal::Record { call_id, on } => Request::CallRecord { call_id, action: if on { RecordAction::Start } else { RecordAction::Stop } },
            Signal::Consent { call_id, accept } => Request::CallConsent { call_id, accept },
        };
        // Only answers that change the call are kept (not every candidate's).
        if matches!(s, Signal::Invite { .. } | Signal::Accept { .. } | Signal::Record { .. } | Signal::Consent { .. }) {
            if self.pending.len() > 64 {
                self.pending.clear();
            }
            self.pending.insert(id, s.clone());
        }
        ClientFrame::Req { id, body }
    }

    /// What a frame from the relay means for the call. Unknown or garbled
    /// frames mean nothing (and never panic).
    pub fn decode(&mut self, text: &str) -> Vec<Input> {
        match serde_json::from_str::<ServerFrame>(text) {
            Ok(frame) => self.decode_frame(frame),
            Err(_) => {
                tracing::debug!("ignoring a frame that is not a server frame");
                Vec::new()
            }
        }
    }

    /// What a parsed frame from the relay means for the call.
    pub fn decode_frame(&mut self, frame: ServerFrame) -> Vec<Input> {
        match frame {
            ServerFrame::Event { ev } => self.event(ev),
            ServerFrame::Res { id, ok, err } => {
                let asked = self.pending.remove(&id);
                match (asked, ok, err) {
                    (Some(Signal::Invite { .. }), Some(Response::Call { call_id }), _) => vec![Input::Created { call_id }],
                    (Some(Signal::Record { call_id, on: true }), Some(Response::Recording { may_record, .. }), _) => {
                        if may_record {
                            vec![Input::Recording { call_id, by: self.me.clone(), on: true, at: now_ms() }]
                        } else {
                            Vec::new() // consent awaited: call_consent_result follows
                        }
                    }
                    (Some(Signal::Record { call_id, on: false }), Some(_), _) => {
                        vec![Input::Recording { call_id, by: self.me.clone(), on: false, at: now_ms() }]
                    }
                    (Some(Signal::Invite { .. }), _, Some(e)) => vec![Input::Refused { message: refusal(e.code, &e.message) }],
                    // Too late to answer (cancelled, answered elsewhere): the call is over.
                    (Some(Signal::Accept { call_id }), _, Some(e)) => {
                        vec![Input::Ended { call_id, reason: EndReason::Refused(refusal(e.code, &e.message)) }]
                    }
                    (Some(_), _, Some(e)) => vec![Input::Refused { message: refusal(e.code, &e.message) }],
                    (None, _, Some(e)) => {
                        tracing::debug!(code = ?e.code, "relay refused a call message: {}", e.message);
                        Vec::new()
                    }
                    _ => Vec::new(),
                }
            }
            ServerFrame::Error { code, message, .. } => {
                tracing::warn!(?code, "relay error: {message}");
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn event(&mut self, ev: Event) -> Vec<Input> {
        let me = self.me.clone();
        vec![match ev {
            Event::CallIncoming { call_id, from, .. } => Input::Incoming { call_id, from, ice_servers: Vec::new() },
            Event::CallRinging { call_id } => Input::Ringing { call_id },
            Event::CallAccepted { call_id } => Input::Accepted { call_id, ice_servers: Vec::new() },
            Event::CallEnded { call_id, reason, .. } => Input::Ended { call_id, reason: end_reason(reason) },
            Event::CallSdp { call_id, kind, sdp, .. } => Input::Sdp { call_id, offer: kind == SdpKind::Offer, sdp },
            Event::CallIce { call_id, candidate: Some(candidate), .. } => Input::Candidate { call_id, candidate },
            Event::CallPeer { call_id, connected } => Input::PeerRelay { call_id, connected },
            Event::CallRecording { call_id, by, action } => Input::Recording { call_id, by, on: action == RecordAction::Start, at: now_ms() },
            Event::CallConsentRequest { call_id, by } => Input::ConsentRequested { call_id, by },
            Event::CallConsentResult { call_id, by, accepted: true } => {
                // Consent given: we record now (and say so in our events).
                let _ = by;
                Input::Recording { call_id, by: me, on: true, at: now_ms() }
            }
            Event::CallConsentResult { call_id, by, accepted: false } => Input::RecordingDeclined { call_id, by, at: now_ms() },
            _ => return Vec::new(),
        }]
    }
}

fn end_reason(r: WireEnd) -> EndReason {
    match r {
        WireEnd::Declined => EndReason::Declined,
        WireEnd::Cancelled => EndReason::Cancelled,
        WireEnd::Timeout => EndReason::NoAnswer,
        WireEnd::Hangup => EndReason::RemoteHungUp,
        WireEnd::AnsweredElsewhere => EndReason::Refused("answered on another device".into()),
        WireEnd::PeerLost => EndReason::ConnectionLost,
        WireEnd::Shutdown => EndReason::Refused("the relay is shutting down".into()),
    }
}

fn refusal(code: ErrorCode, message: &str) -> String {
    match code {
        ErrorCode::Busy => "busy (already in a call)".into(),
        ErrorCode::Offline => "offline".into(),
        ErrorCode::Blocked => "you are blocked".into(),
        ErrorCode::StrangerRefused => "accepts calls from friends only".into(),
        ErrorCode::NotFound => "no such user".into(),
        _ => format!("{code:?}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_answer_and_record_round_trip() {
        let mut w = Wire::new("alice", 10);
        let req = w.encode(&Signal::Invite { to: "bob".into() });
        assert!(req.contains(r#""op":"call_invite""#) && req.contains(r#""id":10"#));
        let res = ServerFrame::ok(10, Response::Call { call_id: "c0123456789abcdef".into() }).to_json();
        assert_eq!(w.decode(&res), vec![Input::Created { call_id: "c0123456789abcdef".into() }]);
        w.encode(&Signal::Record { call_id: "c1".into(), on: true });
        let res = ServerFrame::ok(11, Response::Recording { call_id: "c1".into(), may_record: false }).to_json();
        assert!(w.decode(&res).is_empty());
        let ev = ServerFrame::Event { ev: Event::CallConsentResult { call_id: "c1".into(), by: "bob".into(), accepted: false } }.to_json();
        assert!(matches!(&w.decode(&ev)[..], [Input::RecordingDeclined { by, .. }] if by == "bob"));
        w.encode(&Signal::Accept { call_id: "c2".into() });
        let res = ServerFrame::err(12, ErrorCode::NoSuchCall, "gone").to_json();
        assert!(matches!(&w.decode(&res)[..], [Input::Ended { call_id, reason: EndReason::Refused(_) }] if call_id == "c2"));
        for garbage in ["", "{", "null", r#"{"t":"event","ev":{"ev":"call_sdp"}}"#, r#"{"t":"res","id":99}"#] {
            assert!(w.decode(garbage).is_empty());
        }
    }
}
