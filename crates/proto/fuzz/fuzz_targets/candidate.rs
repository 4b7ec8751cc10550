//! The relay's trickled-candidate check on any JSON or line, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| onair_proto::fuzzing::candidate(data));
