//! Filter parameters, and a handle to change them from another thread while
//! frames flow.
//!
//! Both values live packed in one atomic word, so a reader sees either the old
//! pair or the new pair, never a mix; the filter reads it once per frame, so a
//! change takes effect at a frame boundary and never halfway down a picture.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Strengths of the two effects, each 0..=100 (larger values are clamped to 100).
/// `smooth: 0, whiten: 0` leaves frames bit-exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BeautyParams {
    /// Edge-preserving skin smoothing.
    pub smooth: u8,
    /// Brightening tone curve on skin.
    pub whiten: u8,
}

impl BeautyParams {
    pub const OFF: BeautyParams = BeautyParams {
        smooth: 0,
        whiten: 0,
    };

    pub fn new(smooth: u8, whiten: u8) -> Self {
        BeautyParams {
            smooth: smooth.min(100),
            whiten: whiten.min(100),
        }
    }

    pub fn is_off(self) -> bool {
        self.smooth == 0 && self.whiten == 0
    }

    fn pack(self) -> u32 {
        let p = BeautyParams::new(self.smooth, self.whiten);
        u32::from(p.smooth) | (u32::from(p.whiten) << 8)
    }

    fn unpack(w: u32) -> Self {
        BeautyParams {
            smooth: (w & 0xff) as u8,
            whiten: ((w >> 8) & 0xff) as u8,
        }
    }
}

/// Why a `SMOOTH[,WHITEN]` string is not a pair of strengths.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("beauty settings {input:?} are not SMOOTH[,WHITEN] with each 0..=100 (e.g. 70 or 70,30)")]
pub struct ParseParamsError {
    pub input: String,
}

impl std::str::FromStr for BeautyParams {
    type Err = ParseParamsError;

    /// Parses `SMOOTH` or `SMOOTH,WHITEN` (each 0..=100; whitening defaults to
    /// 0), the form of the `--beauty` option.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseParamsError {
            input: s.to_string(),
        };
        let level = |part: &str| -> Result<u8, ParseParamsError> {
            match part.trim().parse::<u8>() {
                Ok(v) if v <= 100 => Ok(v),
                _ => Err(err()),
            }
        };
        let mut parts = s.split(',');
        let smooth = level(parts.next().ok_or_else(err)?)?;
        let whiten = parts.next().map(level).transpose()?.unwrap_or(0);
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(BeautyParams { smooth, whiten })
    }
}

/// A cloneable, thread-safe handle to a filter's parameters: the UI or a
/// control thread keeps one and calls [`ParamsHandle::set`] while the media
/// thread runs the filter.
#[derive(Clone, Debug, Default)]
pub struct ParamsHandle(Arc<AtomicU32>);

impl ParamsHandle {
    pub fn new(p: BeautyParams) -> Self {
        ParamsHandle(Arc::new(AtomicU32::new(p.pack())))
    }

    /// Takes effect from the next frame the filter starts.
    pub fn set(&self, p: BeautyParams) {
        self.0.store(p.pack(), Ordering::Release);
    }

    pub fn get(&self) -> BeautyParams {
        BeautyParams::unpack(self.0.load(Ordering::Acquire))
    }
}

/// What the parameters mean to the algorithm, derived once per frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Strengths {
    /// Blend between the input and the guided-filter output, 0..=1.
    pub blend: f32,
    /// Guided filter regulariser: local variances well below it are smoothed,
    /// well above it (edges) are kept. In luma levels squared.
    pub eps: f32,
    /// Whitening curve gain: lift at mid-grey is `gain * 219 / 4` levels.
    pub lift: f32,
}

impl Strengths {
    pub fn from_params(p: BeautyParams) -> Self {
        let s = f32::from(p.smooth.min(100)) / 100.0;
        let w = f32::from(p.whiten.min(100)) / 100.0;
        // Both the blend and the edge threshold rise with `smooth`, so the
        // effect grows monotonically; the square root gives low settings a
        // visible effect instead of a near no-op.
        let sigma = 3.0 + 22.0 * s;
        Strengths {
            blend: s.sqrt(),
            eps: sigma * sigma,
            lift: 0.45 * w,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_round_trips_and_clamps() {
        let h = ParamsHandle::new(BeautyParams::OFF);
        assert!(h.get().is_off());
        h.set(BeautyParams {
            smooth: 250,
            whiten: 30,
        });
        assert_eq!(
            h.get(),
            BeautyParams {
                smooth: 100,
                whiten: 30
            }
        );
        let h2 = h.clone();
        h2.set(BeautyParams::new(7, 9));
        assert_eq!(h.get(), BeautyParams::new(7, 9));
    }

    #[test]
    fn parses_the_beauty_option() {
        assert_eq!("70".parse(), Ok(BeautyParams::new(70, 0)));
        assert_eq!("70,30".parse(), Ok(BeautyParams::new(70, 30)));
        assert_eq!(" 0 , 100 ".parse(), Ok(BeautyParams::new(0, 100)));
        for bad in ["", "101", "70,", "70,30,1", "-1", "a,b", "70;30", "256"] {
            assert!(bad.parse::<BeautyParams>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn strengths_grow_with_params() {
        let mut last = Strengths::from_params(BeautyParams::OFF);
        assert_eq!(last.blend, 0.0);
        for s in 1..=100u8 {
            let now = Strengths::from_params(BeautyParams::new(s, s));
            assert!(now.blend > last.blend && now.eps > last.eps && now.lift > last.lift);
            last = now;
        }
    }
}
