//! A publisher's configs and access units (the AudioSpecificConfig through
//! `asc_info`, the avcC through the SPS) into the fMP4 muxer: errors or
//! well-formed boxes, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| onair_relay::live::fuzzing::fmp4(data));
