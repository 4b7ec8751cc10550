//! 1:1 call signaling (issue 5): the payload types the call requests,
//! responses and events in `frames.rs` carry, and the basic SDP check both
//! ends share.
//!
//! The relay only routes signaling; media goes peer to peer (or through
//! TURN). A call id is chosen by the relay (`c` + 16 hex digits) and
//! returned in the answer to `call_invite`; every later frame names it.

use serde::{Deserialize, Serialize};

/// The largest SDP (offer or answer) the relay forwards, in bytes.
pub const MAX_SDP_BYTES: usize = 32 * 1024;
/// The largest ICE candidate line (and its mid / ufrag) the relay forwards.
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// What the caller wants to send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
pub enum MediaKind {
    Audio,
    Video,
}

/// Offer or answer; a new `offer` inside an accepted call is a
/// renegotiation (ICE restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
pub enum SdpKind {
    Offer,
    Answer,
}

/// One trickled ICE candidate, as `RTCIceCandidateInit` has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[derive(ts_rs::TS)]
pub struct IceCandidate {
    /// The `candidate:` line (without `a=`).
    pub candidate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub sdp_mid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub sdp_m_line_index: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username_fragment: Option<String>,
}

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN only: `EXPIRY:USER` (coturn REST-API scheme).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN only: base64(HMAC-SHA1(secret, username)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Why a call ended, in `call_ended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
pub enum EndReason {
    /// The callee declined.
    Declined,
    /// The caller cancelled before an answer.
    Cancelled,
    /// Nobody answered within the ring timeout (30 s by default).
    Timeout,
    /// A participant hung up.
    Hangup,
    /// Another device of the callee answered (sent to the callee's other devices).
    AnsweredElsewhere,
    /// The other participant's connection was lost and did not come back
    /// within the grace period (10 s by default).
    PeerLost,
    /// The relay is shutting down.
    Shutdown,
}

/// Start or stop recording (request) / started or stopped (event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
pub enum RecordAction {
    Start,
    Stop,
}

/// What the relay's audit log records about a call's recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    /// A participant asked to record (consent mode), waiting for the other.
    Requested,
    /// Recording started (at once, or after the other side's consent).
    Start,
    Stop,
    /// The other participant declined a recording request (`by` = who declined).
    Declined,
    /// Server-side recording (issue 16): asked for, waiting for the other's answer.
    CloudRequested,
    /// The relay started recording (`by` = who started it, or who agreed).
    CloudStart,
    /// It ended (`by` = who stopped it, or `relay` at a limit).
    CloudStop,
    /// The other participant said no (`by` = who declined).
    CloudDeclined,
    /// Refused by a standing "never" (`by` = who tried).
    CloudRefused,
    /// The recorder failed or the relay restarted mid-recording.
    CloudFailed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub event: AuditEvent,
    pub by: String,
    /// Milliseconds since the Unix epoch, relay clock.
    pub at: i64,
}

/// A call's audit record (`call_audit` / `GET /v1/calls/<id>/audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallAudit {
    pub call_id: String,
    pub caller: String,
    pub callee: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
    pub events: Vec<AuditEntry>,
}

/// Call ids: `c` + 16 lowercase hex digits, chosen by the relay.
pub fn valid_call_id(id: &str) -> bool {
    id.strip_prefix('c')
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)))
}

/// Why an SDP was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP of {0} bytes exceeds the limit of {MAX_SDP_BYTES}")]
    TooLarge(usize),
    #[error("SDP must start with \"v=0\"")]
    NoVersion,
    #[error("SDP line {0} is not of the form <letter>=<value>")]
    BadLine(usize),
    #[error("SDP lacks a required {0:?} line")]
    Missing(&'static str),
}

/// A basic structural check of an SDP (RFC 8866): `v=0` first, every line
/// `<lowercase letter>=…`, with `o=`, `s=`, `t=` and at least one `m=`.
/// It does not understand the SDP; it keeps garbage from reaching a peer.
pub fn check_sdp(sdp: &str) -> Result<(), SdpError> {
    if sdp.len() > MAX_SDP_BYTES {
        return Err(SdpError::TooLarge(sdp.len()));
    }
    let mut lines = sdp.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).enumerate().peekable();
    match lines.next() {
        Some((_, "v=0")) => {}
        _ => return Err(SdpError::NoVersion),
    }
    let (mut o, mut s, mut t, mut m) = (false, false, false, false);
    for (i, line) in lines {
        if line.is_empty() {
            continue; // the trailing CRLF leaves one empty piece
        }
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' || line.chars().any(|c| c.is_control() && c != '\t') {
            return Err(SdpError::BadLine(i + 1));
        }
        match b[0] {
            b'o' => o = true,
            b's' => s = true,
            b't' => t = true,
            b'm' => m = true,
            _ => {}
        }
    }
    for (seen, name) in [(o, "o="), (s, "s="), (t, "t="), (m, "m=")] {
        if !seen {
            return Err(SdpError::Missing(name));
        }
    }
    Ok(())
}

