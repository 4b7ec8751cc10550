//! The send-side bandwidth estimate that caps the encoder's target: GCC's
//! delay-based half as webrtc-rs ships it ([`Gcc`]), and a loss-based half
//! of our own in place of its.
//!
//! webrtc-rs's loss half backs off whenever both its average and the latest
//! feedback batch (a tenth of a second: a dozen packets) show more than 10 %
//! loss and climbs only under 2 %. On a link that drops 10 % at random,
//! whatever is sent, half the batches are over 10 %: the estimate ratchets
//! down to its floor and never climbs back (measured: 150 kbit/s, where a
//! keyframe is most of a second of budget). Random loss that does not grow
//! with the rate is not congestion (libwebrtc's loss-based estimator v2
//! models it as "inherent loss" for the same reason), so here the loss is
//! counted per second and averaged over a few ([`LossHold`]); the estimate
//! falls only while that average is over [`HIGH_LOSS`], by its excess over
//! 10 %, and climbs while under 2 %. A queue that fills is the delay half's
//! to see, before anything is lost.
//!
//! webrtc-rs's delay half did not see a full queue: behind a 1 Mbit/s cap
//! with 200 ms of queue it kept climbing (to 4 Mbit/s in 20 s) while the
//! queue overflowed. So a third half, [`QueueDelay`], reads the queue from
//! the one-way delay TWCC reports (arrival on the receiver's clock minus
//! departure on ours, against the second lowest of the last ten one-second
//! minima): more than
//! [`QUEUE_HIGH`] of queue backs off to 0.85× what arrived over the last
//! second (GCC's decrease), at most every [`BACKOFF_EVERY`]; under
//! [`QUEUE_LOW`] it climbs 8 % a second. The lowest of the three wins.
//!
//! A lost feedback packet is not lost media: webrtc-rs reports every packet
//! up to the newest acknowledged one, so the packets only a lost TWCC
//! feedback covered come back as lost, all in a row at the head of the next
//! batch (measured: 10 % loss both ways read as 20 %). A run of
//! [`LOST_FEEDBACK_RUN`] or more lost packets heading a batch is therefore
//! not counted; random loss of 10 % makes such a run once in 100,000.

use std::time::{Duration, Instant};

use rtc::interceptor::{BandwidthEstimator, EstimatorStats, Gcc, PacketReport};

/// Loss is counted over windows this long.
pub const WINDOW: Duration = Duration::from_secs(1);
/// A window needs this many reported packets to count.
const MIN_PACKETS: usize = 20;
/// Weight of the newest window in the average (about three windows' memory).
const NEW_WEIGHT: f64 = 0.3;
/// Under this averaged loss the estimate climbs.
pub const LOW_LOSS: f64 = 0.02;
/// Over this averaged loss the estimate falls. 10 % of random loss reads
/// as 10 ± 3 % in one second's hundred packets and 10 ± 1.3 % averaged, so
/// the line sits a little above 10 %.
pub const HIGH_LOSS: f64 = 0.12;

/// Lost packets in a row heading a feedback batch that are taken for a lost
/// feedback packet (or an outage: the delay half and the receiver's keyframe
/// request deal with that), not counted.
pub const LOST_FEEDBACK_RUN: usize = 5;

/// The loss-based half: holds between [`LOW_LOSS`] and [`HIGH_LOSS`].
#[derive(Debug, Clone)]
pub struct LossHold {
    target: f64,
    min: f64,
    max: f64,
    window_start: Option<Instant>,
    lost: usize,
    total: usize,
    average: Option<f64>,
}

impl LossHold {
    pub fn new(initial: f64, min: f64, max: f64) -> Self {
        LossHold { target: initial.clamp(min, max), min, max, window_start: None, lost: 0, total: 0, average: None }
    }

    pub fn target(&self) -> f64 {
        self.target
    }

    /// The averaged loss fraction, once a window closed.
    pub fn average(&self) -> Option<f64> {
        self.average
    }

