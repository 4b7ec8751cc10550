//! A cap on retransmissions. webrtc-rs's NACK responder resends whatever
//! the other side asks for, as often as it asks: on a lossy link that sent
//! 6.4 Mbit/s against a 344 kbit/s target. This sits wire-side of it (in
//! [`crate::congestion::CongestionTap`]) and sees every RTP packet we send,
//! video and audio (Opus in-band FEC rides inside audio), first sends and
//! resends. Everything together is budgeted against the current target: a
//! token bucket fills at [`TOTAL_SHARE`] × the target, every first send
//! drains it (first sends always go: the encoder's rate control owns them),
//! and a resend goes only while it holds enough, so resends use what the
//! media leaves of that. A small bucket of its own ([`FLOOR_SHARE`]) keeps
//! some resends going when the encoder overshoots (a keyframe).
//!
//! A resend is worth its bytes only while the other side still waits for
//! it: one of a packet first sent more than [`MAX_AGE`] ago (the receiver's
//! jitter buffer gives a gap up after at most 300 ms; after an outage the
//! NACKs name hundreds of such packets), or of one already resent less than
//! a round trip ago (the NACK generator asks every 25 ms, so on a long
//! round trip it asks again before the first resend can have landed), does
//! not go. Nor does one of a packet first sent before the other side's last
//! honoured keyframe request ([`ResendCap::keyframe_requested`]): a receiver
//! that asks for a keyframe has given up what came before it and waits for
//! the keyframe. After a 5 s outage the NACKs named every packet of its
//! last 600 ms (about 45 KB at 600 kbit/s), each asked every 25 ms: their
//! resends filled a 1 Mbit/s link's queue ahead of the keyframe, which then
//! lost packets to that queue and came whole only a second later.
//!
//! A resend is told from a first send by its sequence number: the
//! responder resends packets as they were (no RTX negotiated), so a packet
//! whose number is not newer than the newest already sent on its SSRC is a
//! resend; anything on an RTX SSRC is one too.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Everything sent (RTP payload and header) may use this much of the target
/// bitrate; SRTP, TURN and RTCP come on top (measured: about 5 % more).
pub const TOTAL_SHARE: f64 = 1.15;
/// Resends may always use this share of the target, whatever the media sends
/// (a keyframe's own lost packets must not wait for the bucket to refill).
pub const FLOOR_SHARE: f64 = 0.08;
/// The buckets hold this long's worth.
const BURST: Duration = Duration::from_millis(500);
/// How far first sends may run the shared bucket into debt (a keyframe):
/// short, so resends are not starved for long after one.
const DEBT: Duration = Duration::from_millis(250);
/// Resends of packets first sent longer ago than this are not worth it.
pub const MAX_AGE: Duration = Duration::from_millis(600);
/// Sent packets remembered per SSRC (their first send and last resend).
const HISTORY: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u16,
    first: Instant,
    resent: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct ResendCap {
    newest: HashMap<u32, u16>,
    history: HashMap<u32, Vec<Option<Sent>>>,
    rtx: HashSet<u32>,
    rtt: Option<Duration>,
    /// Shared by everything sent (bytes; negative after a burst of media).
    tokens: f64,
    /// Resends' own small allowance.
    floor: f64,
    last: Option<Instant>,
    /// Packets first sent before this are not resent (a keyframe was asked for since).
    cutoff: Option<Instant>,
    pub resent_bytes: u64,
    /// Resends not sent: over budget, too old, or repeated within a round trip.
    pub dropped: u64,
}

impl ResendCap {
    pub fn rtx_ssrc(&mut self, ssrc: u32) {
        self.rtx.insert(ssrc);
    }

    /// The measured round trip: a packet is resent at most once per it.
    pub fn set_rtt(&mut self, rtt: Option<Duration>) {
        self.rtt = rtt;
    }

    /// The other side asked for a keyframe (and one is made): what was sent
    /// before is of no use to it any more, so none of it is resent.
    pub fn keyframe_requested(&mut self, now: Instant) {
        self.cutoff = Some(now);
    }

