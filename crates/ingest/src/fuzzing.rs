//! Fuzz target bodies: each takes arbitrary bytes and panics only on a bug.
//! The cargo-fuzz targets in `fuzz/` call these, and `tests/fuzz_replay.rs`
//! replays their corpora plus seeded mutations in every `cargo test`.

use crate::{flv, sps, Event, Session};

/// Bytes from a would-be publisher, split into reads of the size the first
/// byte picks. Every publish request is accepted so media parsing is reached.
/// rml_rtmp's own panics are contained by the session (see
/// [`crate::inside_rml_rtmp`]); any other panic is a bug.
pub fn session(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else { return };
    let mut s = Session::new();
    let step = usize::from(split).max(1);
    for chunk in rest.chunks(step) {
        if s.handle_input(chunk).is_err() {
            return;
        }
        while let Some(ev) = s.poll_output() {
            match ev {
                Event::PublishRequested { .. } => {
                    let _ = s.accept_publish();
                }
                Event::Finished => return,
                _ => {}
            }
        }
    }
}

/// One FLV tag body as RTMP carries it: the first byte's low bit picks
/// video or audio, the rest is the body. Parsed media goes on to what the
/// relay does with it: parameter sets, SPS, AVCC to Annex B.
pub fn flv_tag(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else { return };
    let parsed = if kind & 1 == 0 { flv::parse_video(body, 40) } else { flv::parse_audio(body, 40) };
    match parsed {
        Ok(Some(crate::Media::VideoConfig(c))) => {
            if let Ok(sets) = flv::avcc_parameter_sets(&c) {
                assert!(!sets.is_empty(), "an avcC record parses to at least one set");
                let _ = sps::parse_sps(&sets[0]);
                let out = flv::avcc_to_annexb(&[], &sets).expect("parameter sets alone always convert");
                assert!(out.len() >= 4 * sets.len());
            }
        }
        Ok(Some(crate::Media::Video { data, .. })) => {
            if let Ok(out) = flv::avcc_to_annexb(&data, &[]) {
                assert_eq!(out.len(), data.len(), "a start code replaces each 4-byte length");
            }
        }
        _ => {}
    }
}

/// Any bytes as an avcC record and as an SPS NAL unit (the relay reads the
/// publisher's picture size from it).
pub fn sps(data: &[u8]) {
    if let Ok(sets) = flv::avcc_parameter_sets(data) {
        for s in sets {
            check_sps(&s);
        }
    }
    check_sps(data);
}

fn check_sps(nal: &[u8]) {
    if let Ok((w, h)) = sps::parse_sps(nal) {
        assert!((1..=16384).contains(&w) && (1..=16384).contains(&h), "{w}x{h} is outside the accepted sizes");
    }
}
