//! The video jitter buffer (sans-IO): RTP packets in, in any order, whole
//! frames out in decode order, waiting for retransmissions instead of
//! dropping a frame at the first sequence gap.
//!
//! ```text
//!  push(now, seq, ts, marker, payload) ─▶ packets by extended sequence number ─▶ poll(now) ─▶ Frame | RequestKeyframe
//!                                          (duplicates, late ones ignored)
//! ```
//!
//! A frame is the packets of one RTP timestamp, contiguous from the packet
//! after the previous frame's last to the one with the marker bit. It is
//! released the moment it is whole. A missing packet is waited for (the
//! NACK generator asks for it again; see [`wait_for`]) from when a later
//! packet showed it missing; only when that deadline passes is the frame
//! lost. Every P-frame references the one before (no B-frames), so after a
//! loss nothing is released until the next whole keyframe (a frame that
//! carries an SPS or IDR slice), and a keyframe is asked for (again every
//! [`KEYFRAME_RETRY`] while none comes). A whole keyframe beyond a gap being
//! waited for makes the wait moot: decoding jumps to it.
//!
//! Memory is bounded: more than [`MAX_PACKETS`] held, or a sequence jump
//! larger than that, flushes everything and waits for a keyframe.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// webrtc-rs's NACK generator asks for missing packets on this period (at
/// most [`MAX_NACKS`] times a packet; set in `peer.rs`).
pub const NACK_INTERVAL: Duration = Duration::from_millis(25);
/// NACKs for a missing packet, at most (webrtc-rs's default, 0, asks for as
/// long as the packet is in its window: a storm on a lossy link). At 10 %
/// loss both ways a try fails one time in five (the NACK or the resend
/// lost), so three tries (every 40 ms) left 0.7 % of lost packets
/// unrepaired, each one a frame given up and a freeze until the next
/// keyframe; with six every 40 ms a packet that needed a fourth try still
/// held its frame past a freeze (~150 ms; measured: 2 in 30 s). Ten every
/// 25 ms (libwebrtc tries up to ten) put six tries within 150 ms on a short
/// round trip; on a long one the resend cap lets one go per round trip.
pub const MAX_NACKS: u16 = 10;
/// Packets held at most (a few seconds of 1080p).
pub const MAX_PACKETS: usize = 2_000;
/// While waiting for a keyframe, ask again this often (at least two round
/// trips: [`keyframe_retry`]), while packets keep coming and none of a
/// keyframe did. libwebrtc asks every 200 ms; at 500 ms a picture at 20 %
/// loss, where a keyframe arrives whole about one time in two, came back
/// a second or more after each loss.
pub const KEYFRAME_RETRY: Duration = Duration::from_millis(300);

/// How long after a keyframe request another is made while none comes:
/// [`KEYFRAME_RETRY`], or two round trips on a long one (the keyframe's first
/// packet cannot come sooner than one, and a capped link's queue lengthens it).
pub fn keyframe_retry(rtt: Option<Duration>) -> Duration {
    KEYFRAME_RETRY.max(rtt.unwrap_or_default().min(Duration::from_secs(1)) * 2)
}
/// While waiting for a keyframe, packets older than this are dropped.
const SEARCH_HOLD: Duration = Duration::from_millis(1_000);

/// How long a missing packet is waited for, given the round trip: 1.5×RTT
/// + 30 ms (at least 60 ms) for its retransmission, plus a NACK period for
/// each further request so the last still makes it, at most 500 ms (resends
/// of packets older than 600 ms do not go). Unknown RTT: 50 ms.
pub fn wait_for(rtt: Option<Duration>) -> Duration {
    let rtt = rtt.unwrap_or(Duration::from_millis(50)).min(Duration::from_secs(1));
    ((rtt * 3 / 2 + Duration::from_millis(30)).max(Duration::from_millis(60)) + NACK_INTERVAL * u32::from(MAX_NACKS - 1)).min(Duration::from_millis(500))
}

/// A whole frame, its payloads in sequence order (RTP payloads, not yet depacketized).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub ts: u32,
    pub keyframe: bool,
    pub payloads: Vec<Bytes>,
    /// Whether it waited for a missing packet that then came.
    pub recovered: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Frame(Frame),
    /// Ask the sender for a keyframe (RTCP PLI).
    RequestKeyframe,
}

