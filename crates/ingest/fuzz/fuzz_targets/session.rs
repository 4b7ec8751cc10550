//! Arbitrary bytes from a would-be publisher, split into reads at the size
//! the first byte picks, must never panic the ingest session (see
//! `onair_ingest::fuzzing::session`). Seeds: `corpus/session/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // rml_rtmp's own panics are contained by `Session` (see `guarded`) and
    // become errors; libFuzzer's hook would abort on them before the
    // containment runs, so let those through and abort on any other panic.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if !onair_ingest::inside_rml_rtmp() {
                eprintln!("{info}");
                std::process::abort();
            }
        }))
    });
    onair_ingest::fuzzing::session(data);
});
