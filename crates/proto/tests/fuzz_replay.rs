//! The cargo-fuzz targets' corpora and a bounded seeded random run of each,
//! on stable Rust (see tests/fuzz_support/replay.rs at the repository root).

#[path = "../../../tests/fuzz_support/replay.rs"]
mod replay;

use onair_proto::fuzzing;

const DIR: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn frame_decoder() {
    replay::run(DIR, "frame_decoder", 20000, fuzzing::client_frame);
}

#[test]
fn http_body() {
    replay::run(DIR, "http_body", 20000, fuzzing::http_body);
}

#[test]
fn sdp() {
    replay::run(DIR, "sdp", 20000, fuzzing::sdp);
}

#[test]
fn candidate() {
    replay::run(DIR, "candidate", 20000, fuzzing::candidate);
}