/// What the buffer did, for the call report.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JitterStats {
    pub frames_released: u64,
    /// Frames whose missing packets never came before their deadline.
    pub frames_lost: u64,
    /// Frames released after waiting for a retransmission.
    pub frames_recovered: u64,
    /// Whole frames dropped while waiting for a keyframe.
    pub frames_skipped: u64,
    pub packets_duplicate: u64,
    /// Packets that came after their frame was released or given up.
    pub packets_late: u64,
    pub flushes: u64,
}

#[derive(Clone)]
struct Entry {
    ts: u32,
    marker: bool,
    payload: Bytes,
    arrived: Instant,
    /// Holds an SPS or an IDR slice (start).
    key: bool,
    /// Holds an SPS: a keyframe starts here (an SEI or AUD before it may be lost harmlessly).
    sps: bool,
}

#[derive(Clone)]
pub struct JitterBuffer {
    packets: BTreeMap<u64, Entry>,
    highest: Option<u64>,
    /// Where decoding goes on (the first packet of the next frame); None
    /// while waiting for a keyframe.
    next: Option<u64>,
    /// Packets below this are released or given up.
    floor: u64,
    last_request: Option<Instant>,
    /// When the last packet holding an SPS or IDR slice came (a keyframe on its way).
    last_key_packet: Option<Instant>,
    rtt: Option<Duration>,
    /// When the last packet came.
    last_push: Option<Instant>,
    /// A packet missing below this went missing before a silence longer
    /// than resends reach back ([`crate::resend::MAX_AGE`]: an outage), so it
    /// is given up at once instead of waited for.
    hopeless_below: u64,
    out: VecDeque<Output>,
    pub stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        JitterBuffer { packets: BTreeMap::new(), highest: None, next: None, floor: 0, last_request: None, last_key_packet: None, rtt: None, last_push: None, hopeless_below: 0, out: VecDeque::new(), stats: JitterStats::default() }
    }
}

/// How far a frame starting at a packet got.
enum Walk {
    /// Whole: its last packet.
    Whole { last: u64, key: bool },
    /// This packet is missing, and later ones came (a gap).
    Gap(u64),
    /// The rest has not come yet.
    Open,
}

impl JitterBuffer {
    /// The measured round trip (sets how long a gap is waited for).
    pub fn set_rtt(&mut self, rtt: Option<Duration>) {
        self.rtt = rtt;
    }

    pub fn held(&self) -> usize {
        self.packets.len()
    }

    /// One RTP packet of the video stream.
    pub fn push(&mut self, now: Instant, seq: u16, ts: u32, marker: bool, payload: Bytes) {
        let ext = match self.highest {
            // Room below the first for packets reordered before it.
            None => (1u64 << 16) + u64::from(seq),
            Some(h) => {
                let e = h as i64 + i64::from(seq.wrapping_sub(h as u16) as i16);
                if e < 0 {
                    self.stats.packets_late += 1;
                    return;
                }
                e as u64
            }
        };
        if self.highest.is_some_and(|h| ext > h + MAX_PACKETS as u64) {
            // A jump: the stream restarted (or a peer plays games).
            self.flush(now);
        }
        if ext < self.floor {
            self.stats.packets_late += 1;
            return;
        }
        if self.packets.contains_key(&ext) {
            self.stats.packets_duplicate += 1;
            return;
        }
        // After an outage what was lost during it is older than any resend
        // (and every later frame needs it): ask for a keyframe at once
        // rather than wait out the deadline (up to 285 ms on a short round trip).
        if self.last_push.is_some_and(|t| now.saturating_duration_since(t) >= crate::resend::MAX_AGE) {
            self.hopeless_below = self.hopeless_below.max(ext);
        }
        self.last_push = Some(now);
        let (key, sps) = h264_key(&payload);
        if key {
            self.last_key_packet = Some(now);
        }
        self.packets.insert(ext, Entry { ts, marker, payload, arrived: now, key, sps });
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        if self.last_request.is_none() {
            // The first packet: the first keyframe is on its way; ask only if it does not come.
            self.last_request = Some(now);
        }
        if self.packets.len() > MAX_PACKETS {
            self.flush(now);
        }
    }