    /// Folds in one feedback batch (`lost` of `total` packets did not
    /// arrive); `current` is the whole estimate now (a decrease starts from
    /// it, not from a loss target far above it).
    pub fn update(&mut self, now: Instant, lost: usize, total: usize, current: f64) -> f64 {
        let start = *self.window_start.get_or_insert(now);
        self.lost += lost;
        self.total += total;
        if now.saturating_duration_since(start) < WINDOW || self.total < MIN_PACKETS {
            return self.target;
        }
        let sample = self.lost as f64 / self.total as f64;
        (self.lost, self.total, self.window_start) = (0, 0, Some(now));
        let average = self.average.map_or(sample, |a| a * (1.0 - NEW_WEIGHT) + sample * NEW_WEIGHT);
        self.average = Some(average);
        if average > HIGH_LOSS {
            // 20 % loss: −10 % a second, as GCC's (1 − loss/2); 12 %: −2 %.
            self.target = self.target.min(current) * (1.0 - (average - 0.10));
        } else if average < LOW_LOSS {
            self.target = self.target * 1.08 + 1_000.0;
        }
        self.target = self.target.clamp(self.min, self.max);
        self.target
    }
}

/// Queueing delay over this (ms, averaged over a feedback batch) is overuse.
pub const QUEUE_HIGH: f64 = 60.0;
/// Under this the path is taken as clear and the estimate climbs.
pub const QUEUE_LOW: f64 = 25.0;
/// At most one backoff this often, so the queue can drain and show it.
pub const BACKOFF_EVERY: Duration = Duration::from_millis(500);
/// The base delay is the lowest seen over this long (in one-second bins).
const BASE_SECS: usize = 10;
/// Arrivals kept for the received rate, at most (the arrival times are the
/// peer's word: stuck or running backwards they must not grow this).
const MAX_ARRIVALS: usize = 4_096;

/// The queue-delay half (see the module doc).
#[derive(Debug, Clone)]
pub struct QueueDelay {
    target: f64,
    min: f64,
    max: f64,
    epoch: Option<Instant>,
    /// Lowest one-way delay (ms, receiver clock minus ours) per second: (second, min).
    bins: std::collections::VecDeque<(u64, f64)>,
    /// Arrived packets (arrival ms on the receiver's clock, bytes) over the last second.
    arrivals: std::collections::VecDeque<(f64, usize)>,
    queue_ms: f64,
    last_backoff: Option<Instant>,
    last_update: Option<Instant>,
}

impl QueueDelay {
    pub fn new(initial: f64, min: f64, max: f64) -> Self {
        QueueDelay { target: initial.clamp(min, max), min, max, epoch: None, bins: Default::default(), arrivals: Default::default(), queue_ms: 0.0, last_backoff: None, last_update: None }
    }

    pub fn target(&self) -> f64 {
        self.target
    }

    /// The queue the last batch saw (ms).
    pub fn queue_ms(&self) -> f64 {
        self.queue_ms
    }

    /// What arrived over the last second of arrivals (bit/s).
    fn received_bps(&self) -> Option<f64> {
        let (first, last) = (self.arrivals.front()?, self.arrivals.back()?);
        let span = (last.0 - first.0).max(200.0);
        let bytes: usize = self.arrivals.iter().map(|a| a.1).sum();
        Some(bytes as f64 * 8.0 * 1000.0 / span)
    }

