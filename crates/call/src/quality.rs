//! Network quality and congestion control, as plain functions of readings
//! (time is a parameter; no IO).
//!
//! **Quality score (0–100)**, read like LiveKit's: > 80 excellent, > 40 good,
//! > 20 poor, else bad. It is the ITU-T G.107 E-model's R factor in the
//! simplified form VoIP monitors use, with a heavier loss penalty because
//! video suffers from loss more than voice:
//!
//! ```text
//! d  = rtt/2 + 2·jitter + 10 ms                  (effective one-way delay)
//! R  = 93.2 − (d < 160 ? d/40 : (d − 120)/10) − 4 · loss%
//! score = clamp(R / 93.2 · 100, 0, 100)
//! ```
//!
//! So a clean loopback scores ~99; 5 % loss ≈ 77 (good), 10 % ≈ 57, 17 % with
//! 100 ms RTT ≈ 24 (poor), 20 % ≈ 14 (bad); delay alone costs less: 600 ms RTT
//! with 10 ms jitter ≈ 77 (good).
//!
//! **Congestion control** is the loss-based half of Google's GCC, plus an
//! RTT guard: every reading (about once a second), with `loss` the fraction
//! lost since the last one averaged over about three readings (as
//! [`crate::bwe::LossHold`]: 10 % of random loss must hold the rate, and one
//! second's reading of it swings between 5 and 15 %),
//! - averaged loss > 12 %: rate × (1 − (loss − 10 %)) (multiplicative decrease);
//! - RTT more than 150 ms above the lowest seen (queues are filling): rate × 0.85;
//! - averaged loss < 2 % and RTT near its floor: rate × 1.08 + 10 kbps (increase);
//! - otherwise hold; always within [min, max].

use std::time::Duration;

/// A named band of the score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[derive(ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Excellent,
    Good,
    Poor,
    Bad,
}

pub fn band(score: f64) -> Band {
    match score {
        s if s > 80.0 => Band::Excellent,
        s if s > 40.0 => Band::Good,
        s if s > 20.0 => Band::Poor,
        _ => Band::Bad,
    }
}

/// The score for a round-trip time, jitter (both ms) and loss fraction (0–1).
pub fn score(rtt_ms: f64, jitter_ms: f64, loss: f64) -> f64 {
    let d = rtt_ms.max(0.0) / 2.0 + 2.0 * jitter_ms.max(0.0) + 10.0;
    let delay_penalty = if d < 160.0 { d / 40.0 } else { (d - 120.0) / 10.0 };
    let r = 93.2 - delay_penalty - 4.0 * (loss.clamp(0.0, 1.0) * 100.0);
    (r / 93.2 * 100.0).clamp(0.0, 100.0)
}

/// The AIMD send-bitrate controller.
#[derive(Clone, Debug)]
pub struct BitrateController {
    kbps: f64,
    min: f64,
    max: f64,
    rtt_floor_ms: Option<f64>,
    loss_avg: Option<f64>,
}

impl BitrateController {
    pub fn new(start_kbps: u32, min_kbps: u32, max_kbps: u32) -> Self {
        let (min, max) = (min_kbps.min(max_kbps) as f64, max_kbps.max(min_kbps) as f64);
        BitrateController { kbps: (start_kbps as f64).clamp(min, max), min, max, rtt_floor_ms: None, loss_avg: None }
    }

    pub fn min_kbps(&self) -> u32 {
        self.min as u32
    }

    pub fn kbps(&self) -> u32 {
        self.kbps.round() as u32
    }

    /// Feeds one reading; returns the new target.
    pub fn update(&mut self, loss: f64, rtt_ms: Option<f64>) -> u32 {
        let loss = loss.clamp(0.0, 1.0);
        let queueing = match rtt_ms {
            Some(rtt) => {
                let floor = self.rtt_floor_ms.map_or(rtt, |f| f.min(rtt));
                self.rtt_floor_ms = Some(floor);
                rtt - floor
            }
            None => 0.0,
        };
        let loss = self.loss_avg.map_or(loss, |a| a * 0.7 + loss * 0.3);
        self.loss_avg = Some(loss);
        if loss > crate::bwe::HIGH_LOSS {
            self.kbps *= 1.0 - (loss - 0.10);
        } else if queueing > 150.0 {
            self.kbps *= 0.85;
        } else if loss < crate::bwe::LOW_LOSS && queueing < 50.0 {
            self.kbps = self.kbps * 1.08 + 10.0;
        }
        self.kbps = self.kbps.clamp(self.min, self.max);
        self.kbps()
    }
}

