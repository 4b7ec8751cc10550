//! The relay's decoder for untrusted client frames.

use crate::{ClientFrame, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame of {size} bytes exceeds the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("frame is not valid JSON for any frame type: {0}")]
    Malformed(String),
    /// Valid JSON with a `t` (or request `op`) this version does not know.
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
            DecodeError::Malformed(_) => ErrorCode::BadFrame,
            DecodeError::UnknownType(_) => ErrorCode::UnknownType,
        }
    }
}

const KNOWN_TYPES: &[&str] = &["hello", "req", "ping"];

/// Decodes one client frame, never panicking. Also returns the request id
/// when one could be read, so an error can be matched to its request even
/// if the body was bad.
pub fn decode_client_frame(bytes: &[u8], limit: usize) -> (Result<ClientFrame, DecodeError>, Option<u64>) {
    if bytes.len() > limit {
        return (Err(DecodeError::TooLarge { size: bytes.len(), limit }), None);
    }
    match serde_json::from_slice::<ClientFrame>(bytes) {
        Ok(f) => {
            let id = match &f {
                ClientFrame::Req { id, .. } => Some(*id),
                _ => None,
            };
            (Ok(f), id)
        }
        Err(e) => {
            // Classify: a frame whose `t` or `body.op` we do not know is
            // "unknown type" (a newer client), anything else is malformed.
            let v: serde_json::Value = match serde_json::from_slice(bytes) {
                Ok(v) => v,
                Err(_) => return (Err(DecodeError::Malformed(short(&e))), None),
            };
            let id = v.get("id").and_then(|i| i.as_u64());
            let t = v.get("t").and_then(|t| t.as_str());
            let err = match t {
                Some(t) if !KNOWN_TYPES.contains(&t) => DecodeError::UnknownType(clip(t)),
                Some("req") => match v.get("body").and_then(|b| b.get("op")).and_then(|o| o.as_str()) {
                    Some(op) if !known_op(op) => DecodeError::UnknownType(clip(op)),
                    _ => DecodeError::Malformed(short(&e)),
                },
                _ => DecodeError::Malformed(short(&e)),
            };
            (Err(err), id)
        }
    }
}

/// Whether `op` names a request this version knows: a body holding only
/// the op fails on a missing field (or parses), never on an unknown variant.
/// (An unknown value inside a known op, such as `"kind":"sideways"`, is a
/// malformed request, not an unknown one.)
fn known_op(op: &str) -> bool {
    match serde_json::from_value::<crate::Request>(serde_json::json!({ "op": op })) {
        Ok(_) => true,
        Err(e) => !e.to_string().contains("unknown variant"),
    }
}

fn short(e: &serde_json::Error) -> String {
    clip(&e.to_string())
}

/// Keeps error text bounded: it is echoed to the peer.
fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_bad_input() {
        let (r, _) = decode_client_frame(b"\xff\x00garbage", 1024);
        assert!(matches!(r, Err(DecodeError::Malformed(_))));
        let (r, _) = decode_client_frame(br#"{"t":"teleport"}"#, 1024);
        assert_eq!(r, Err(DecodeError::UnknownType("teleport".into())));
        let (r, id) = decode_client_frame(br#"{"t":"req","id":9,"body":{"op":"fly"}}"#, 1024);
        assert_eq!(r, Err(DecodeError::UnknownType("fly".into())));
        assert_eq!(id, Some(9));
        let (r, id) = decode_client_frame(br#"{"t":"req","id":9,"body":{"op":"send"}}"#, 1024);
        assert!(matches!(r, Err(DecodeError::Malformed(_))));
        assert_eq!(id, Some(9));
        let (r, _) = decode_client_frame(br#"{"t":"req","id":9,"body":{"op":"call_sdp","call_id":"c1","kind":"sideways","sdp":""}}"#, 1024);
        assert!(matches!(r, Err(DecodeError::Malformed(_))), "a bad value in a known op is malformed: {r:?}");
        let (r, _) = decode_client_frame(br#"{"t":"req","id":9,"body":{"op":"ice_servers","x":1}}"#, 1024);
        assert!(r.is_ok(), "unknown fields are ignored");
        let (r, _) = decode_client_frame(&[b' '; 2000], 1024);
        assert!(matches!(r, Err(DecodeError::TooLarge { .. })));
    }

    #[test]
    fn random_bytes_never_panic() {
        // A cheap stand-in for the fuzz target that runs in every `cargo test`.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let seeds: [&[u8]; 3] = [br#"{"t":"req","id":1,"body":{"op":"sync","conv":"g:0","after":0,"limit":5}}"#, br#"{"t":"hello","v":1,"token":"x"}"#, b"[]"];
        for i in 0..20_000 {
            let mut buf = seeds[i % 3].to_vec();
            for _ in 0..(i % 7) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let pos = (x as usize) % buf.len();
                buf[pos] = (x >> 32) as u8;
            }
            let _ = decode_client_frame(&buf, 4096);
        }
    }
}