    /// One feedback batch: (departure, arrival on the receiver's clock, bytes) of what arrived.
    pub fn update(&mut self, now: Instant, arrived: impl Iterator<Item = (Instant, Duration, usize)>) -> f64 {
        let epoch = *self.epoch.get_or_insert(now);
        let (mut sum, mut n) = (0.0, 0usize);
        let mut owds = Vec::new();
        for (departure, arrival, bytes) in arrived {
            let dep_ms = departure.saturating_duration_since(epoch).as_secs_f64() * 1000.0;
            let arr_ms = arrival.as_secs_f64() * 1000.0;
            let owd = arr_ms - dep_ms;
            let sec = (dep_ms / 1000.0) as u64;
            match self.bins.back_mut() {
                Some((s, m)) if *s == sec => *m = m.min(owd),
                _ => self.bins.push_back((sec, owd)),
            }
            while self.bins.len() > BASE_SECS {
                self.bins.pop_front();
            }
            owds.push(owd);
            self.arrivals.push_back((arr_ms, bytes));
            if self.arrivals.len() > MAX_ARRIVALS {
                self.arrivals.pop_front();
            }
        }
        while let (Some(f), Some(b)) = (self.arrivals.front(), self.arrivals.back()) {
            if b.0 - f.0 <= 1000.0 {
                break;
            }
            self.arrivals.pop_front();
        }
        // The second lowest of the bins: one second of odd readings (the
        // call's first, measured 100 ms under every later one) must not
        // stand for the base for ten seconds.
        let mut lows: Vec<f64> = self.bins.iter().map(|b| b.1).collect();
        lows.sort_by(f64::total_cmp);
        let Some(&base) = lows.get(1) else { return self.target };
        for owd in owds {
            sum += owd - base;
            n += 1;
        }
        if n == 0 {
            return self.target;
        }
        self.queue_ms = sum / n as f64;
        let dt = self.last_update.map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64().min(1.0));
        self.last_update = Some(now);
        if self.queue_ms > QUEUE_HIGH {
            if self.last_backoff.is_none_or(|t| now.saturating_duration_since(t) >= BACKOFF_EVERY) {
                if let Some(received) = self.received_bps() {
                    self.target = self.target.min(received * 0.85);
                    self.last_backoff = Some(now);
                }
            }
        } else if self.queue_ms < QUEUE_LOW && self.last_backoff.is_none_or(|t| now.saturating_duration_since(t) >= BACKOFF_EVERY) {
            self.target *= 1.08f64.powf(dt);
        }
        self.target = self.target.clamp(self.min, self.max);
        self.target
    }
}

/// GCC's delay half, [`QueueDelay`] and [`LossHold`]: the lowest wins.
pub struct Estimator {
    gcc: Gcc,
    queue: QueueDelay,
    loss: LossHold,
    logged: Option<Instant>,
}

impl Estimator {
    pub fn new(initial_bps: f64, min_bps: f64, max_bps: f64) -> Self {
        Estimator { gcc: Gcc::new(initial_bps, min_bps, max_bps), queue: QueueDelay::new(initial_bps, min_bps, max_bps), loss: LossHold::new(initial_bps, min_bps, max_bps), logged: None }
    }
}

