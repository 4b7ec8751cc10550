//! Any bytes as an avcC record or an SPS (the relay parses the publisher's
//! for MP4 replays and the fMP4 init) give a size or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| onair_ingest::fuzzing::sps(data));