/// A basic check of a trickled candidate: bounded, one line, `candidate:`
/// prefix (an `a=` prefix is tolerated, as some stacks add it).
pub fn check_candidate(c: &IceCandidate) -> bool {
    let line = c.candidate.strip_prefix("a=").unwrap_or(&c.candidate);
    let small = |s: &Option<String>| s.as_ref().is_none_or(|s| s.len() <= MAX_CANDIDATE_BYTES && !s.chars().any(char::is_control));
    line.len() <= MAX_CANDIDATE_BYTES
        && (line.starts_with("candidate:") || line.is_empty())
        && !line.chars().any(char::is_control)
        && small(&c.sdp_mid)
        && small(&c.username_fragment)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";

    #[test]
    fn sdp_check() {
        assert_eq!(check_sdp(OFFER), Ok(()));
        assert_eq!(check_sdp(&OFFER.replace("\r\n", "\n")), Ok(()));
        assert_eq!(check_sdp("hello"), Err(SdpError::NoVersion));
        assert_eq!(check_sdp("v=0\r\nthis is not sdp\r\n"), Err(SdpError::BadLine(2)));
        assert_eq!(check_sdp("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n"), Err(SdpError::Missing("m=")));
        let big = format!("{OFFER}{}", "a=x\r\n".repeat(MAX_SDP_BYTES / 5));
        assert!(matches!(check_sdp(&big), Err(SdpError::TooLarge(_))));
    }

    #[test]
    fn candidates_and_ids() {
        let mut c = IceCandidate { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host".into(), sdp_mid: Some("0".into()), sdp_m_line_index: Some(0), username_fragment: None };
        assert!(check_candidate(&c));
        c.candidate = "rm -rf /".into();
        assert!(!check_candidate(&c));
        c.candidate = format!("candidate:{}", "x".repeat(MAX_CANDIDATE_BYTES));
        assert!(!check_candidate(&c));
        assert!(valid_call_id("c0123456789abcdef"));
        assert!(!valid_call_id("c0123456789ABCDEF"));
        assert!(!valid_call_id("g:0123456789abcdef"));
    }

    #[test]
    fn call_frames_have_documented_shapes() {
        use crate::{ClientFrame, Event, Request, ServerFrame};
        let f = ClientFrame::Req { id: 3, body: Request::CallInvite { to: "bob".into(), media: vec![MediaKind::Audio, MediaKind::Video] } };
        assert_eq!(f.to_json(), r#"{"t":"req","id":3,"body":{"op":"call_invite","to":"bob","media":["audio","video"]}}"#);
        let f: ClientFrame = serde_json::from_str(r#"{"t":"req","id":4,"body":{"op":"call_ice","call_id":"c0123456789abcdef","candidate":null}}"#).unwrap();
        assert_eq!(f, ClientFrame::Req { id: 4, body: Request::CallIce { call_id: "c0123456789abcdef".into(), candidate: None } });
        let f: ClientFrame = serde_json::from_str(r#"{"t":"req","id":5,"body":{"op":"ice_servers"}}"#).unwrap();
        assert_eq!(f, ClientFrame::Req { id: 5, body: Request::IceServers });
        let e = ServerFrame::Event { ev: Event::CallEnded { call_id: "c0123456789abcdef".into(), reason: EndReason::Timeout, by: None } };
        assert_eq!(e.to_json(), r#"{"t":"event","ev":{"ev":"call_ended","call_id":"c0123456789abcdef","reason":"timeout"}}"#);
        let e = ServerFrame::Event { ev: Event::CallRecording { call_id: "c1".into(), by: "alice".into(), action: RecordAction::Start } };
        assert_eq!(e.to_json(), r#"{"t":"event","ev":{"ev":"call_recording","call_id":"c1","by":"alice","action":"start"}}"#);
    }
}
