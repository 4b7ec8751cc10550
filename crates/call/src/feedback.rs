//! What the other side's RTCP says about our streams: loss and round-trip
//! time from its reception reports, and its requests for a keyframe.
//!
//! webrtc-rs 0.21 keeps its remote-inbound statistics at zero (its RTCP
//! handler for them is never called), and hands inbound RTCP to the
//! application only when an interceptor marks it. So a small interceptor of
//! ours sits wire-most in the chain (every other interceptor sees the RTCP
//! after it, unchanged) and records what congestion control and the encoder
//! need in a shared [`Feedback`].
//!
//! ```text
//!  wire ─▶ [FeedbackTap: read RR/SR report blocks, PLI/FIR] ─▶ default interceptors ─▶ …
//!  wire ◀─ [FeedbackTap: note when each of our SRs left]    ◀─ default interceptors ◀─ …
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::interceptor::{Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;

use crate::resend::ResendCap;

/// The latest report about one of our streams.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StreamReport {
    /// Fraction lost since the previous report (0–1).
    pub fraction_lost: f64,
    /// Round trip from our sender report to their reception report, when it names one.
    pub rtt: Option<Duration>,
    pub at: Instant,
}

/// Shared between the interceptor (writer) and the session (reader).
#[derive(Default)]
pub struct Feedback {
    reports: Mutex<HashMap<u32, StreamReport>>,
    /// Our sender reports by the middle 32 bits of their NTP time (what a
    /// reception report echoes as LSR), with when they left.
    sent_srs: Mutex<VecDeque<(u32, Instant)>>,
    /// Set on PLI/FIR for our video; the encoder makes the next frame a keyframe.
    keyframe: Mutex<Option<Arc<AtomicBool>>>,
    pub keyframe_requests: std::sync::atomic::AtomicU64,
    /// PLI/FIR that came too soon after the last honoured one (no keyframe
    /// storms): held back, all of them together make one keyframe once the gap is over.
    pub keyframe_requests_ignored: std::sync::atomic::AtomicU64,
    /// When the last keyframe was made for a request, and whether a request is held back.
    last_keyframe: Mutex<(Option<Instant>, bool)>,
    /// What the whole send should stay near (bit/s): congestion control's
    /// video target plus audio. Resends get what the media leaves of 1.2× it.
    pub target_bps: std::sync::atomic::AtomicU64,
    resend: Mutex<ResendCap>,
    pub resends_dropped: std::sync::atomic::AtomicU64,
    pub resent_bytes: std::sync::atomic::AtomicU64,
    /// The GCC estimate from TWCC feedback (bit/s; 0 until the first).
    pub gcc_bps: std::sync::atomic::AtomicU64,
    /// The other side's last sender reports per stream: its NTP wall
    /// clock against its RTP clock (what lines its audio up with its video).
    sender_clocks: Mutex<HashMap<u32, VecDeque<(u64, u32)>>>,
}

/// Sender reports kept per stream for its clock (about one a second).
const SENDER_REPORTS_KEPT: usize = 10;

/// At most one keyframe per this long for the other side's requests: a
/// keyframe is several times a normal frame, and under loss the requests
/// come in bursts (each lost keyframe packet asks again). A little under
/// the receiver's retry period ([`crate::jitter::KEYFRAME_RETRY`], 300 ms;
/// libwebrtc's sender keeps 300 ms between keyframes): with both at 500 ms
/// a retry that came a few ms early was refused, and the picture at 20 %
/// loss waited another 500 ms for the next.
pub const KEYFRAME_REQUEST_GAP: Duration = Duration::from_millis(250);

impl Feedback {
    /// Where keyframe requests go (the encoder's force-keyframe flag).
    pub fn on_keyframe_request(&self, flag: Arc<AtomicBool>) {
        *self.keyframe.lock().unwrap_or_else(|p| p.into_inner()) = Some(flag);
    }

    /// The latest report about `ssrc`, if one came within `max_age`.
    pub fn report(&self, ssrc: u32, now: Instant, max_age: Duration) -> Option<StreamReport> {
        let r = *self.reports.lock().unwrap_or_else(|p| p.into_inner()).get(&ssrc)?;
        (now.saturating_duration_since(r.at) <= max_age).then_some(r)
    }