    /// A released frame could not be used (it did not depacketize or
    /// decode): wait for a keyframe.
    pub fn frame_broken(&mut self, now: Instant) {
        self.stats.frames_lost += 1;
        self.lose(now);
    }

    /// Releases what is whole and gives up on what is overdue. Call after
    /// each push and on a timer (every ~10 ms) so deadlines pass without new packets.
    pub fn poll(&mut self, now: Instant) -> Option<Output> {
        if self.out.is_empty() {
            self.advance(now);
        }
        self.out.pop_front()
    }

    fn advance(&mut self, now: Instant) {
        loop {
            let Some(n) = self.next else {
                match self.find_keyframe(self.floor) {
                    Some(start) => {
                        self.skip_to(start);
                        self.next = Some(start);
                        continue;
                    }
                    None => {
                        self.prune_search(now);
                        // A keyframe that started coming since the last request
                        // gets its resends' time before another is asked for
                        // (at a low bitrate a keyframe is most of a second's
                        // budget), as long as a gap is waited for: past that
                        // its missing packet is lost like any other. (It got
                        // another 500 ms on top: at 20 % loss a lost keyframe
                        // then cost 800 ms before the next was asked for.)
                        let coming = self.last_key_packet.zip(self.last_request).is_some_and(|(k, r)| k >= r && now.saturating_duration_since(k) < wait_for(self.rtt));
                        // Asked again only once packets came since the last
                        // request: into a silence (an outage) a request makes
                        // keyframes that are lost in it, and the request the
                        // first packet after it needs would be held back.
                        let heard = self.last_push.zip(self.last_request).is_some_and(|(p, r)| p > r);
                        if !coming && heard && self.last_request.is_some_and(|t| now.saturating_duration_since(t) >= keyframe_retry(self.rtt)) {
                            self.request(now);
                        }
                        return;
                    }
                }
            };
            match self.walk(n) {
                Walk::Whole { last, key } => {
                    let recovered = self.waited_on(n, last);
                    let mut payloads = Vec::with_capacity((last - n + 1) as usize);
                    let mut ts = 0;
                    for s in n..=last {
                        if let Some(e) = self.packets.remove(&s) {
                            ts = e.ts;
                            payloads.push(e.payload);
                        }
                    }
                    self.floor = last + 1;
                    self.next = Some(last + 1);
                    self.stats.frames_released += 1;
                    if recovered {
                        self.stats.frames_recovered += 1;
                    }
                    self.out.push_back(Output::Frame(Frame { ts, keyframe: key, payloads, recovered }));
                    return;
                }
                Walk::Open => return,
                Walk::Gap(m) => {
                    // A whole keyframe beyond the gap supersedes the wait.
                    if let Some(start) = self.find_keyframe(m + 1) {
                        self.stats.frames_lost += 1;
                        self.skip_to(start);
                        self.next = Some(start);
                        continue;
                    }
                    let since = self.packets.range(m + 1..).next().map_or(now, |(_, e)| e.arrived);
                    if m >= self.hopeless_below && now.saturating_duration_since(since) < wait_for(self.rtt) {
                        return;
                    }
                    self.stats.frames_lost += 1;
                    self.lose(now);
                }
            }
        }
    }

    /// Whether a packet of the frame came after the packet behind it (a
    /// retransmission, or reordering): the frame waited.
    fn waited_on(&self, first: u64, last: u64) -> bool {
        (first..=last).any(|s| match (self.packets.get(&s), self.packets.get(&(s + 1))) {
            (Some(a), Some(b)) => a.arrived > b.arrived,
            _ => false,
        })
    }

    /// From packet `n` (the first of a frame) to its marker.
    fn walk(&self, n: u64) -> Walk {
        let Some(first) = self.packets.get(&n) else {
            return if self.highest.is_some_and(|h| h > n) { Walk::Gap(n) } else { Walk::Open };
        };
        let mut key = first.key;
        let mut s = n;
        let mut prev_last = n;
        loop {
            match self.packets.get(&s) {
                None => return if self.highest.is_some_and(|h| h > s) { Walk::Gap(s) } else { Walk::Open },
                // A new timestamp without a marker before it: the frame ended at the packet before.
                Some(e) if e.ts != first.ts => return Walk::Whole { last: prev_last, key },
                Some(e) => {
                    key |= e.key;
                    if e.marker {
                        return Walk::Whole { last: s, key };
                    }
                }
            }
            prev_last = s;
            s += 1;
        }
    }

