//! Synthetic sources for tests and demos, like GStreamer's `videotestsrc`.
//!
//! Video: a moving colour pattern; the top [`STAMP_ROWS`] rows carry a
//! machine-readable strip with the frame index and its capture time in
//! microseconds; once a second (frame index divisible by the frame rate) the
//! picture below the strip flashes white. Audio: a 440 Hz tone at -20 dBFS with
//! a loud 10 ms click at the start of every second, so the flash and the click
//! mark the same instant and a test can measure A/V sync from the output file.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::{AudioSource, VideoSource};
use crate::frame::{AudioFrame, Clock, FramePool, VideoFrame, CHANNELS, SAMPLE_RATE};
use crate::Result;

/// Height of the stamp strip in rows.
pub const STAMP_ROWS: u32 = 16;
/// Bits per field in the strip (index, then capture microseconds).
const FIELD_BITS: u32 = 48;
const STAMP_BITS: u32 = 2 * FIELD_BITS;
/// Samples per audio chunk (one AAC frame).
pub const AUDIO_CHUNK: usize = 1024;
/// Length of the click at each second.
pub const CLICK_SAMPLES: usize = 480;

/// The synthetic video source.
pub struct TestVideo {
    width: u32,
    height: u32,
    fps: u32,
    index: u64,
    clock: Clock,
    stop: Arc<AtomicBool>,
    /// A pattern twice as wide as the frame; frames are windows into it, so a
    /// frame costs a row copy rather than per-pixel arithmetic.
    pattern: Vec<u8>,
    pool: FramePool,
}

impl TestVideo {
    pub fn new(width: u32, height: u32, fps: u32, clock: Clock, stop: Arc<AtomicBool>) -> Self {
        let (w, h) = (width as usize, height as usize);
        let pw = 2 * w;
        // Y: diagonal bands; U/V: slow horizontal colour ramps.
        let mut pattern = vec![0u8; pw * h + 2 * (pw / 2) * (h / 2)];
        for y in 0..h {
            for x in 0..pw {
                pattern[y * pw + x] = (16 + ((x + y) * 219 / (w + h)) % 220) as u8;
            }
        }
        let (cw, ch) = (pw / 2, h / 2);
        let base = pw * h;
        for y in 0..ch {
            for x in 0..cw {
                let t = (x * 255 / cw.max(1)) as u8;
                pattern[base + y * cw + x] = t;
                pattern[base + cw * ch + y * cw + x] = 255 - ((y * 255 / ch.max(1)) as u8 / 2 + t / 2);
            }
        }
        TestVideo { width, height, fps, index: 0, clock, stop, pattern, pool: FramePool::new(width, height) }
    }

    /// Renders frame `index` (the capture time is stamped separately).
    fn render(&self, index: u64, pts: Duration) -> VideoFrame {
        let (w, h) = (self.width as usize, self.height as usize);
        let pw = 2 * w;
        // Every pixel is written below (the flash, or the pattern's rows).
        let mut f = self.pool.frame();
        let flash = index % self.fps as u64 == 0;
        let shift = (index as usize * 4) % w;
        let (cw, ch) = (w / 2, h / 2);
        let (yp, up, vp) = f.planes_mut();
        if flash {
            yp.fill(235);
            up.fill(128);
            vp.fill(128);
        } else {
            for y in 0..h {
                yp[y * w..(y + 1) * w].copy_from_slice(&self.pattern[y * pw + shift..y * pw + shift + w]);
            }
            let base = pw * h;
            let pcw = pw / 2;
            let cs = shift / 2;
            for y in 0..ch {
                let row = base + y * pcw + cs;
                up[y * cw..(y + 1) * cw].copy_from_slice(&self.pattern[row..row + cw]);
                let row = base + pcw * ch + y * pcw + cs;
                vp[y * cw..(y + 1) * cw].copy_from_slice(&self.pattern[row..row + cw]);
            }
        }
        write_stamp(&mut f, index, pts.as_micros() as u64);
        f.pts = pts;
        f
    }
}

impl VideoSource for TestVideo {
    fn describe(&self) -> String {
        format!("test pattern {}x{}@{}", self.width, self.height, self.fps)
    }

    fn next_frame(&mut self) -> Result<Option<VideoFrame>> {
        // Frame i is due at i/fps: pacing against the epoch never drifts.
        let due = Duration::from_nanos(self.index * 1_000_000_000 / self.fps as u64);
        self.clock.sleep_until(due, &self.stop);
        let f = self.render(self.index, due);
        self.index += 1;
        Ok(Some(f))
    }
}

