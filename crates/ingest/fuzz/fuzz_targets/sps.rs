//! Any bytes as an SPS (the relay parses the publisher's for MP4 replays)
//! must give a size or None, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sets) = onair_ingest::flv::avcc_parameter_sets(data) {
        for s in sets {
            let _ = onair_ingest::sps::sps_dimensions(&s);
        }
    }
    let _ = onair_ingest::sps::sps_dimensions(data);
});
