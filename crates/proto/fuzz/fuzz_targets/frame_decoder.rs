//! Any bytes a client sends must decode to a frame or a classified error,
//! never a panic; a decoded frame must survive a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_proto::{decode_client_frame, ClientFrame};

fuzz_target!(|data: &[u8]| {
    let (frame, _id) = decode_client_frame(data, 64 * 1024);
    if let Ok(f) = frame {
        let json = f.to_json();
        let back: ClientFrame = serde_json::from_str(&json).expect("a decoded frame re-encodes to valid JSON");
        assert_eq!(back, f);
    }
});
