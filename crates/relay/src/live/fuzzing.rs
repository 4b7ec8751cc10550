//! Fuzz target bodies for the live path's parsers of publisher input: each
//! takes arbitrary bytes and panics only on a bug. The cargo-fuzz targets in
//! `crates/relay/fuzz/` call these, and `tests/fuzz_replay.rs` replays their
//! corpora plus seeded mutations in every `cargo test`.

use onair_ingest::Media;

use super::fmp4::{asc_info, Muxer, Out};

/// A publisher's media as the fMP4 muxer gets it: records of
/// `[head][len][len bytes]`, where `head & 3` picks video config, audio
/// config (the AudioSpecificConfig `asc_info` reads), video or audio, bit 2
/// a keyframe, and the high bits move the clock (sometimes by huge steps).
/// Every output is a well-formed sequence of boxes.
pub fn fmp4(data: &[u8]) {
    let _ = asc_info(data);
    let mut mux = Muxer::default();
    let mut ts = 0u32;
    let mut rest = data;
    while let [head, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(n);
        rest = next;
        ts = if head & 0x80 != 0 { ts.wrapping_sub(u32::from(*head) << 24) } else { ts.wrapping_add(u32::from(head >> 3) * 11) };
        let cts_ms = i32::from(*head as i8) * if head & 0x40 != 0 { 16_000_000 } else { 40 };
        let media = match head & 3 {
            0 => Media::VideoConfig(body.to_vec()),
            1 => Media::AudioConfig(body.to_vec()),
            2 => Media::Video { dts_ms: ts, cts_ms, keyframe: head & 4 != 0, data: body.to_vec() },
            _ => Media::Audio { ts_ms: ts, data: body.to_vec() },
        };
        match mux.push(&media) {
            Ok(Out::Nothing) | Err(_) => {}
            Ok(Out::Init(i)) => boxes(&i),
            Ok(Out::Fragment(f, _)) => boxes(&f),
            Ok(Out::InitAndFragment(i, f, _)) => {
                boxes(&i);
                boxes(&f);
            }
        }
        let _ = mux.mime();
    }
}

/// Top-level boxes must tile the bytes exactly.
fn boxes(mut b: &[u8]) {
    assert!(!b.is_empty(), "the muxer never emits an empty segment");
    while !b.is_empty() {
        assert!(b.len() >= 8, "a box header is cut short");
        let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        assert!(size >= 8 && size <= b.len(), "box size {size} does not fit the {} bytes left", b.len());
        b = &b[size..];
    }
}

/// An uploaded room cover (`PUT /v1/rooms/ID/cover`): a verdict, never a
/// panic; an accepted one has the type its first bytes say and sane sides.
pub fn cover(data: &[u8]) {
    if let Ok((mime, w, h)) = super::follows::check_cover(data) {
        assert!(["image/png", "image/jpeg", "image/webp"].contains(&mime));
        assert!((16..=4096).contains(&w) && (16..=4096).contains(&h), "{w}x{h}");
    }
}