/// Writes the strip: black/white blocks, index bits then microsecond bits, MSB
/// first, on a mid-grey background so the strip's extent is visible.
pub fn write_stamp(f: &mut VideoFrame, index: u64, micros: u64) {
    let w = f.width as usize;
    let rows = (STAMP_ROWS as usize).min(f.height as usize);
    let bw = (w / STAMP_BITS as usize).max(1);
    let (yp, up, vp) = f.planes_mut();
    for r in 0..rows {
        let row = &mut yp[r * w..(r + 1) * w];
        row.fill(128);
        for bit in 0..STAMP_BITS as usize {
            let v = if bit < FIELD_BITS as usize {
                (index >> (FIELD_BITS as usize - 1 - bit)) & 1
            } else {
                (micros >> (STAMP_BITS as usize - 1 - bit)) & 1
            };
            let x0 = bit * bw;
            if x0 + bw > w {
                break;
            }
            row[x0..x0 + bw].fill(if v == 1 { 235 } else { 16 });
        }
    }
    let cw = w / 2;
    for r in 0..rows / 2 {
        up[r * cw..(r + 1) * cw].fill(128);
        vp[r * cw..(r + 1) * cw].fill(128);
    }
}

/// Reads the strip back from a decoded luma plane: `(index, capture µs)`.
/// Samples the centre of each block, so it survives lossy encoding.
pub fn read_stamp(luma: &[u8], width: usize, stride: usize) -> Option<(u64, u64)> {
    let bw = (width / STAMP_BITS as usize).max(1);
    let row = STAMP_ROWS as usize / 2;
    let line = luma.get(row * stride..row * stride + width)?;
    let mut idx = 0u64;
    let mut us = 0u64;
    for bit in 0..STAMP_BITS as usize {
        let v = u64::from(*line.get(bit * bw + bw / 2)? > 128);
        if bit < FIELD_BITS as usize {
            idx = (idx << 1) | v;
        } else {
            us = (us << 1) | v;
        }
    }
    Some((idx, us))
}

/// The synthetic audio source.
pub struct TestAudio {
    sample: u64,
    clock: Clock,
    stop: Arc<AtomicBool>,
}

impl TestAudio {
    pub fn new(clock: Clock, stop: Arc<AtomicBool>) -> Self {
        TestAudio { sample: 0, clock, stop }
    }
}

/// The test signal at absolute sample `n`.
pub fn test_sample(n: u64) -> f32 {
    let in_second = n % SAMPLE_RATE as u64;
    if in_second < CLICK_SAMPLES as u64 {
        // A 2.4 kHz square burst: loud, short, unmistakable after AAC.
        if (in_second / 10) % 2 == 0 { 0.9 } else { -0.9 }
    } else {
        let t = n as f64 / SAMPLE_RATE as f64;
        (0.1 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as f32
    }
}

impl AudioSource for TestAudio {
    fn describe(&self) -> String {
        "test tone 440 Hz with a click every second".into()
    }

    fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
        let due = Duration::from_nanos(self.sample * 1_000_000_000 / SAMPLE_RATE as u64);
        self.clock.sleep_until(due, &self.stop);
        let mut samples = Vec::with_capacity(AUDIO_CHUNK * CHANNELS);
        for i in 0..AUDIO_CHUNK as u64 {
            let s = test_sample(self.sample + i);
            samples.extend_from_slice(&[s; CHANNELS]);
        }
        self.sample += AUDIO_CHUNK as u64;
        Ok(Some(AudioFrame { samples, pts: due }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips() {
        let mut f = VideoFrame::black(854, 480);
        write_stamp(&mut f, 123_456, 987_654_321);
        let (y, _, _) = f.planes();
        assert_eq!(read_stamp(y, 854, 854), Some((123_456, 987_654_321)));
    }

    #[test]
    fn flash_and_click_share_the_second() {
        let stop = Arc::new(AtomicBool::new(false));
        let src = TestVideo::new(64, 48, 30, Clock::start_now(), stop);
        let flash = src.render(30, Duration::from_secs(1));
        let plain = src.render(31, Duration::from_millis(1033));
        let (y, _, _) = flash.planes();
        assert!(y[64 * 40..].iter().all(|&v| v == 235));
        let (y, _, _) = plain.planes();
        assert!(y[64 * 40..].iter().any(|&v| v != 235));
        assert!(test_sample(48_000).abs() > 0.5);
        assert!(test_sample(48_000 + 1000).abs() <= 0.1);
    }
}
