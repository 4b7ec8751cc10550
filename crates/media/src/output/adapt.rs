//! Dynamic bitrate for one live destination, as OBS does it: when the
//! destination's send queue grows, step its bitrate down; when the queue has
//! stayed drained for a while, step back up towards the configured bitrate.
//!
//! Sans-IO: the destination's sender feeds it the queue length and the time;
//! it answers with the new rung when one is due. The pipeline then sets the
//! one encoder to the highest rung among the destinations that are live, so
//! the slowest destination never drags the others down: it drops frames
//! (whole GOPs, resuming on a keyframe) while a faster one keeps full quality.
//! A second encoder per rung would spare it that, at the price of a second
//! x264 encode, which a 2-core streaming machine cannot pay.

use std::time::Duration;

/// Queued packets (video and audio, about 77 a second at 30 fps) from which
/// a destination counts as congested: roughly 0.6 s behind.
pub const HIGH_WATER: usize = 48;
/// Queued packets at or under which the queue counts as drained.
pub const LOW_WATER: usize = 8;
/// Each step down keeps this fraction of the bitrate; twice the high water
/// mark (a link far slower than the stream) halves it instead.
const DOWN_NUM: u32 = 3;
const DOWN_DEN: u32 = 4;
/// Time a step down gets to take effect before the next one.
const DOWN_EVERY: Duration = Duration::from_millis(1_500);
/// How long the queue must stay drained before each step up.
const UP_AFTER: Duration = Duration::from_secs(2);

/// One destination's bitrate rung.
#[derive(Clone, Debug)]
pub struct Adapter {
    max: u32,
    min: u32,
    rung: u32,
    last_change: Option<Duration>,
    drained_since: Option<Duration>,
}

impl Adapter {
    /// Starts at `max_kbps`; never goes under a fifth of it (nor 150 kbit/s).
    pub fn new(max_kbps: u32) -> Self {
        let max = max_kbps.max(1);
        Adapter {
            max,
            min: (max / 5).max(150).min(max),
            rung: max,
            last_change: None,
            drained_since: None,
        }
    }

    pub fn kbps(&self) -> u32 {
        self.rung
    }

    /// Takes the queue length at `now`; returns the new rung when it changes.
    pub fn update(&mut self, now: Duration, queued: usize) -> Option<u32> {
        let settled =
            |since: Option<Duration>, d: Duration| since.is_none_or(|t| now.saturating_sub(t) >= d);
        if queued >= HIGH_WATER {
            self.drained_since = None;
            if self.rung > self.min && settled(self.last_change, DOWN_EVERY) {
                let (num, den) = if queued >= 2 * HIGH_WATER {
                    (1, 2)
                } else {
                    (DOWN_NUM, DOWN_DEN)
                };
                self.rung = (self.rung * num / den).max(self.min);
                self.last_change = Some(now);
                return Some(self.rung);
            }
            return None;
        }
        if queued > LOW_WATER {
            self.drained_since = None;
            return None;
        }
        let since = *self.drained_since.get_or_insert(now);
        if self.rung < self.max
            && now.saturating_sub(since) >= UP_AFTER
            && settled(self.last_change, UP_AFTER)
        {
            // Up in fifths of the full rate: back from the floor in ~8 s.
            self.rung = (self.rung + self.max / 5).min(self.max);
            self.last_change = Some(now);
            self.drained_since = Some(now);
            return Some(self.rung);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn steps_down_while_congested_and_up_once_drained() {
        let mut a = Adapter::new(2_000);
        assert_eq!(a.update(s(0), 0), None);
        assert_eq!(a.update(s(100), 60), Some(1_500));
        // The step gets time to act.
        assert_eq!(a.update(s(1_000), 80), None);
        assert_eq!(a.update(s(1_600), 80), Some(1_125));
        // Far behind: halve.
        assert_eq!(a.update(s(3_100), 200), Some(562));
        let mut t = 3_100;
        let mut rung = 562;
        while let Some(r) = (0..100).find_map(|_| {
            t += 100;
            a.update(s(t), 200)
        }) {
            assert!(r < rung);
            rung = r;
        }
        assert_eq!(a.kbps(), 400, "the floor is a fifth of the full rate");
        // Half-full: hold.
        assert_eq!(a.update(s(t + 5_000), 20), None);
        // Drained: up after 2 s, then again every 2 s, to the full rate.
        assert_eq!(a.update(s(t + 6_000), 2), None);
        assert_eq!(a.update(s(t + 8_000), 2), Some(800));
        assert_eq!(a.update(s(t + 9_000), 2), None);
        assert_eq!(a.update(s(t + 10_000), 2), Some(1_200));
        for k in 0..10 {
            a.update(s(t + 12_000 + k * 2_000), 0);
        }
        assert_eq!(a.kbps(), 2_000);
    }

    #[test]
    fn a_low_bitrate_has_a_floor_of_its_own() {
        let mut a = Adapter::new(100);
        assert_eq!(a.update(s(0), 255), None, "100 kbit/s is already the floor");
        assert_eq!(a.kbps(), 100);
    }
}
