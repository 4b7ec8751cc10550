//! Fuzz target bodies for the call's parsers of peer input: each takes
//! arbitrary bytes and panics only on a bug. The cargo-fuzz targets in
//! `fuzz/` call these, and `tests/fuzz_replay.rs` replays their corpora plus
//! seeded mutations in every `cargo test`.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::jitter::{JitterBuffer, Output};
use crate::recv::depacketize;

/// RTP packets from the remote peer, in arrival order, into the video
/// jitter buffer and each frame it releases into the RTP H.264
/// depacketizer (10 ms pass between packets). Each
/// packet is `[flags][len][len payload bytes]`: bit 0 the marker, bits 1-2
/// the sequence step (+1, repeat, skip one, back one), bit 3 a new
/// timestamp, bit 4 an old one.
pub fn rtp_reassembler(data: &[u8]) {
    let mut j = JitterBuffer::default();
    let t0 = Instant::now();
    let (mut seq, mut ts) = (65_530u16, 90_000u32);
    let mut rest = data;
    let mut i = 0u64;
    while let [flags, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        seq = match (flags >> 1) & 3 {
            0 => seq.wrapping_add(1),
            1 => seq,
            2 => seq.wrapping_add(2),
            _ => seq.wrapping_sub(1),
        };
        if flags & 8 != 0 {
            ts = ts.wrapping_add(3000);
        }
        if flags & 16 != 0 {
            ts = ts.wrapping_sub(6000);
        }
        i += 1;
        let now = t0 + Duration::from_millis(i * 10);
        j.push(now, seq, ts, flags & 1 != 0, Bytes::copy_from_slice(payload));
        while let Some(out) = j.poll(now) {
            if let Output::Frame(f) = out {
                if let Some(au) = depacketize(&f.payloads) {
                    assert!(!au.is_empty(), "a whole access unit holds bytes");
                }
            }
        }
    }
}
