//! The cargo-fuzz target's corpus and a bounded seeded random run of it,
//! on stable Rust (see tests/fuzz_support/replay.rs at the repository root).

#[path = "../../../tests/fuzz_support/replay.rs"]
mod replay;

const DIR: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn rtp_reassembler() {
    replay::run(DIR, "rtp_reassembler", 20000, onair_call::fuzzing::rtp_reassembler);
}
