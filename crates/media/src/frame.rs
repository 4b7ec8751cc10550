//! The engine's frame formats and its clock.
//!
//! Video is 8-bit planar I420 (BT.601 limited range) with tightly packed planes;
//! audio is interleaved stereo `f32` at 48 kHz. Every frame carries its capture
//! time relative to the pipeline's epoch, so sinks can measure latency and A/V
//! sync and encoders can stamp packets without a clock of their own.

use std::time::{Duration, Instant};

/// Audio sample rate of the whole engine.
pub const SAMPLE_RATE: u32 = 48_000;
/// Audio channels of the whole engine (interleaved).
pub const CHANNELS: usize = 2;

/// One I420 picture.
#[derive(Clone, Debug)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    /// Y plane (`width*height`), then U and V (`width/2 * height/2` each).
    pub data: Vec<u8>,
    /// Capture time since the pipeline's epoch.
    pub pts: Duration,
}

impl VideoFrame {
    /// A black frame. Width and height must be even.
    pub fn black(width: u32, height: u32) -> Self {
        let (w, h) = (width as usize, height as usize);
        let mut data = vec![16u8; w * h + 2 * (w / 2) * (h / 2)];
        data[w * h..].fill(128);
        VideoFrame { width, height, data, pts: Duration::ZERO }
    }

    pub fn y_len(&self) -> usize {
        self.width as usize * self.height as usize
    }

    pub fn c_len(&self) -> usize {
        (self.width as usize / 2) * (self.height as usize / 2)
    }

    /// The three planes, mutably: (Y, U, V).
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let (y, c) = self.data.split_at_mut(self.width as usize * self.height as usize);
        let half = c.len() / 2;
        let (u, v) = c.split_at_mut(half);
        (y, u, v)
    }

    /// The three planes: (Y, U, V).
    pub fn planes(&self) -> (&[u8], &[u8], &[u8]) {
        let yl = self.y_len();
        let cl = self.c_len();
        (&self.data[..yl], &self.data[yl..yl + cl], &self.data[yl + cl..yl + 2 * cl])
    }
}

/// A chunk of interleaved stereo `f32` samples at [`SAMPLE_RATE`].
#[derive(Clone, Debug)]
pub struct AudioFrame {
    pub samples: Vec<f32>,
    /// Capture time of the first sample since the pipeline's epoch.
    pub pts: Duration,
}

impl AudioFrame {
    pub fn frames(&self) -> usize {
        self.samples.len() / CHANNELS
    }
}

/// The pipeline's epoch: every capture time is measured from it. Clones share
/// the epoch, and [`Clock::restart`] moves it for all of them, so sources can be
/// opened (and fail) before the pipeline starts its clock.
#[derive(Clone, Debug)]
pub struct Clock {
    base: Instant,
    offset_ns: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Clock {
    pub fn start_now() -> Self {
        Clock { base: Instant::now(), offset_ns: Default::default() }
    }

    /// Makes "now" the epoch, for this clock and every clone of it.
    pub fn restart(&self) {
        self.offset_ns.store(self.base.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Release);
    }

    /// The instant of the epoch.
    pub fn epoch(&self) -> Instant {
        self.base + Duration::from_nanos(self.offset_ns.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Time since the epoch.
    pub fn now(&self) -> Duration {
        self.epoch().elapsed()
    }

    /// Sleeps until `at` after the epoch, or returns at once if that is past.
    /// Sleeps in short slices so a stop request is noticed quickly.
    pub fn sleep_until(&self, at: Duration, stop: &std::sync::atomic::AtomicBool) {
        use std::sync::atomic::Ordering;
        loop {
            let now = self.now();
            if now >= at || stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep((at - now).min(Duration::from_millis(50)));
        }
    }
}

/// Converts a duration to a count of `1/den` units, rounding to nearest.
pub fn to_units(d: Duration, den: i64) -> i64 {
    ((d.as_nanos() as i128 * den as i128 + 500_000_000) / 1_000_000_000) as i64
}