    fn sent_sr(&self, ntp: u64, now: Instant) {
        let mut q = self.sent_srs.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() >= 32 {
            q.pop_front();
        }
        q.push_back(((ntp >> 16) as u32, now));
    }

    fn reception(&self, r: &ReceptionReport, now: Instant) {
        // RFC 3550 §6.4.1: RTT = arrival − LSR − DLSR (DLSR in 1/65536 s).
        let rtt = (r.last_sender_report != 0)
            .then(|| {
                let q = self.sent_srs.lock().unwrap_or_else(|p| p.into_inner());
                q.iter().rev().find(|(lsr, _)| *lsr == r.last_sender_report).map(|(_, sent)| *sent)
            })
            .flatten()
            .and_then(|sent| now.saturating_duration_since(sent).checked_sub(Duration::from_secs_f64(r.delay as f64 / 65536.0)));
        if rtt.is_some() {
            self.resend.lock().unwrap_or_else(|p| p.into_inner()).set_rtt(rtt);
        }
        let report = StreamReport { fraction_lost: r.fraction_lost as f64 / 256.0, rtt, at: now };
        self.reports.lock().unwrap_or_else(|p| p.into_inner()).insert(r.ssrc, report);
    }

    fn keyframe_request(&self, now: Instant) {
        self.keyframe_requests.fetch_add(1, Ordering::Relaxed);
        {
            let mut gate = self.last_keyframe.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(since) = gate.0.map(|l| now.saturating_duration_since(l)).filter(|d| *d < KEYFRAME_REQUEST_GAP) {
                // Held back, not dropped: one made right after a keyframe is
                // a loss since (the picture needs another), and refused it
                // waited for the receiver's next retry, 500 ms on (at 20 %
                // loss, half the keyframes came that late).
                tracing::debug!("keyframe request held back ({since:?} after the last)");
                self.keyframe_requests_ignored.fetch_add(1, Ordering::Relaxed);
                gate.1 = true;
                return;
            }
            *gate = (Some(now), false);
        }
        tracing::debug!("keyframe request honoured");
        self.make_keyframe(now);
    }

    /// A request held back is honoured once the gap is over (checked with
    /// each RTCP packet that comes: under loss NACKs come every 25 ms).
    fn held_back_keyframe(&self, now: Instant) {
        {
            let mut gate = self.last_keyframe.lock().unwrap_or_else(|p| p.into_inner());
            if !gate.1 || gate.0.is_some_and(|l| now.saturating_duration_since(l) < KEYFRAME_REQUEST_GAP) {
                return;
            }
            *gate = (Some(now), false);
        }
        tracing::debug!("keyframe request held back honoured");
        self.make_keyframe(now);
    }

