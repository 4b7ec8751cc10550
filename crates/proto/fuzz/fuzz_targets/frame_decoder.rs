//! Any bytes a client sends must decode to a frame or a classified error,
//! never a panic; a decoded frame must survive a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| onair_proto::fuzzing::client_frame(data));