    /// The first whole keyframe starting at or after `from`: its first packet.
    fn find_keyframe(&self, from: u64) -> Option<u64> {
        let mut prev: Option<(u64, u32, bool)> = None;
        for (&s, e) in self.packets.range(from..) {
            // A frame starts here when the packet before is here and ends a
            // frame (marker or another timestamp), or when this one holds an
            // SPS (what came before it in its frame may be lost: SEI, AUD).
            // Each frame is walked once.
            let contiguous = prev.filter(|(ps, ..)| ps + 1 == s);
            let known_start = contiguous.is_some_and(|(_, pts, pm)| pm || pts != e.ts);
            let inside = contiguous.is_some_and(|(_, pts, pm)| !pm && pts == e.ts);
            prev = Some((s, e.ts, e.marker));
            if !(known_start || (e.sps && !inside)) {
                continue;
            }
            if let Walk::Whole { key: true, .. } = self.walk(s) {
                return Some(s);
            }
        }
        None
    }

    /// Drops everything before `start` (frames that cannot be decoded now).
    fn skip_to(&mut self, start: u64) {
        let keep = self.packets.split_off(&start);
        let mut ts = None;
        for e in self.packets.values() {
            if ts != Some(e.ts) {
                ts = Some(e.ts);
                self.stats.frames_skipped += 1;
            }
        }
        self.packets = keep;
        self.floor = start;
    }

    /// While waiting for a keyframe: what is too old to be part of one that will still come goes.
    fn prune_search(&mut self, now: Instant) {
        let old: Vec<u64> = self.packets.iter().filter(|(_, e)| now.saturating_duration_since(e.arrived) >= SEARCH_HOLD).map(|(&s, _)| s).collect();
        let mut ts = None;
        for s in old {
            if let Some(e) = self.packets.remove(&s) {
                if ts != Some(e.ts) {
                    ts = Some(e.ts);
                    self.stats.frames_skipped += 1;
                }
                // Only what went is behind us: a resend of a packet still missing may come.
                self.floor = self.floor.max(s + 1);
            }
        }
    }

    fn lose(&mut self, now: Instant) {
        self.next = None;
        self.request(now);
    }

    fn request(&mut self, now: Instant) {
        self.last_request = Some(now);
        self.out.push_back(Output::RequestKeyframe);
    }

    fn flush(&mut self, now: Instant) {
        self.stats.flushes += 1;
        self.packets.clear();
        self.highest = None;
        self.floor = 0;
        self.hopeless_below = 0;
        self.lose(now);
    }
}

