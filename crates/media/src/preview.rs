//! A preview tap: a copy of the composed picture (after overlay and beauty,
//! before the encoder) for a user interface, at most `max_fps` frames a
//! second. It never slows the pipeline: when the consumer has not taken the
//! previous frame yet, the new one is skipped without being copied.
//!
//! Each frame carries its capture time as Unix milliseconds, so a UI can
//! measure capture → drawn latency with the stamped test source.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use crate::frame::{Clock, VideoFrame};

/// One picture for the preview.
#[derive(Clone, Debug)]
pub struct PreviewFrame {
    pub frame: VideoFrame,
    /// When it was captured, in Unix milliseconds.
    pub captured_unix_ms: f64,
}

/// The pipeline's end of the preview (see [`channel`]).
pub struct PreviewTap {
    tx: Sender<PreviewFrame>,
    min_gap: Duration,
    last: Option<Duration>,
    clock: Option<Clock>,
}

/// A tap passing at most `max_fps` frames a second, and the receiver a UI
/// reads them from (holding one frame at most).
pub fn channel(max_fps: u32) -> (PreviewTap, Receiver<PreviewFrame>) {
    let (tx, rx) = bounded(1);
    let min_gap = Duration::from_micros(1_000_000 / u64::from(max_fps.max(1))).mul_f32(0.9);
    (PreviewTap { tx, min_gap, last: None, clock: None }, rx)
}

impl PreviewTap {
    pub(crate) fn set_clock(&mut self, clock: Clock) {
        self.clock = Some(clock);
    }

    /// Offers a composed frame; copies it only when it will be sent.
    pub(crate) fn offer(&mut self, f: &VideoFrame) {
        if self.last.is_some_and(|l| f.pts.saturating_sub(l) < self.min_gap) || self.tx.is_full() {
            return;
        }
        self.last = Some(f.pts);
        let age = self.clock.as_ref().map(|c| c.now().saturating_sub(f.pts)).unwrap_or_default();
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
        let pf = PreviewFrame { frame: f.clone(), captured_unix_ms: now_ms - age.as_secs_f64() * 1000.0 };
        if let Err(TrySendError::Disconnected(_)) = self.tx.try_send(pf) {
            // Nobody watches any more; stay cheap.
            self.min_gap = Duration::from_secs(3600);
        }
    }
}

/// Converts an I420 frame (BT.601 limited range) to RGBA, shrunk by the
/// smallest whole factor that makes it at most `max_w` wide (each output
/// pixel samples the top-left source pixel of its block: cheap, and a
/// preview needs no more). Returns (width, height, rgba).
pub fn to_rgba(f: &VideoFrame, max_w: u32) -> (u32, u32, Vec<u8>) {
    let step = f.width.div_ceil(max_w.max(1)).max(1) as usize;
    let (w, h) = (f.width as usize, f.height as usize);
    let (ow, oh) = (w / step, h / step);
    let (y, u, v) = f.planes();
    let cw = w / 2;
    let mut out = vec![0u8; ow * oh * 4];
    for oy in 0..oh {
        let sy = oy * step;
        let yrow = &y[sy * w..];
        let crow = (sy / 2) * cw;
        for ox in 0..ow {
            let sx = ox * step;
            let yy = (i32::from(yrow[sx]) - 16) * 298;
            let cu = i32::from(u[crow + sx / 2]) - 128;
            let cv = i32::from(v[crow + sx / 2]) - 128;
            let r = (yy + 409 * cv + 128) >> 8;
            let g = (yy - 100 * cu - 208 * cv + 128) >> 8;
            let b = (yy + 516 * cu + 128) >> 8;
            let o = (oy * ow + ox) * 4;
            out[o] = r.clamp(0, 255) as u8;
            out[o + 1] = g.clamp(0, 255) as u8;
            out[o + 2] = b.clamp(0, 255) as u8;
            out[o + 3] = 255;
        }
    }
    (ow as u32, oh as u32, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_and_white_convert_and_shrink() {
        let mut f = VideoFrame::black(1280, 720);
        let (ow, oh, px) = to_rgba(&f, 640);
        assert_eq!((ow, oh), (640, 360));
        assert_eq!(&px[..4], &[0, 0, 0, 255]);
        f.planes_mut().0.fill(235);
        let (_, _, px) = to_rgba(&f, 2000);
        assert_eq!(&px[..4], &[255, 255, 255, 255]);
    }

    #[test]
    fn tap_limits_rate_and_never_blocks() {
        let (mut tap, rx) = channel(10);
        let mut f = VideoFrame::black(4, 4);
        for i in 0..30 {
            f.pts = Duration::from_millis(i * 33); // 30 fps in
            tap.offer(&f);
            if i % 2 == 0 {
                let _ = rx.try_recv();
            }
        }
        // 1 s of input at a 10 fps cap: about 10 frames taken, never more.
        let mut n = 0;
        let (mut tap2, rx2) = channel(10);
        for i in 0..30 {
            f.pts = Duration::from_millis(i * 33);
            tap2.offer(&f);
            n += rx2.try_recv().is_ok() as u32;
        }
        assert!((9..=11).contains(&n), "{n}");
    }
}
