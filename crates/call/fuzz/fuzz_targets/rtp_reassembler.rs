//! The remote peer's RTP payloads, in any order and with any loss, into the
//! H.264 access-unit reassembler: units or drops, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| onair_call::fuzzing::rtp_reassembler(data));