    fn make_keyframe(&self, now: Instant) {
        self.resend.lock().unwrap_or_else(|p| p.into_inner()).keyframe_requested(now);
        if let Some(f) = self.keyframe.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            f.store(true, Ordering::Release);
        }
    }

    /// Whether an outgoing RTP packet may go (resends only within their budget).
    pub(crate) fn may_send(&self, ssrc: u32, seq: u16, bytes: usize, now: Instant) -> bool {
        let target = self.target_bps.load(Ordering::Relaxed);
        let mut cap = self.resend.lock().unwrap_or_else(|p| p.into_inner());
        let (before, ok) = (cap.resent_bytes, cap.allow(ssrc, seq, bytes, now, target));
        if ok {
            self.resent_bytes.fetch_add(cap.resent_bytes - before, Ordering::Relaxed);
        } else {
            self.resends_dropped.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    pub(crate) fn rtx_ssrc(&self, ssrc: u32) {
        self.resend.lock().unwrap_or_else(|p| p.into_inner()).rtx_ssrc(ssrc);
    }

    /// When the other side captured (sent) the RTP timestamp `rtp` of its
    /// stream `ssrc`, in seconds of its NTP wall clock, from its last few
    /// sender reports (RFC 3550 §6.4.1); None before the first report.
    /// Audio and video of one sender share that clock, so this is what
    /// keeps them in sync whatever the network does to each.
    pub fn capture_time(&self, ssrc: u32, rtp: u32, clock_rate: u32) -> Option<f64> {
        let clocks = self.sender_clocks.lock().unwrap_or_else(|p| p.into_inner());
        let reports = clocks.get(&ssrc)?;
        let map = |&(ntp, sr_rtp): &(u64, u32)| {
            let secs = (ntp >> 32) as f64 + (ntp & 0xffff_ffff) as f64 / 4_294_967_296.0;
            // Signed: a packet a little older than the report is before it.
            secs + rtp.wrapping_sub(sr_rtp) as i32 as f64 / clock_rate.max(1) as f64
        };
        // A sender maps its RTP clock to its wall clock as of when it sent
        // a frame, so each report errs late by that frame's queueing and
        // pacing (webrtc-rs: up to a frame interval): the earliest mapping
        // of the last few reports is the truest. One that maps more than
        // 50 ms before the latest is from before a change of the sender's
        // RTP timeline (a stall its RTP clock did not follow): left out.
        let latest = map(reports.back()?);
        reports.iter().map(map).filter(|t| *t >= latest - 0.05).reduce(f64::min)
    }

    /// Records what one batch of inbound RTCP says (pure: tests feed it parsed packets).
    pub fn read(&self, packets: &[Box<dyn rtc::rtcp::Packet>], now: Instant) {
        self.held_back_keyframe(now);
        for p in packets {
            let any = p.as_any();
            if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                rr.reports.iter().for_each(|r| self.reception(r, now));
            } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
                sr.reports.iter().for_each(|r| self.reception(r, now));
                if sr.ntp_time != 0 {
                    let mut clocks = self.sender_clocks.lock().unwrap_or_else(|p| p.into_inner());
                    // Streams are few; a crafted flood of SSRCs cannot grow this without bound.
                    if clocks.len() < 64 || clocks.contains_key(&sr.ssrc) {
                        let q = clocks.entry(sr.ssrc).or_default();
                        if q.len() >= SENDER_REPORTS_KEPT {
                            q.pop_front();
                        }
                        q.push_back((sr.ntp_time, sr.rtp_time));
                    }
                }
            } else if any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>() {
                self.keyframe_request(now);
            }
        }
    }
}

