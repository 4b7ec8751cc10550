//! The cargo-fuzz targets' corpora and a bounded seeded random run of each,
//! on stable Rust (see tests/fuzz_support/replay.rs at the repository root).

#[path = "../../../tests/fuzz_support/replay.rs"]
mod replay;

use onair_relay::live::fuzzing;

const DIR: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn fmp4() {
    replay::run(DIR, "fmp4", 5000, fuzzing::fmp4);
}
