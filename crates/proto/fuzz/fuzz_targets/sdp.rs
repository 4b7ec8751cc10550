//! The relay's structural SDP check on any bytes, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| onair_proto::fuzzing::sdp(data));