/// Whether an H.264 RTP payload holds an SPS or the start of an IDR slice
/// (single NAL, STAP-A, FU-A start), and whether it holds an SPS.
fn h264_key(p: &[u8]) -> (bool, bool) {
    let Some(&b0) = p.first() else { return (false, false) };
    match b0 & 0x1f {
        7 => (true, true),
        5 => (true, false),
        24 => {
            let (mut at, mut key, mut sps) = (1usize, false, false);
            while let Some(len) = p.get(at..at + 2) {
                let len = usize::from(len[0]) << 8 | usize::from(len[1]);
                match p.get(at + 2).map(|b| b & 0x1f) {
                    Some(7) => (key, sps) = (true, true),
                    Some(5) => key = true,
                    _ => {}
                }
                at += 2 + len;
            }
            (key, sps)
        }
        28 => (p.get(1).is_some_and(|h| h & 0x80 != 0 && h & 0x1f == 5), false),
        _ => (false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS_PPS: &[u8] = &[0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 2];
    const IDR: &[u8] = &[0x65, 9, 9];
    const P: &[u8] = &[0x41, 5, 5];

    fn b(x: &[u8]) -> Bytes {
        Bytes::copy_from_slice(x)
    }

    fn drain(j: &mut JitterBuffer, now: Instant) -> Vec<Output> {
        std::iter::from_fn(|| j.poll(now)).collect()
    }

    fn frames(out: &[Output]) -> Vec<u32> {
        out.iter().filter_map(|o| if let Output::Frame(f) = o { Some(f.ts) } else { None }).collect()
    }

    /// A keyframe (SPS/PPS, IDR in two packets) then P-frames of one packet each.
    fn stream(first_seq: u16, n_p: u32) -> Vec<(u16, u32, bool, Bytes)> {
        let mut v = vec![(first_seq, 0, false, b(SPS_PPS)), (first_seq.wrapping_add(1), 0, false, b(&[0x7c, 0x85, 1])), (first_seq.wrapping_add(2), 0, true, b(&[0x7c, 0x45, 2]))];
        for i in 1..=n_p {
            v.push((first_seq.wrapping_add(2 + i as u16), i * 3000, true, b(P)));
        }
        v
    }

    #[test]
    fn in_order_frames_come_out_whole_in_order_across_the_sequence_wrap() {
        let t0 = Instant::now();
        let mut j = JitterBuffer::default();
        let mut got = Vec::new();
        for (seq, ts, m, p) in stream(65_533, 5) {
            j.push(t0, seq, ts, m, p);
            got.extend(drain(&mut j, t0));
        }
        assert_eq!(frames(&got), vec![0, 3000, 6000, 9000, 12000, 15000]);
        let Output::Frame(k) = &got[0] else { panic!() };
        assert!(k.keyframe && k.payloads.len() == 3 && !k.recovered);
        assert_eq!(j.held(), 0);
    }

    #[test]
    fn a_gap_is_waited_for_and_the_retransmission_fills_it() {
        let t0 = Instant::now();
        let mut j = JitterBuffer::default();
        j.set_rtt(Some(Duration::from_millis(20)));
        let s = stream(100, 6);
        for (seq, ts, m, p) in s.iter().cloned() {
            if seq != 104 {
                j.push(t0, seq, ts, m, p);
            }
        }
        // 103 (ts 3000) out; 104 lost; 105.. wait behind it, in decode order.
        let out = drain(&mut j, t0 + Duration::from_millis(50));
        assert_eq!(frames(&out), vec![0, 3000]);
        assert_eq!(j.poll(t0 + Duration::from_millis(60)), None, "still within the wait ({:?})", wait_for(j.rtt));
        // Reordered / duplicate: 104 comes back, then again.
        let (seq, ts, m, p) = s[4].clone();
        j.push(t0 + Duration::from_millis(70), seq, ts, m, p.clone());
        j.push(t0 + Duration::from_millis(71), seq, ts, m, p);
        let out = drain(&mut j, t0 + Duration::from_millis(71));
        assert_eq!(frames(&out), vec![6000, 9000, 12000, 15000, 18000]);
        assert!(matches!(&out[0], Output::Frame(f) if f.recovered));
        assert_eq!((j.stats.frames_lost, j.stats.packets_duplicate), (0, 1));
        // Old packets again: ignored.
        j.push(t0 + Duration::from_millis(72), 101, 0, false, b(IDR));
        assert_eq!(j.poll(t0 + Duration::from_millis(72)), None);
        assert_eq!(j.stats.packets_late, 1);
    }

    #[test]
    fn a_gap_across_an_outage_is_given_up_at_once() {
        let t0 = Instant::now();
        let mut j = JitterBuffer::default();
        j.set_rtt(Some(Duration::from_millis(10)));
        let s = stream(0, 8);
        for (seq, ts, m, p) in s.iter().take(5).cloned() {
            j.push(t0, seq, ts, m, p);
        }
        assert_eq!(frames(&drain(&mut j, t0)), vec![0, 3000, 6000]);
        // Two seconds of nothing, then a packet from after the outage: the
        // ones lost in it are past resending, so no deadline is waited out.
        let t1 = t0 + Duration::from_secs(2);
        let (seq, ts, m, p) = s[8].clone();
        j.push(t1, seq, ts, m, p);
        assert_eq!(drain(&mut j, t1), vec![Output::RequestKeyframe]);
        assert_eq!(j.stats.frames_lost, 1);
        // A gap after packets that keep coming is waited for as before.
        let mut j = JitterBuffer::default();
        for (seq, ts, m, p) in s.iter().take(5).cloned() {
            j.push(t0, seq, ts, m, p);
        }
        drain(&mut j, t0);
        let (seq, ts, m, p) = s[8].clone();
        j.push(t0 + Duration::from_millis(100), seq, ts, m, p);
        assert_eq!(drain(&mut j, t0 + Duration::from_millis(100)), vec![]);
        // Waiting for a keyframe when the outage starts: no request goes into
        // the silence, and the first packet after it asks at once.
        let mut j = JitterBuffer::default();
        for (seq, ts, m, p) in s.iter().take(3).cloned() {
            j.push(t0, seq, ts, m, p);
        }
        assert_eq!(frames(&drain(&mut j, t0)), vec![0]);
        j.frame_broken(t0);
        assert_eq!(drain(&mut j, t0), vec![Output::RequestKeyframe]);
        for ms in (10..5000).step_by(10) {
            assert_eq!(drain(&mut j, t0 + Duration::from_millis(ms)), vec![], "asked at {ms} ms, in the silence");
        }
        let t1 = t0 + Duration::from_secs(5);
        let (seq, ts, m, p) = s[8].clone();
        j.push(t1, seq, ts, m, p);
        assert_eq!(drain(&mut j, t1), vec![Output::RequestKeyframe]);
    }

    #[test]
    fn a_packet_that_never_comes_loses_the_frame_until_the_next_keyframe() {
        let t0 = Instant::now();
        let mut j = JitterBuffer::default();
        j.set_rtt(Some(Duration::from_millis(10)));
        for (seq, ts, m, p) in stream(0, 5) {
            if seq != 4 {
                j.push(t0, seq, ts, m, p);
            }
        }
        assert_eq!(frames(&drain(&mut j, t0)), vec![0, 3000]);
        let wait = wait_for(Some(Duration::from_millis(10)));
        assert!(wait >= Duration::from_millis(60) && wait <= Duration::from_millis(300), "{wait:?}");
        assert_eq!(drain(&mut j, t0 + wait - Duration::from_millis(1)), vec![]);
        // Deadline: lost, a keyframe is asked for, the P-frames after it never come out.
        assert_eq!(drain(&mut j, t0 + wait), vec![Output::RequestKeyframe]);
        assert_eq!(j.stats.frames_lost, 1);
        let t1 = t0 + wait + Duration::from_millis(5);
        j.push(t1, 8, 18_000, true, b(P));
        assert_eq!(drain(&mut j, t1), vec![]);
        // Asked again while none comes, not on every poll.
        assert_eq!(drain(&mut j, t1 + Duration::from_millis(100)), vec![]);
        assert_eq!(drain(&mut j, t0 + wait + KEYFRAME_RETRY), vec![Output::RequestKeyframe]);
        // The keyframe (SPS first), then what follows it; it comes late
        // (400 ms after the request), one packet missing.
        let t2 = t0 + wait + KEYFRAME_RETRY + Duration::from_millis(400);
        j.push(t2, 9, 21_000, false, b(SPS_PPS));
        j.push(t2, 11, 21_000, true, b(IDR));
        assert_eq!(drain(&mut j, t2), vec![], "not whole yet");
        // It is on its way: no new request while its resend may still come
        // (past the retry period since the last request) …
        assert_eq!(drain(&mut j, t2 + wait - Duration::from_millis(1)), vec![]);
        // … and once that is past, it is lost: asked again.
        let mut late = j.clone();
        assert_eq!(drain(&mut late, t2 + wait), vec![Output::RequestKeyframe]);
        j.push(t2, 12, 24_000, true, b(P));
        j.push(t2, 10, 21_000, false, b(IDR));
        let out = drain(&mut j, t2);
        assert_eq!(frames(&out), vec![21_000, 24_000]);
        assert!(matches!(&out[0], Output::Frame(f) if f.keyframe && f.payloads.len() == 3));
        // The late retransmission of the lost packet is too late now.
        j.push(t2, 4, 6000, true, b(P));
        assert_eq!(drain(&mut j, t2), vec![]);
        assert!(j.stats.frames_skipped >= 1 && j.stats.packets_late == 1, "{:?}", j.stats);
    }

    #[test]
    fn a_whole_keyframe_beyond_a_gap_ends_the_wait_at_once() {
        let t0 = Instant::now();
        let mut j = JitterBuffer::default();
        for (seq, ts, m, p) in stream(0, 2) {
            j.push(t0, seq, ts, m, p);
        }
        assert_eq!(frames(&drain(&mut j, t0)), vec![0, 3000, 6000]);
        // 5 and 6 lost; a new keyframe 7..9 whole.
        j.push(t0, 7, 15_000, false, b(SPS_PPS));
        j.push(t0, 8, 15_000, true, b(IDR));
        assert_eq!(frames(&drain(&mut j, t0)), vec![15_000]);
        assert_eq!(j.stats.frames_lost, 1);
    }

    #[test]
    fn nothing_comes_out_before_the_first_keyframe_and_a_broken_frame_waits_for_one() {
        let t0 = Instant::now();
        let mut j = JitterBuffer::default();
        j.push(t0, 50, 9000, true, b(P));
        j.push(t0, 51, 12_000, true, b(P));
        assert_eq!(drain(&mut j, t0), vec![]);
        j.push(t0, 52, 15_000, false, b(SPS_PPS));
        j.push(t0, 53, 15_000, true, b(IDR));
        j.push(t0, 54, 18_000, true, b(P));
        assert_eq!(frames(&drain(&mut j, t0)), vec![15_000, 18_000]);
        j.frame_broken(t0);
        assert_eq!(drain(&mut j, t0), vec![Output::RequestKeyframe]);
        j.push(t0, 55, 21_000, true, b(P));
        assert_eq!(drain(&mut j, t0), vec![]);
    }

    #[test]
    fn memory_is_bounded_and_a_jump_flushes() {
        let t0 = Instant::now();
        let mut j = JitterBuffer::default();
        // Never a keyframe, never a marker: the buffer does not grow without end.
        for i in 0..(MAX_PACKETS as u32 * 3) {
            j.push(t0, i as u16, i / 4, false, b(P));
            while j.poll(t0).is_some() {}
        }
        assert!(j.held() <= MAX_PACKETS, "{}", j.held());
        assert!(j.stats.flushes >= 1);
        let mut j = JitterBuffer::default();
        for (seq, ts, m, p) in stream(0, 2) {
            j.push(t0, seq, ts, m, p);
        }
        drain(&mut j, t0);
        for (seq, ts, m, p) in stream(30_000, 2) {
            j.push(t0, seq, ts, m, p);
        }
        assert_eq!(frames(&drain(&mut j, t0)), vec![0, 3000, 6000], "a new stream after a jump starts at its keyframe");
        assert_eq!(j.stats.flushes, 1);
    }

    /// Peer input never panics: random sequence numbers, timestamps,
    /// markers and payloads, polled at random times.
    #[test]
    fn random_packets_never_panic_and_stay_bounded() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let t0 = Instant::now();
        for round in 0..20 {
            let mut j = JitterBuffer::default();
            j.set_rtt((round % 2 == 0).then(|| Duration::from_millis(rnd() % 2000)));
            let (mut seq, mut ts) = (rnd() as u16, rnd() as u32);
            for i in 0..5_000u64 {
                let r = rnd();
                seq = match r % 7 {
                    0 => rnd() as u16,
                    1 => seq.wrapping_sub((r >> 8) as u16 % 50),
                    _ => seq.wrapping_add(1 + (r >> 8) as u16 % 3),
                };
                if r % 5 == 0 {
                    ts = if r % 3 == 0 { rnd() as u32 } else { ts.wrapping_add(3000) };
                }
                let len = (r >> 16) as usize % 12;
                let payload: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
                let now = t0 + Duration::from_millis(i * 5 + (r >> 40) % 40);
                j.push(now, seq, ts, (r >> 32) % 4 == 0, Bytes::from(payload));
                while let Some(o) = j.poll(now) {
                    if let Output::Frame(f) = o {
                        assert!(!f.payloads.is_empty());
                    }
                }
                assert!(j.held() <= MAX_PACKETS);
            }
        }
    }

    #[test]
    fn the_wait_follows_the_round_trip() {
        let ms = |x| Duration::from_millis(x);
        assert_eq!(wait_for(Some(ms(1))), ms(60) + NACK_INTERVAL * 9);
        assert_eq!(wait_for(Some(ms(100))), ms(180) + NACK_INTERVAL * 9);
        assert_eq!(wait_for(Some(ms(400))), ms(500));
        assert!(wait_for(None) > ms(60));
    }
}
