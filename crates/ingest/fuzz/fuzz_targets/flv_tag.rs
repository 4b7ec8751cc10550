//! One FLV tag body (first byte: video or audio) through the tag parser,
//! the avcC parameter sets, the SPS and the AVCC to Annex B conversion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| onair_ingest::fuzzing::flv_tag(data));
