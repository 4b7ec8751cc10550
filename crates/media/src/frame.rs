//! The engine's frame formats and its clock.
//!
//! Video is 8-bit planar I420 (BT.601 limited range) with tightly packed planes;
//! audio is interleaved stereo `f32` at 48 kHz. Every frame carries its capture
//! time relative to the pipeline's epoch, so sinks can measure latency and A/V
//! sync and encoders can stamp packets without a clock of their own.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Audio sample rate of the whole engine.
pub const SAMPLE_RATE: u32 = 48_000;
/// Audio channels of the whole engine (interleaved).
pub const CHANNELS: usize = 2;

/// One I420 picture.
///
/// A frame taken from a [`FramePool`] gives its buffer back to the pool when
/// it is dropped; a clone is a frame of its own that goes back nowhere.
#[derive(Debug)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    /// Y plane (`width*height`), then U and V (`width/2 * height/2` each).
    pub data: Vec<u8>,
    /// Capture time since the pipeline's epoch.
    pub pts: Duration,
    pool: Option<FramePool>,
}

impl Clone for VideoFrame {
    fn clone(&self) -> Self {
        VideoFrame { width: self.width, height: self.height, data: self.data.clone(), pts: self.pts, pool: None }
    }
}

impl Drop for VideoFrame {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.put(std::mem::take(&mut self.data));
        }
    }
}

/// Bytes of an I420 picture of this size.
fn i420_len(width: u32, height: u32) -> usize {
    let (w, h) = (width as usize, height as usize);
    w * h + 2 * (w / 2) * (h / 2)
}

/// Buffers a source have used (at most this many are kept).
const POOL_KEEP: usize = 8;

/// Recycled buffers for frames of one size, so the capture → encode path
/// allocates nothing per frame once warm: no fresh 1.4 MB per 720p frame to
/// zero and page in. A buffer comes back only when the frame holding it is
/// dropped (after the encoder copied it, or when a preview or a recorder is
/// done with it), so the pool never hands out a picture still in use.
#[derive(Clone)]
pub struct FramePool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    width: u32,
    height: u32,
    free: Mutex<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for FramePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FramePool({}x{})", self.inner.width, self.inner.height)
    }
}

impl FramePool {
    /// A pool for `width`×`height` frames (both even).
    pub fn new(width: u32, height: u32) -> Self {
        FramePool { inner: Arc::new(PoolInner { width, height, free: Mutex::new(Vec::new()) }) }
    }

    /// A frame whose pixels are whatever its last user left in them: the
    /// caller writes every pixel (or uses [`FramePool::black`]).
    pub fn frame(&self) -> VideoFrame {
        let (width, height) = (self.inner.width, self.inner.height);
        let reused = self.inner.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let data = reused.unwrap_or_else(|| vec![0u8; i420_len(width, height)]);
        VideoFrame { width, height, data, pts: Duration::ZERO, pool: Some(self.clone()) }
    }

    /// A black frame from the pool.
    pub fn black(&self) -> VideoFrame {
        let mut f = self.frame();
        f.fill_black();
        f
    }

    fn put(&self, data: Vec<u8>) {
        if data.len() != i420_len(self.inner.width, self.inner.height) {
            return; // resized by its user: not ours any more
        }
        let mut free = self.inner.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < POOL_KEEP {
            free.push(data);
        }
    }

    /// Buffers waiting to be reused.
    pub fn idle(&self) -> usize {
        self.inner.free.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl VideoFrame {
    /// A black frame. Width and height must be even.
    pub fn black(width: u32, height: u32) -> Self {
        let (w, h) = (width as usize, height as usize);
        let mut data = vec![16u8; i420_len(width, height)];
        data[w * h..].fill(128);
        VideoFrame { width, height, data, pts: Duration::ZERO, pool: None }
    }

    /// Paints the whole frame black.
    pub fn fill_black(&mut self) {
        let (y, u, v) = self.planes_mut();
        y.fill(16);
        u.fill(128);
        v.fill(128);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_recycles_only_dropped_frames() {
        let pool = FramePool::new(8, 4);
        let mut a = pool.frame();
        a.data.fill(7);
        let kept = a.clone();
        let ptr = a.data.as_ptr();
        drop(a);
        assert_eq!(pool.idle(), 1);
        let b = pool.frame();
        assert_eq!(b.data.as_ptr(), ptr, "the dropped frame's buffer is reused");
        let c = pool.frame();
        assert_ne!(c.data.as_ptr(), ptr, "a buffer in use is never handed out twice");
        drop(kept); // a clone goes back nowhere
        assert_eq!(pool.idle(), 0);
        let black = pool.black();
        assert_eq!(black.planes().0, &[16u8; 32][..]);
        assert!(black.planes().1.iter().chain(black.planes().2).all(|&v| v == 128));
        let mut resized = pool.frame();
        resized.data.truncate(3);
        drop((b, c, black, resized));
        assert_eq!(pool.idle(), 3, "a buffer its user resized is not taken back");
    }
}
