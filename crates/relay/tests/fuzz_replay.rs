//! The cargo-fuzz targets' corpora and a bounded seeded random run of each,
//! on stable Rust (see tests/fuzz_support/replay.rs at the repository root).

#[path = "../../../tests/fuzz_support/replay.rs"]
mod replay;

use onair_relay::live::fuzzing;

const DIR: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn fmp4() {
    replay::run(DIR, "fmp4", 20000, fuzzing::fmp4);
}

#[path = "../fuzz/http_routes.rs"]
mod http_routes;

#[test]
fn http_range() {
    replay::run(DIR, "http_range", 2000, http_routes::http_range);
}

#[test]
fn room_body() {
    replay::run(DIR, "room_body", 1000, http_routes::room_body);
}

#[test]
fn cover() {
    replay::run(DIR, "cover", 3000, fuzzing::cover);
}
