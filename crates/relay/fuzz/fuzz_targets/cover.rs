//! An uploaded room cover through the relay's check (PNG/JPEG decoded,
//! WebP headers parsed): a verdict, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| onair_relay::live::fuzzing::cover(data));
