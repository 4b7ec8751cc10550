//! Picture size that follows the network: a call sends its preset's size
//! while the congestion-control target allows it and steps down a rung
//! (720p → 480p → 360p) when the target stays below the rung's floor, then
//! back up when the target has stayed well above the next rung's floor for
//! longer (hysteresis, so a noisy estimate does not flap between sizes).
//! Below a rung's floor x264 turns that many pixels into blocks; fewer
//! pixels at the same bitrate look better. Sans-IO: time comes in.

use std::time::{Duration, Instant};

use serde::Serialize;

/// The standard heights below the preset's; the width keeps its aspect.
const HEIGHTS: [u32; 4] = [1080, 720, 480, 360];

/// Under this target (kbit/s) a rung of this height is not worth its pixels.
fn floor_kbps(height: u32) -> u32 {
    match height {
        h if h >= 1080 => 1_800,
        h if h >= 720 => 900,
        h if h >= 480 => 450,
        _ => 0,
    }
}

/// The target must stay under the floor this long to step down.
pub const DOWN_AFTER: Duration = Duration::from_secs(2);
/// … and over the next rung's floor × [`UP_MARGIN`] this long to step up.
pub const UP_AFTER: Duration = Duration::from_secs(4);
pub const UP_MARGIN: f64 = 1.25;

/// One change of picture size, as `--stats-json` reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[derive(ts_rs::TS)]
pub struct Step {
    /// Seconds since the ladder started (the send started).
    pub at_s: f64,
    pub width: u32,
    pub height: u32,
    /// The target that made the step.
    pub target_kbps: u32,
}

pub struct Ladder {
    /// (width, height), largest first; the first is the preset's.
    rungs: Vec<(u32, u32)>,
    at: usize,
    started: Instant,
    below_since: Option<Instant>,
    above_since: Option<Instant>,
}

impl Ladder {
    /// The preset's size and each standard smaller one of the same aspect
    /// (even sizes, as I420 needs).
    pub fn new(width: u32, height: u32, now: Instant) -> Ladder {
        let mut rungs = vec![(width, height)];
        for h in HEIGHTS.into_iter().filter(|&h| h < height) {
            let w = ((u64::from(width) * u64::from(h) / u64::from(height.max(1))) as u32 + 1) & !1;
            rungs.push((w.max(2), h));
        }
        Ladder {
            rungs,
            at: 0,
            started: now,
            below_since: None,
            above_since: None,
        }
    }

    pub fn size(&self) -> (u32, u32) {
        self.rungs[self.at]
    }

    /// Feeds the current target; returns the new size when it steps.
    pub fn update(&mut self, now: Instant, target_kbps: u32) -> Option<Step> {
        let floor = floor_kbps(self.rungs[self.at].1);
        let down = self.at + 1 < self.rungs.len() && target_kbps < floor;
        let up = self.at > 0
            && f64::from(target_kbps)
                >= f64::from(floor_kbps(self.rungs[self.at - 1].1)) * UP_MARGIN;
        self.below_since = if down {
            Some(self.below_since.unwrap_or(now))
        } else {
            None
        };
        self.above_since = if up {
            Some(self.above_since.unwrap_or(now))
        } else {
            None
        };
        if self.below_since.is_some_and(|t| now >= t + DOWN_AFTER) {
            self.at += 1;
        } else if self.above_since.is_some_and(|t| now >= t + UP_AFTER) {
            self.at -= 1;
        } else {
            return None;
        }
        (self.below_since, self.above_since) = (None, None);
        let (width, height) = self.rungs[self.at];
        Some(Step {
            at_s: ((now - self.started).as_secs_f64() * 10.0).round() / 10.0,
            width,
            height,
            target_kbps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_down_a_rung_at_a_time_and_back_up_with_hysteresis() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let mut l = Ladder::new(1280, 720, t0);
        assert_eq!(l.rungs, vec![(1280, 720), (854, 480), (640, 360)]);
        // A dip shorter than DOWN_AFTER does nothing.
        assert_eq!(l.update(s(0), 600), None);
        assert_eq!(l.update(s(1), 2000), None);
        assert_eq!(l.update(s(2), 600), None);
        let d = l.update(s(4), 400).expect("720p → 480p");
        assert_eq!(
            (d.width, d.height, d.target_kbps, d.at_s),
            (854, 480, 400, 4.0)
        );
        assert_eq!(l.update(s(5), 400), None);
        assert_eq!(l.update(s(7), 400).map(|d| d.height), Some(360));
        assert_eq!(l.update(s(20), 100), None, "no rung below 360p");
        // Up needs the next floor × 1.25 for UP_AFTER: 450 is not enough for 480p.
        assert_eq!(l.update(s(21), 500), None);
        assert_eq!(l.update(s(26), 500), None);
        assert_eq!(l.update(s(27), 600), None);
        assert_eq!(l.update(s(31), 600).map(|d| d.height), Some(480));
        assert_eq!(l.update(s(32), 1200), None);
        assert_eq!(
            l.update(s(36), 1200).map(|d| (d.width, d.height)),
            Some((1280, 720))
        );
        assert_eq!(l.update(s(50), 5000), None, "never above the preset");
        // A 360p preset has nowhere to go; 1080p has four rungs.
        assert_eq!(Ladder::new(640, 360, t0).rungs.len(), 1);
        assert_eq!(Ladder::new(1920, 1080, t0).rungs[3], (640, 360));
    }
}
