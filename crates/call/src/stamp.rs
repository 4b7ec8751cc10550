//! Glass-to-glass stamps across processes.
//!
//! The test pattern carries a strip with its frame index and capture time
//! (`onair_media::source::test`), but that time is on the sending process's
//! own clock. A call re-stamps the strip right after capture with the wall
//! clock (microseconds since the Unix epoch, modulo 2^48, the strip's field
//! width), so the receiving process on the same machine subtracts its own
//! wall clock: latency = decoded-at − captured-at, with no clock exchange.

use onair_media::frame::VideoFrame;
use onair_media::source::test::{read_stamp, write_stamp};

const MOD: u64 = 1 << 48;

/// Wall clock in microseconds, modulo the strip's field width.
pub fn wall_us() -> u64 {
    let us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
    us % MOD
}

/// Writes `(index, now)` into the frame's strip.
pub fn stamp(f: &mut VideoFrame, index: u64) {
    write_stamp(f, index, wall_us());
}

/// Reads a strip from a decoded luma plane and returns `(index, latency ms)`.
/// `None` when the picture carries no plausible stamp (not a test pattern,
/// or a frame from more than a minute ago: garbage bits).
pub fn latency(luma: &[u8], width: usize, stride: usize) -> Option<(u64, f64)> {
    let (idx, us) = read_stamp(luma, width, stride)?;
    // The strip's background is mid-grey to the right of the 96 bit blocks:
    // a picture without a strip fails this and is not measured.
    let bw = (width / 96).max(1);
    let row = onair_media::source::test::STAMP_ROWS as usize / 2;
    let right = luma.get(row * stride + 96 * bw..row * stride + width)?;
    if !right.is_empty() && right.iter().any(|&v| !(100..=156).contains(&v)) {
        return None;
    }
    let now = wall_us();
    let d = (now + MOD - us) % MOD;
    (d < 60_000_000).then_some((idx, d as f64 / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_fresh_stamp() {
        let mut f = VideoFrame::black(320, 240);
        stamp(&mut f, 42);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let (y, _, _) = f.planes();
        let (idx, ms) = latency(y, 320, 320).unwrap();
        assert_eq!(idx, 42);
        assert!((4.0..1000.0).contains(&ms), "{ms}");
        let plain = VideoFrame::black(320, 240);
        assert!(latency(plain.planes().0, 320, 320).is_none());
    }
}
