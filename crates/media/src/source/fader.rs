//! A mixer channel on one audio source: volume, mute and a level meter, as
//! the Go live screen's mixer shows them (the mic and the desktop each get
//! one). The handle is shared with the front door; the source thread reads
//! it at every chunk, so a change acts within 20 ms.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use super::AudioSource;
use crate::frame::AudioFrame;
use crate::Result;

/// The loudest a fader goes: +6 dB (twice the amplitude).
pub const MAX_VOLUME: f32 = 2.0;

#[derive(Debug)]
struct State {
    name: String,
    /// f32 bits: 1.0 is unity.
    volume: AtomicU32,
    muted: AtomicBool,
    /// f32 bits: the last chunk's peak after volume and mute (0..1).
    peak: AtomicU32,
}

/// The front door's side of a fader.
#[derive(Clone, Debug)]
pub struct FaderHandle(Arc<State>);

/// A fader as a screen shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[derive(ts_rs::TS)]
pub struct FaderView {
    pub name: String,
    pub volume: f32,
    pub muted: bool,
    /// The last 20 ms's peak in dBFS (-100 for silence).
    pub level_dbfs: f32,
}

impl FaderHandle {
    /// Sets volume (clamped to 0..=[`MAX_VOLUME`]; NaN counts as 0) and mute.
    pub fn set(&self, volume: f32, muted: bool) {
        let v = if volume.is_nan() { 0.0 } else { volume.clamp(0.0, MAX_VOLUME) };
        self.0.volume.store(v.to_bits(), Ordering::Relaxed);
        self.0.muted.store(muted, Ordering::Relaxed);
    }

    pub fn view(&self) -> FaderView {
        let peak = f32::from_bits(self.0.peak.load(Ordering::Relaxed));
        FaderView {
            name: self.0.name.clone(),
            volume: f32::from_bits(self.0.volume.load(Ordering::Relaxed)),
            muted: self.0.muted.load(Ordering::Relaxed),
            level_dbfs: if peak > 1e-5 { 20.0 * peak.log10() } else { -100.0 },
        }
    }
}

/// An audio source through a fader.
pub struct Fader {
    inner: Box<dyn AudioSource>,
    h: FaderHandle,
}

impl Fader {
    pub fn new(inner: Box<dyn AudioSource>) -> (Self, FaderHandle) {
        let h = FaderHandle(Arc::new(State {
            name: inner.describe(),
            volume: AtomicU32::new(1.0f32.to_bits()),
            muted: AtomicBool::new(false),
            peak: AtomicU32::new(0),
        }));
        (Fader { inner, h: h.clone() }, h)
    }
}

impl AudioSource for Fader {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
        let Some(mut f) = self.inner.next_chunk()? else { return Ok(None) };
        let s = &self.h.0;
        let gain = if s.muted.load(Ordering::Relaxed) {
            0.0
        } else {
            f32::from_bits(s.volume.load(Ordering::Relaxed))
        };
        let mut peak = 0.0f32;
        if gain != 1.0 {
            for x in &mut f.samples {
                *x = (*x * gain).clamp(-1.0, 1.0);
            }
        }
        for x in &f.samples {
            peak = peak.max(x.abs());
        }
        s.peak.store(peak.to_bits(), Ordering::Relaxed);
        Ok(Some(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Const(f32);
    impl AudioSource for Const {
        fn describe(&self) -> String {
            "const".into()
        }
        fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
            Ok(Some(AudioFrame {
                samples: vec![self.0; 1920],
                pts: Duration::ZERO,
            }))
        }
    }

    #[test]
    fn volume_mute_and_level() {
        let (mut f, h) = Fader::new(Box::new(Const(0.5)));
        f.next_chunk().unwrap();
        assert!((h.view().level_dbfs - -6.02).abs() < 0.1, "{:?}", h.view());
        h.set(0.5, false);
        assert_eq!(f.next_chunk().unwrap().unwrap().samples[0], 0.25);
        h.set(1.0, true);
        assert!(f.next_chunk().unwrap().unwrap().samples.iter().all(|x| *x == 0.0));
        assert_eq!(h.view().level_dbfs, -100.0);
        h.set(f32::NAN, false);
        assert_eq!(h.view().volume, 0.0);
        h.set(50.0, false);
        assert_eq!(f.next_chunk().unwrap().unwrap().samples[0], 1.0, "clipped, not wrapped");
    }
}
