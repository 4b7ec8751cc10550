//! The cargo-fuzz targets' corpora and a bounded seeded random run of each,
//! on stable Rust (see tests/fuzz_support/replay.rs at the repository root).

#[path = "../../../tests/fuzz_support/replay.rs"]
mod replay;

use onair_ingest::fuzzing;

const DIR: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn session() {
    // Panics rml_rtmp raises and the session contains are expected here;
    // keep them out of the output, and print any other.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !onair_ingest::inside_rml_rtmp() {
            default(info)
        }
    }));
    replay::run(DIR, "session", 3000, fuzzing::session);
}

#[test]
fn flv_tag() {
    replay::run(DIR, "flv_tag", 20000, fuzzing::flv_tag);
}

#[test]
fn sps() {
    replay::run(DIR, "sps", 20000, fuzzing::sps);
}
