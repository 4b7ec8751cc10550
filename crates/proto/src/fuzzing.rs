//! Fuzz target bodies: each takes arbitrary bytes and panics only on a bug.
//! The cargo-fuzz targets in `fuzz/` call these, and `tests/fuzz_replay.rs`
//! replays their corpora plus seeded mutations in every `cargo test`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{check_candidate, check_sdp, decode_client_frame, ChangePasswordBody, ClientFrame, DeleteAccountBody, IceCandidate, Request, SignInBody};

/// A WebSocket frame from a client: a frame or a classified error, and a
/// decoded frame survives a round trip.
pub fn client_frame(data: &[u8]) {
    let (frame, _id) = decode_client_frame(data, 64 * 1024);
    if let Ok(f) = frame {
        let back: ClientFrame = serde_json::from_str(&f.to_json()).expect("a decoded frame re-encodes to valid JSON");
        assert_eq!(back, f);
    }
}

/// The JSON bodies of the relay's HTTP routes (`/v1/register`, `/v1/login`,
/// `/v1/account/*`, `/v1/rpc`): whatever parses re-encodes to JSON that
/// parses to the same encoding.
pub fn http_body(data: &[u8]) {
    if let Some(b) = round_trip::<SignInBody>(data) {
        let _ = crate::valid_username(&b.user);
    }
    round_trip::<ChangePasswordBody>(data);
    round_trip::<DeleteAccountBody>(data);
    if let Some(r) = round_trip::<Request>(data) {
        let back: Request = serde_json::from_slice(&serde_json::to_vec(&r).expect("a request encodes")).expect("it decodes");
        assert_eq!(back, r);
    }
}

fn round_trip<T: Serialize + DeserializeOwned>(data: &[u8]) -> Option<T> {
    let v: T = serde_json::from_slice(data).ok()?;
    let once = serde_json::to_string(&v).expect("a parsed body encodes");
    let again: T = serde_json::from_str(&once).expect("an encoded body parses");
    assert_eq!(serde_json::to_string(&again).expect("it encodes again"), once);
    Some(v)
}

/// An SDP offer or answer as the relay checks it before forwarding.
pub fn sdp(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if check_sdp(&text).is_ok() {
        assert!(text.starts_with("v=0"), "an accepted SDP starts with v=0");
        assert!(text.len() <= crate::MAX_SDP_BYTES);
    }
}

/// A trickled ICE candidate: the JSON the client sends (or, when that does
/// not parse, the bytes as the candidate line) through the relay's check.
pub fn candidate(data: &[u8]) {
    let c = serde_json::from_slice::<IceCandidate>(data).unwrap_or_else(|_| IceCandidate {
        candidate: String::from_utf8_lossy(data).into_owned(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    });
    if check_candidate(&c) {
        assert!(!c.candidate.chars().any(char::is_control), "an accepted candidate is one line");
    }
}
