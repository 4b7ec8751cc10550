//! A cap on retransmissions. webrtc-rs's NACK responder resends whatever
//! the other side asks for, as often as it asks: on a lossy link that sent
//! 6.4 Mbit/s against a 344 kbit/s target. This sits wire-side of it (in
//! [`crate::feedback::FeedbackTap`]) and lets resends through only from a
//! token bucket worth a share of the current target bitrate, so everything
//! sent stays within about (1 + share) × the target.
//!
//! A resend is told from a first send by its sequence number: the
//! responder resends packets as they were (no RTX negotiated), so a packet
//! whose number is not newer than the newest already sent on its SSRC is a
//! resend; anything on an RTX SSRC is one too.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Resends may use this share of the target bitrate.
pub const RESEND_SHARE: f64 = 0.25;
/// The bucket holds this long's worth of resends (a short burst after a loss).
const BURST: Duration = Duration::from_millis(250);

#[derive(Debug, Default)]
pub struct ResendCap {
    newest: HashMap<u32, u16>,
    rtx: HashSet<u32>,
    tokens: f64,
    last: Option<Instant>,
    pub resent_bytes: u64,
    pub dropped: u64,
}

impl ResendCap {
    pub fn rtx_ssrc(&mut self, ssrc: u32) {
        self.rtx.insert(ssrc);
    }

    /// Whether this outgoing RTP packet may go. `target_bps` is what the
    /// whole send should stay near (video target plus audio).
    pub fn allow(&mut self, ssrc: u32, seq: u16, bytes: usize, now: Instant, target_bps: u64) -> bool {
        let rate = target_bps as f64 / 8.0 * RESEND_SHARE; // bytes per second
        let dt = self.last.map_or(0.0, |l| now.saturating_duration_since(l).as_secs_f64());
        self.last = Some(now);
        self.tokens = (self.tokens + dt * rate).min(rate * BURST.as_secs_f64());
        let resend = self.rtx.contains(&ssrc)
            || match self.newest.get(&ssrc) {
                Some(&n) => (seq.wrapping_sub(n) as i16) <= 0,
                None => false,
            };
        if !resend {
            self.newest.insert(ssrc, seq);
            return true;
        }
        if self.tokens >= bytes as f64 {
            self.tokens -= bytes as f64;
            self.resent_bytes += bytes as u64;
            true
        } else {
            self.dropped += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resends_stay_within_their_share_of_the_target() {
        let mut c = ResendCap::default();
        let t0 = Instant::now();
        let target = 1_000_000; // 1 Mbit/s: 31 250 bytes of resends a second
        let mut sent_resends = 0u64;
        for ms in 0..10_000u64 {
            let now = t0 + Duration::from_millis(ms);
            let seq = ms as u16;
            assert!(c.allow(1, seq, 1200, now, target), "first sends always go");
            // A storm: the other side asks for the last ten packets again every millisecond.
            for back in 1..=10u16 {
                if c.allow(1, seq.wrapping_sub(back), 1200, now, target) {
                    sent_resends += 1200;
                }
            }
        }
        let per_s = sent_resends as f64 / 10.0;
        assert!(per_s <= 1_000_000.0 / 8.0 * RESEND_SHARE * 1.05, "{per_s} bytes/s of resends");
        assert!(per_s >= 1_000_000.0 / 8.0 * RESEND_SHARE * 0.8, "the budget is used: {per_s}");
        assert!(c.dropped > 0);
        // Sequence numbers wrap: 65535 → 0 is newer, not a resend.
        let mut c = ResendCap::default();
        assert!(c.allow(2, 65_535, 100, t0, 0) && c.allow(2, 0, 100, t0, 0));
        assert!(!c.allow(2, 65_535, 100, t0, 0), "no budget at a zero target");
    }
}