impl BandwidthEstimator for Estimator {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        self.gcc.on_reports(now, reports);
        self.queue.update(now, reports.iter().filter_map(|r| Some((r.departure, r.arrival.filter(|_| r.arrived)?, r.size))));
        let lead = reports.iter().take_while(|r| !r.arrived).count();
        let counted = if lead >= LOST_FEEDBACK_RUN { &reports[lead..] } else { reports };
        if lead >= 20 {
            tracing::debug!("estimate: {lead} packets lost in a row head a feedback batch of {} (an outage)", reports.len());
        }
        let lost = counted.iter().filter(|r| !r.arrived).count();
        let current = self.target_bitrate();
        self.loss.update(now, lost, counted.len(), current);
        if self.logged.is_none_or(|t| now.saturating_duration_since(t) >= WINDOW) {
            self.logged = Some(now);
            let (delay, queue, loss) = (self.gcc.delay_based_bitrate() / 1000.0, self.queue.target() / 1000.0, self.loss.target() / 1000.0);
            let received = self.queue.received_bps().unwrap_or(0.0) / 1000.0;
            tracing::debug!(
                "estimate: GCC delay {delay:.0}, queue {queue:.0} ({:.0} ms), loss {loss:.0} ({:.1} %) kbit/s; received {received:.0} kbit/s",
                self.queue.queue_ms(),
                self.loss.average().unwrap_or(0.0) * 100.0
            );
        }
    }

    fn target_bitrate(&self) -> f64 {
        self.gcc.delay_based_bitrate().min(self.queue.target()).min(self.loss.target())
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.gcc.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.gcc.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        let mut s = self.gcc.stats();
        s.delay_based_bitrate = Some(self.gcc.delay_based_bitrate().min(self.queue.target()));
        s.loss_based_bitrate = Some(self.loss.target());
        s.packet_loss = self.loss.average();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simple deterministic random sequence (xorshift), so the test is the same every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// `secs` of feedback every 100 ms for 11 packets (110 a second: video
    /// and audio), each lost with probability `loss`; the loss half's target after.
    fn run(h: &mut LossHold, rng: &mut Rng, t0: Instant, from_ms: u64, secs: u64, loss: f64) -> f64 {
        for i in 0..secs * 10 {
            let now = t0 + Duration::from_millis(from_ms + i * 100);
            let lost = (0..11).filter(|_| rng.next() < loss).count();
            let current = h.target();
            h.update(now, lost, 11, current);
        }
        h.target()
    }

    /// A sender at the estimate (1200-byte packets, evenly spaced, at most
    /// 3 Mbit/s, the encoder's ceiling) through a link of `link_bps` with
    /// 200 ms of drop-tail queue and `loss` random loss; TWCC feedback every
    /// 100 ms, a share `feedback_loss` of it lost (its packets then come back
    /// as lost at the head of the next batch, as webrtc-rs reports them).
    /// Returns the estimates at each feedback over the last half, and the
    /// share of packets the queue dropped then.
    fn path(link_bps: f64, loss: f64, feedback_loss: f64, secs: u64) -> (Vec<f64>, f64) {
        let t0 = Instant::now();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut e = Estimator::new(1_500_000.0, 100_000.0, 20_000_000.0);
        let (mut id, mut free_at, mut next_send) = (0u64, 0.0f64, 0.0f64); // seconds
        let (mut pending, mut carried): (Vec<PacketReport>, Vec<PacketReport>) = (Vec::new(), Vec::new());
        let (mut estimates, mut sent_late, mut dropped_late) = (Vec::new(), 0usize, 0usize);
        let clock_offset = 5.0; // the receiver's clock is its own
        for tick in 1..=secs * 10 {
            let now_s = tick as f64 / 10.0;
            while next_send < now_s {
                let dep = next_send;
                let rate = e.target_bitrate().min(3_000_000.0);
                next_send += 1200.0 * 8.0 / rate;
                let late = dep > secs as f64 / 2.0;
                sent_late += usize::from(late);
                let queued = (free_at - dep).max(0.0);
                let arrival = if queued > 0.2 {
                    dropped_late += usize::from(late);
                    None
                } else {
                    free_at = free_at.max(dep) + 1200.0 * 8.0 / link_bps;
                    (rng.next() >= loss).then_some(free_at)
                };
                id += 1;
                pending.push(PacketReport {
                    ssrc: 1,
                    id,
                    rtp_sequence_number: id as u16,
                    is_twcc: true,
                    twcc_sequence_number: id as u16,
                    size: 1200,
                    arrived: arrival.is_some(),
                    departure: t0 + Duration::from_secs_f64(dep),
                    arrival: arrival.map(|a| Duration::from_secs_f64(a + clock_offset)),
                    ecn: Default::default(),
                });
            }
            // What arrived by now is reported; a lost feedback's packets come back as lost.
            let split = pending.iter().position(|r| r.arrival.is_some_and(|a| a.as_secs_f64() - clock_offset > now_s)).unwrap_or(pending.len());
            let batch: Vec<PacketReport> = pending.drain(..split).collect();
            if rng.next() < feedback_loss {
                carried.extend(batch.into_iter().map(|r| PacketReport { arrived: false, arrival: None, ..r }));
                continue;
            }
            let mut reports = std::mem::take(&mut carried);
            reports.extend(batch);
            e.on_reports(t0 + Duration::from_secs_f64(now_s), &reports);
            if now_s > secs as f64 / 2.0 {
                estimates.push(e.target_bitrate());
            }
        }
        (estimates, dropped_late as f64 / sent_late.max(1) as f64)
    }

    #[test]
    fn a_capped_link_brings_the_estimate_under_it_and_random_loss_does_not() {
        // 1 Mbit/s cap: webrtc-rs's delay half alone climbed past it for good.
        let (est, dropped) = path(1_000_000.0, 0.0, 0.0, 30);
        let mean = est.iter().sum::<f64>() / est.len() as f64;
        assert!((500_000.0..=1_000_000.0).contains(&mean), "estimate {mean:.0} behind a 1 Mbit/s cap");
        assert!(dropped < 0.02, "the queue dropped {:.1} % of packets", dropped * 100.0);
        // 10 % random loss both ways (a tenth of the feedback lost too), no cap: it holds at the start.
        let (est, _) = path(50_000_000.0, 0.10, 0.10, 40);
        let low = est.iter().copied().fold(f64::MAX, f64::min);
        assert!(low >= 1_300_000.0, "10 % random loss took the estimate to {low:.0}");
        // 30 % loss: far down.
        let (est, _) = path(50_000_000.0, 0.30, 0.0, 20);
        assert!(est.last().is_some_and(|&b| b < 500_000.0), "{:?}", est.last());
    }

    #[test]
    fn a_peer_s_odd_arrival_times_neither_panic_nor_grow_memory() {
        let t0 = Instant::now();
        let mut q = QueueDelay::new(1_000_000.0, 100_000.0, 5_000_000.0);
        for i in 0..20_000u64 {
            let now = t0 + Duration::from_millis(i);
            // Stuck, then running backwards, then huge.
            let arrival = match i % 3 {
                0 => Duration::ZERO,
                1 => Duration::from_millis(20_000 - i),
                _ => Duration::from_secs(u32::MAX as u64),
            };
            let t = q.update(now, [(now, arrival, 1200)].into_iter());
            assert!(t.is_finite() && (100_000.0..=5_000_000.0).contains(&t), "{t}");
        }
        assert!(q.arrivals.len() <= MAX_ARRIVALS && q.bins.len() <= BASE_SECS);
    }

    #[test]
    fn ten_percent_random_loss_holds_the_estimate_and_more_brings_it_down() {
        let t0 = Instant::now();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut h = LossHold::new(1_000_000.0, 100_000.0, 5_000_000.0);
        // A minute of 10 % random loss: the estimate holds (webrtc-rs's own
        // loss half, backing off on any batch over 10 %, fell to its floor).
        let held = run(&mut h, &mut rng, t0, 0, 60, 0.10);
        assert!(held >= 900_000.0, "10 % random loss brought the estimate to {held}");
        assert!(held <= 1_000_000.0, "nor does it climb at 10 %: {held}");
        // 5 % holds too.
        let five = run(&mut h, &mut rng, t0, 60_000, 30, 0.05);
        assert!(five >= held * 0.99, "{five}");
        // 25 % loss: down, fast (GCC's pace: −12 % a second at 25 %).
        let heavy = run(&mut h, &mut rng, t0, 90_000, 10, 0.25);
        assert!(heavy < five * 0.5, "25 % loss for 10 s left {heavy} of {five}");
        // Clean again: it climbs back.
        let clean = run(&mut h, &mut rng, t0, 100_000, 30, 0.0);
        assert!(clean > heavy * 3.0, "{clean} after {heavy}");
        // A decrease starts from the whole estimate, not from a loss target far above it.
        let mut h = LossHold::new(5_000_000.0, 100_000.0, 5_000_000.0);
        for i in 0..=10u64 {
            h.update(t0 + Duration::from_millis(i * 100), 5, 20, 500_000.0);
        }
        assert!(h.target() < 500_000.0, "{}", h.target());
    }
}