/// The interceptor: reads, never changes or holds back a packet.
pub struct FeedbackTap {
    shared: Arc<Feedback>,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl FeedbackTap {
    pub fn new(shared: Arc<Feedback>) -> Self {
        FeedbackTap { shared, read_queue: VecDeque::new(), write_queue: VecDeque::new() }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            self.shared.read(packets, msg.now);
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            for p in packets {
                if let Some(sr) = p.as_any().downcast_ref::<SenderReport>() {
                    self.shared.sent_sr(sr.ntp_time, msg.now);
                }
            }
        }
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for FeedbackTap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reception_reports_give_loss_and_rtt_and_pli_asks_for_a_keyframe() {
        let f = Feedback::default();
        let flag = Arc::new(AtomicBool::new(false));
        f.on_keyframe_request(flag.clone());
        let t0 = Instant::now();
        let ntp: u64 = 0x1234_5678_9abc_def0;
        f.sent_sr(ntp, t0);
        // Their report, 0.25 lost, 10 ms after our SR, having held it 4 ms (262 / 65536 s).
        let rr = ReceiverReport {
            ssrc: 1,
            reports: vec![ReceptionReport { ssrc: 42, fraction_lost: 64, last_sender_report: (ntp >> 16) as u32, delay: 262, ..Default::default() }],
            ..Default::default()
        };
        // Parsed from the wire, as the interceptor gets it.
        let mut bytes = rtc::rtcp::packet::marshal(&[Box::new(rr) as Box<dyn rtc::rtcp::Packet>]).unwrap();
        let parsed = rtc::rtcp::packet::unmarshal(&mut bytes).unwrap();
        f.read(&parsed, t0 + Duration::from_millis(10));
        let r = f.report(42, t0 + Duration::from_millis(10), Duration::from_secs(5)).unwrap();
        assert_eq!(r.fraction_lost, 0.25);
        let rtt = r.rtt.unwrap().as_secs_f64() * 1000.0;
        assert!((5.9..6.1).contains(&rtt), "rtt {rtt} ms");
        assert!(f.report(42, t0 + Duration::from_secs(9), Duration::from_secs(5)).is_none(), "stale");
        assert!(f.report(7, t0, Duration::from_secs(5)).is_none());
        assert!(!flag.load(Ordering::Acquire));
        f.read(&[Box::new(PictureLossIndication { sender_ssrc: 1, media_ssrc: 42 }) as Box<dyn rtc::rtcp::Packet>], t0);
        assert!(flag.load(Ordering::Acquire));
        assert_eq!(f.keyframe_requests.load(Ordering::Relaxed), 1);
        // A burst of requests makes one keyframe, not one each.
        flag.store(false, Ordering::Release);
        let pli = || [Box::new(PictureLossIndication { sender_ssrc: 1, media_ssrc: 42 }) as Box<dyn rtc::rtcp::Packet>];
        f.read(&pli(), t0 + Duration::from_millis(100));
        f.read(&pli(), t0 + Duration::from_millis(200));
        assert!(!flag.load(Ordering::Acquire), "too soon after the last");
        assert_eq!(f.keyframe_requests_ignored.load(Ordering::Relaxed), 2);
        // Held back: the next RTCP after the gap (any) makes one keyframe for both.
        f.read(&[], t0 + KEYFRAME_REQUEST_GAP - Duration::from_millis(1));
        assert!(!flag.load(Ordering::Acquire));
        f.read(&[], t0 + KEYFRAME_REQUEST_GAP);
        assert!(flag.swap(false, Ordering::AcqRel));
        f.read(&[], t0 + KEYFRAME_REQUEST_GAP * 3);
        assert!(!flag.load(Ordering::Acquire), "one keyframe, not one each");
        f.read(&pli(), t0 + KEYFRAME_REQUEST_GAP * 3);
        assert!(flag.load(Ordering::Acquire));
    }

    #[test]
    fn sender_reports_map_rtp_timestamps_to_the_senders_clock() {
        let f = Feedback::default();
        assert_eq!(f.capture_time(9, 1000, 48_000), None, "no report yet");
        // 1000.5 s on the sender's NTP clock is RTP 4_294_967_000 (about to wrap).
        let ntp = (1000u64 << 32) | (1u64 << 31);
        let sr = SenderReport { ssrc: 9, ntp_time: ntp, rtp_time: 4_294_967_000, ..Default::default() };
        let mut bytes = rtc::rtcp::packet::marshal(&[Box::new(sr) as Box<dyn rtc::rtcp::Packet>]).unwrap();
        f.read(&rtc::rtcp::packet::unmarshal(&mut bytes).unwrap(), Instant::now());
        let t = |rtp: u32| f.capture_time(9, rtp, 48_000).unwrap();
        assert!((t(4_294_967_000) - 1000.5).abs() < 1e-6);
        // 48 000 ticks later (across the wrap) is one second later; 960 before, 20 ms before.
        assert!((t(4_294_967_000u32.wrapping_add(48_000)) - 1001.5).abs() < 1e-6);
        assert!((t(4_294_967_000 - 960) - 1000.48).abs() < 1e-6);
        assert_eq!(f.capture_time(10, 0, 90_000), None, "another stream has its own report");
        // A later report that maps 15 ms late (its frame waited in the pacer) changes nothing;
        // one that maps 5 ms earlier is the truer one.
        let at = |secs: f64| ((secs.floor() as u64) << 32) | ((secs.fract() * 4_294_967_296.0) as u64);
        let report = |ntp: u64, rtp: u32| {
            let sr = SenderReport { ssrc: 9, ntp_time: ntp, rtp_time: rtp, ..Default::default() };
            let mut bytes = rtc::rtcp::packet::marshal(&[Box::new(sr) as Box<dyn rtc::rtcp::Packet>]).unwrap();
            f.read(&rtc::rtcp::packet::unmarshal(&mut bytes).unwrap(), Instant::now());
        };
        report(at(1001.515), 4_294_967_000u32.wrapping_add(48_000));
        assert!((t(4_294_967_000) - 1000.5).abs() < 1e-6);
        report(at(1002.495), 4_294_967_000u32.wrapping_add(96_000));
        assert!((t(4_294_967_000) - 1000.495).abs() < 1e-6);
        // The sender stalled 300 ms and its RTP clock did not follow: from
        // its next report on, the new timeline counts, not the older, earlier ones.
        report(at(1003.795), 4_294_967_000u32.wrapping_add(144_000));
        assert!((t(4_294_967_000) - 1000.795).abs() < 1e-6, "{}", t(4_294_967_000));
    }
}