/// Turns successive cumulative readings into rates.
#[derive(Clone, Debug, Default)]
pub struct RateMeter {
    last: Option<(Duration, u64, u64, u64, u64)>,
}

/// What one interval looked like.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Interval {
    pub send_kbps: f64,
    pub recv_kbps: f64,
    /// Fraction of packets we expected that did not arrive in this interval.
    pub recv_loss: f64,
}

impl RateMeter {
    /// `now` is any monotonic time; the counters are cumulative.
    pub fn update(&mut self, now: Duration, bytes_sent: u64, bytes_received: u64, packets_received: u64, packets_lost: u64) -> Interval {
        let mut i = Interval::default();
        if let Some((t, bs, br, pr, pl)) = self.last {
            let dt = (now.saturating_sub(t)).as_secs_f64();
            if dt > 0.0 {
                i.send_kbps = bytes_sent.saturating_sub(bs) as f64 * 8.0 / 1000.0 / dt;
                i.recv_kbps = bytes_received.saturating_sub(br) as f64 * 8.0 / 1000.0 / dt;
            }
            let got = packets_received.saturating_sub(pr) as f64;
            let lost = packets_lost.saturating_sub(pl) as f64;
            if got + lost > 0.0 {
                i.recv_loss = lost / (got + lost);
            }
        }
        self.last = Some((now, bytes_sent, bytes_received, packets_received, packets_lost));
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bands() {
        assert_eq!(band(score(1.0, 0.5, 0.0)), Band::Excellent);
        assert!(score(1.0, 0.5, 0.0) > 98.0);
        assert_eq!(band(score(40.0, 5.0, 0.05)), Band::Good);
        assert_eq!(band(score(600.0, 10.0, 0.0)), Band::Good);
        assert_eq!(band(score(100.0, 20.0, 0.17)), Band::Poor);
        assert_eq!(band(score(50.0, 5.0, 0.30)), Band::Bad);
        assert!(score(1.0, 1.0, 0.1) > score(1.0, 1.0, 0.2));
        assert!(score(10.0, 1.0, 0.0) > score(400.0, 1.0, 0.0));
    }

    #[test]
    fn congestion_lowers_and_recovery_raises_the_bitrate() {
        let mut c = BitrateController::new(1500, 150, 2500);
        for _ in 0..3 {
            c.update(0.0, Some(20.0));
        }
        let clean = c.kbps();
        assert!(clean > 1500, "clean network raises the rate: {clean}");
        // 10 % loss, one second's reading swinging 6–14 %: the rate holds
        // (after the first reading, which the clean average still outweighs).
        let swing = [0.06, 0.14, 0.10, 0.13, 0.07];
        c.update(swing[0], Some(25.0));
        let held = c.kbps();
        assert!(held >= clean);
        for i in 1..60 {
            c.update(swing[i % 5], Some(25.0));
        }
        assert_eq!(c.kbps(), held, "10 % loss holds the rate");
        // 20 % loss for ten seconds: the rate falls fast.
        for _ in 0..10 {
            c.update(0.20, Some(25.0));
        }
        let lossy = c.kbps();
        assert!(lossy * 3 < clean * 2, "{lossy} vs {clean}");
        // Queues building (RTT 200 ms above its floor) without loss: still down.
        let before = c.kbps();
        c.update(0.0, Some(250.0));
        assert!(c.kbps() < before);
        // Moderate loss holds.
        let hold = c.kbps();
        c.update(0.05, Some(20.0));
        assert_eq!(c.kbps(), hold);
        // Recovery climbs back, never past the maximum.
        for _ in 0..60 {
            c.update(0.0, Some(20.0));
        }
        assert_eq!(c.kbps(), 2500);
        for _ in 0..60 {
            c.update(0.9, None);
        }
        assert_eq!(c.kbps(), 150);
    }

    #[test]
    fn rates_from_counters() {
        let mut m = RateMeter::default();
        m.update(Duration::from_secs(1), 0, 0, 0, 0);
        let i = m.update(Duration::from_secs(2), 125_000, 250_000, 90, 10);
        assert!((i.send_kbps - 1000.0).abs() < 1e-6);
        assert!((i.recv_kbps - 2000.0).abs() < 1e-6);
        assert!((i.recv_loss - 0.1).abs() < 1e-9);
    }
}