    /// Whether this outgoing RTP packet may go. `target_bps` is what the
    /// whole send should stay near (video target plus audio).
    pub fn allow(&mut self, ssrc: u32, seq: u16, bytes: usize, now: Instant, target_bps: u64) -> bool {
        let rate = target_bps as f64 / 8.0; // bytes per second
        let dt = self.last.map_or(0.0, |l| now.saturating_duration_since(l).as_secs_f64());
        self.last = Some(now);
        self.tokens = (self.tokens + dt * rate * TOTAL_SHARE).min(rate * TOTAL_SHARE * BURST.as_secs_f64());
        self.floor = (self.floor + dt * rate * FLOOR_SHARE).min(rate * FLOOR_SHARE * BURST.as_secs_f64());
        let bytes_f = bytes as f64;
        let resend = self.rtx.contains(&ssrc)
            || match self.newest.get(&ssrc) {
                Some(&n) => (seq.wrapping_sub(n) as i16) <= 0,
                None => false,
            };
        if !resend {
            self.newest.insert(ssrc, seq);
            // Unknown SSRCs beyond a few (a peer cannot make us grow: these are ours).
            if self.history.len() < 16 || self.history.contains_key(&ssrc) {
                let h = self.history.entry(ssrc).or_insert_with(|| vec![None; HISTORY]);
                h[usize::from(seq) % HISTORY] = Some(Sent { seq, first: now, resent: None });
            }
            self.tokens = (self.tokens - bytes_f).max(-rate * TOTAL_SHARE * DEBT.as_secs_f64());
            return true;
        }
        if !self.rtx.contains(&ssrc) {
            let slot = self.history.get_mut(&ssrc).and_then(|h| h.get_mut(usize::from(seq) % HISTORY)).and_then(|e| e.as_mut()).filter(|e| e.seq == seq);
            let Some(sent) = slot else {
                self.dropped += 1;
                return false;
            };
            let again_too_soon = sent.resent.zip(self.rtt).is_some_and(|(t, rtt)| now.saturating_duration_since(t) < rtt);
            let superseded = self.cutoff.is_some_and(|c| sent.first < c);
            if now.saturating_duration_since(sent.first) > MAX_AGE || again_too_soon || superseded {
                self.dropped += 1;
                return false;
            }
        }
        if self.tokens >= bytes_f {
            self.tokens -= bytes_f;
        } else if self.floor >= bytes_f {
            // Still counted in the shared bucket: over time the whole stays near its share.
            self.floor -= bytes_f;
            self.tokens = (self.tokens - bytes_f).max(-rate * TOTAL_SHARE * DEBT.as_secs_f64());
        } else {
            self.dropped += 1;
            return false;
        }
        if let Some(e) = self.history.get_mut(&ssrc).and_then(|h| h.get_mut(usize::from(seq) % HISTORY)).and_then(|e| e.as_mut()) {
            e.resent = Some(now);
        }
        self.resent_bytes += bytes as u64;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Media at `media_share` of the target in 1200-byte packets (one a
    /// millisecond at 9.6 Mbit/s scaled down), with the other side asking
    /// for the last ten packets again every millisecond: (first-send bytes/s, resend bytes/s).
    fn storm(media_share: f64) -> (f64, f64, ResendCap) {
        let mut c = ResendCap::default();
        let t0 = Instant::now();
        let target = 1_000_000u64; // 125 000 bytes a second
        let per_ms = 125.0 * media_share; // bytes of media a millisecond
        let (mut media, mut resent, mut owed) = (0.0, 0.0, 0.0);
        let mut seq = 0u16;
        for ms in 0..10_000u64 {
            let now = t0 + Duration::from_millis(ms);
            owed += per_ms;
            while owed >= 1200.0 {
                owed -= 1200.0;
                seq = seq.wrapping_add(1);
                assert!(c.allow(1, seq, 1200, now, target), "first sends always go");
                media += 1200.0;
            }
            for back in 0..10u16 {
                if c.allow(1, seq.wrapping_sub(back), 1200, now, target) {
                    resent += 1200.0;
                }
            }
        }
        (media / 10.0, resent / 10.0, c)
    }

    #[test]
    fn everything_sent_stays_within_its_share_of_the_target() {
        let rate = 125_000.0;
        // Media under the target: resends fill what it leaves, no more.
        let (media, resent, c) = storm(0.9);
        let total = media + resent;
        assert!(total <= rate * (TOTAL_SHARE + FLOOR_SHARE) * 1.02, "{total} bytes/s sent");
        assert!(total >= rate * TOTAL_SHARE * 0.9, "the budget is used: {total}");
        assert!(c.dropped > 0 && c.resent_bytes > 0);
        // Media over the whole budget (an encoder overshooting): resends still get their floor, no more.
        let (media, resent, _) = storm(1.3);
        assert!(media >= rate * 1.29, "{media}");
        assert!(resent <= rate * FLOOR_SHARE * 1.1 && resent >= rate * FLOOR_SHARE * 0.7, "{resent} bytes/s of resends");
        // Too old, or again within a round trip: not resent, whatever the budget.
        let t0 = Instant::now();
        let mut c = ResendCap::default();
        c.set_rtt(Some(Duration::from_millis(100)));
        assert!(c.allow(3, 1, 100, t0, 1_000_000) && c.allow(3, 2, 100, t0 + Duration::from_millis(400), 1_000_000));
        let t = t0 + MAX_AGE + Duration::from_millis(1);
        assert!(!c.allow(3, 1, 100, t, 1_000_000), "first sent too long ago");
        assert!(c.allow(3, 2, 100, t, 1_000_000));
        assert!(!c.allow(3, 2, 100, t + Duration::from_millis(50), 1_000_000), "resent under a round trip ago");
        assert!(c.allow(3, 2, 100, t + Duration::from_millis(150), 1_000_000));
        assert!(!c.allow(3, 0, 100, t, 1_000_000), "never sent");
        // A keyframe asked for: what went before it is not resent, what goes after is.
        c.keyframe_requested(t + Duration::from_millis(160));
        assert!(c.allow(3, 3, 100, t + Duration::from_millis(170), 1_000_000));
        assert!(!c.allow(3, 2, 100, t + Duration::from_millis(300), 1_000_000), "sent before the keyframe request");
        assert!(c.allow(3, 3, 100, t + Duration::from_millis(300), 1_000_000), "sent after it");
        // Sequence numbers wrap: 65535 → 0 is newer, not a resend.
        let t0 = Instant::now();
        let mut c = ResendCap::default();
        assert!(c.allow(2, 65_535, 100, t0, 0) && c.allow(2, 0, 100, t0, 0));
        assert!(!c.allow(2, 65_535, 100, t0, 0), "no budget at a zero target");
    }
}
