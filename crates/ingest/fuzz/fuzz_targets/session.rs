//! Arbitrary bytes from a would-be publisher, split into reads at the
//! positions the first byte picks, must never panic the ingest session. The
//! first publish request is accepted so media parsing is reached too.
//! Seeds: `corpus/session/` (e.g. `\xff` + testdata/publish.bin).
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_ingest::{Event, Session};

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
    let Some((&split, rest)) = data.split_first() else { return };
    let mut s = Session::new();
    let step = usize::from(split).max(1);
    for chunk in rest.chunks(step) {
        if s.handle_input(chunk).is_err() {
            return;
        }
        while let Some(ev) = s.poll_output() {
            if let Event::PublishRequested { .. } = ev {
                let _ = s.accept_publish();
            }
        }
    }
});
