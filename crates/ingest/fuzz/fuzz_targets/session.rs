//! Arbitrary bytes from a would-be publisher, split into reads at the
//! positions the first byte picks, must never panic the ingest session. The
//! first publish request is accepted so media parsing is reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_ingest::{Event, Session};

fuzz_target!(|data: &[u8]| {
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
