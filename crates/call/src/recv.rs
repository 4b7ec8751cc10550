//! The receive path: RTP from a remote track → jitter buffer → access
//! units → FFmpeg decoder → engine frames (and PCM for audio).
//!
//! ```text
//!  track task (tokio): poll RTP ─▶ [512, try_send] ─▶ decode thread: jitter buffer (10 ms tick) ─▶ depacketize ─▶ H.264 decoder ─▶ stamp latency, recorder tap
//!                      ◀── PLI when the buffer gives a frame up (rate-limited)
//! ```
//!
//! The jitter buffer ([`crate::jitter`]) releases a frame the moment its
//! last packet arrives, in decode order; a missing packet is waited for
//! (webrtc-rs's NACK generator asks for it again) up to a deadline that
//! follows the measured RTT. Only a packet that never comes loses its frame:
//! then nothing is decoded until the next whole keyframe, which a PLI asks
//! for (every P-frame references the one before, so decoding past the hole
//! would smear the picture until then).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};
use ffmpeg_next::{codec, decoder, frame, Packet};
use onair_media::convert::Fitter;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packetizer::Depacketizer;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::error::{CallError, Result};
use crate::jitter::{JitterBuffer, Output};
use crate::opus::OpusDecoder;
use crate::stamp;
use crate::tap::{Tap, TapItem};

/// How often the decode thread polls the jitter buffer when no packet comes (deadlines).
const TICK: Duration = Duration::from_millis(10);

/// Counters of the receive path.
#[derive(Default, Debug)]
pub struct RecvStats {
    pub video_packets_received: AtomicU64,
    /// Complete access units reassembled.
    pub video_frames_received: AtomicU64,
    pub video_frames_decoded: AtomicU64,
    /// Frames given up: a packet never came before its deadline, or they did not depacketize or decode.
    pub video_frames_broken: AtomicU64,
    pub keyframe_requests: AtomicU64,
    pub audio_packets_received: AtomicU64,
    pub audio_samples_decoded: AtomicU64,
    pub width: AtomicU32,
    pub height: AtomicU32,
    /// Glass-to-glass latency of stamped frames, in ms.
    pub latencies_ms: Mutex<Vec<f32>>,
    /// Set when the first decoded frame arrives.
    pub first_frame: AtomicBool,
    /// Mean Y, U, V (0-255, ×100) of the last decoded picture: what the
    /// other side shows right now (black when their camera is off).
    pub picture_yuv_x100: [AtomicU32; 3],
    /// Loudness of the last ~0.5 s of decoded audio, dBFS ×100 (f32 bits in
    /// an atomic; -100 dB when silent): whether the other side is muted.
    audio_level: AtomicU32,
    /// Pictures that came late (freezes), from decoded-frame arrival times.
    pub freezes: Mutex<FreezeMeter>,
    /// The connection's round trip (µs; 0 unknown), set by the session: how long the jitter buffer waits for a retransmission.
    rtt_us: AtomicU64,
    /// Frames released by the jitter buffer after waiting for a retransmission.
    pub video_frames_recovered: AtomicU64,
}

/// Counts freezes as Chromium does (WebRTC stats `freezeCount`,
/// `totalFreezesDuration`; libwebrtc's VideoQualityObserver): a gap between
/// rendered pictures of at least max(3× the average, the average + 150 ms),
/// the average over the last 30 gaps including this one, once 5 are known.
/// The whole gap counts as frozen time.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FreezeMeter {
    #[serde(skip)]
    last: Option<std::time::Instant>,
    #[serde(skip)]
    gaps_ms: std::collections::VecDeque<f64>,
    pub freezes: u64,
    /// Time spent frozen (the gaps that counted, whole), ms.
    pub freeze_ms: f64,
    pub longest_gap_ms: f64,
}

/// Chromium's window and thresholds (video_quality_observer2.cc).
const FREEZE_WINDOW: usize = 30;
const FREEZE_MIN_SAMPLES: usize = 5;
const FREEZE_MIN_INCREASE_MS: f64 = 150.0;

impl FreezeMeter {
    pub fn frame(&mut self, now: std::time::Instant) {
        if let Some(last) = self.last.replace(now) {
            let gap = now.saturating_duration_since(last).as_secs_f64() * 1000.0;
            if self.gaps_ms.len() == FREEZE_WINDOW {
                self.gaps_ms.pop_front();
            }
            self.gaps_ms.push_back(gap);
            if self.gaps_ms.len() >= FREEZE_MIN_SAMPLES {
                // Chromium rounds the average down to whole ms.
                let avg = (self.gaps_ms.iter().sum::<f64>() / self.gaps_ms.len() as f64).floor();
                if gap >= (3.0 * avg).max(avg + FREEZE_MIN_INCREASE_MS) {
                    self.freezes += 1;
                    self.freeze_ms += gap;
                    tracing::debug!("video: a freeze of {gap:.0} ms (gaps average {avg} ms)");
                }
            }
            self.longest_gap_ms = self.longest_gap_ms.max(gap);
        }
    }
}

impl RecvStats {
    /// The connection's round trip, when measured (the session sets it each second).
    pub fn set_rtt(&self, rtt: Option<Duration>) {
        let us = rtt.map_or(0, |r| r.as_micros().clamp(1, u128::from(u32::MAX)) as u64);
        self.rtt_us.store(us, Ordering::Relaxed);
    }

    pub fn rtt(&self) -> Option<Duration> {
        let us = self.rtt_us.load(Ordering::Relaxed);
        (us > 0).then(|| Duration::from_micros(us))
    }

    /// The mean colour (Y, U, V) of the last decoded picture, if any.
    pub fn picture_yuv(&self) -> Option<[f64; 3]> {
        if !self.first_frame.load(Ordering::Acquire) {
            return None;
        }
        Some(self.picture_yuv_x100.each_ref().map(|a| a.load(Ordering::Relaxed) as f64 / 100.0))
    }

    /// The recent audio level in dBFS, once audio has been decoded.
    pub fn audio_level_dbfs(&self) -> Option<f64> {
        (self.audio_samples_decoded.load(Ordering::Relaxed) > 0).then(|| f32::from_bits(self.audio_level.load(Ordering::Relaxed)) as f64)
    }
}

/// RMS level of interleaved PCM in dBFS (floor -100).
pub fn level_dbfs(pcm: &[f32]) -> f32 {
    if pcm.is_empty() {
        return -100.0;
    }
    let ms = pcm.iter().map(|s| s * s).sum::<f32>() / pcm.len() as f32;
    (10.0 * ms.max(1e-10).log10()).max(-100.0)
}

/// Mean of a plane, sampling every 4th pixel of every 4th row (cheap at 1080p).
fn plane_mean(data: &[u8], width: usize, height: usize, stride: usize) -> f64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for row in (0..height).step_by(4) {
        let Some(line) = data.get(row * stride..row * stride + width) else { break };
        for &v in line.iter().step_by(4) {
            sum += v as u64;
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum as f64 / n as f64
    }
}

impl RecvStats {
    /// (p50, p95) of the measured latencies.
    pub fn latency_percentiles(&self) -> Option<(f64, f64)> {
        let mut v = self.latencies_ms.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize] as f64;
        Some((at(0.5), at(0.95)))
    }
}

/// One frame's RTP payloads (in sequence order, from the jitter buffer)
/// as an Annex B access unit; None when they do not depacketize.
pub fn depacketize(payloads: &[Bytes]) -> Option<Bytes> {
    let mut depack = H264Packet::default();
    let mut buf = BytesMut::new();
    for p in payloads.iter().filter(|p| !p.is_empty()) {
        if !stap_a_lengths_fit(p) {
            return None;
        }
        buf.extend_from_slice(&depack.depacketize(p).ok()?);
    }
    (!buf.is_empty()).then(|| buf.freeze())
}

/// Whether a STAP-A payload (NAL type 24) is a whole number of 2-byte
/// length + NAL unit pairs (anything else passes). rtc-rtp 0.21's
/// depacketizer indexes past the packet when one byte trails the last unit
/// (found by our fuzz target), so a peer could panic the receive thread.
fn stap_a_lengths_fit(payload: &[u8]) -> bool {
    if payload.first().is_none_or(|b| b & 0x1f != 24) {
        return true;
    }
    let mut at = 1usize;
    while at < payload.len() {
        let Some(len) = payload.get(at..at + 2) else { return false };
        at += 2 + (usize::from(len[0]) << 8 | usize::from(len[1]));
    }
    at == payload.len()
}

/// The sender's clock for a tap that keeps sides in sync (a cloud
/// recorder): its sender reports, and the stream's SSRC once known.
#[derive(Clone)]
pub struct SenderClock {
    pub feedback: Arc<crate::feedback::Feedback>,
    ssrc: Arc<AtomicU32>,
    known: Arc<AtomicBool>,
    /// The stream's RTP timestamps unwrapped: (last seen, ticks since the first).
    rtp: Arc<Mutex<Option<(u32, i64)>>>,
}

/// Capture times at or past this many seconds are on the sender's NTP wall
/// clock (from 1968 on); below it, on the stream's own RTP clock.
pub const NTP_CAPTURE: f64 = 2_147_483_648.0;

impl SenderClock {
    pub fn new(feedback: Arc<crate::feedback::Feedback>) -> SenderClock {
        SenderClock { feedback, ssrc: Arc::default(), known: Arc::default(), rtp: Arc::default() }
    }

    fn set_ssrc(&self, ssrc: u32) {
        self.ssrc.store(ssrc, Ordering::Relaxed);
        self.known.store(true, Ordering::Release);
    }

    /// When `rtp` was captured, as a tap item's pts (see [`TapItem`]): on
    /// the sender's NTP wall clock once a sender report came, shared by
    /// its audio and video; before that, 1 s plus the stream's own RTP
    /// clock since its first packet, so sound stays continuous.
    fn pts(&self, rtp: u32, clock_rate: u32) -> Duration {
        let ticks = {
            let mut st = self.rtp.lock().unwrap_or_else(|p| p.into_inner());
            let ticks = match *st {
                None => 0,
                Some((last, t)) => t + rtp.wrapping_sub(last) as i32 as i64,
            };
            *st = Some((rtp, ticks));
            ticks
        };
        let ntp = self.known.load(Ordering::Acquire).then(|| self.feedback.capture_time(self.ssrc.load(Ordering::Relaxed), rtp, clock_rate)).flatten();
        let secs = match ntp {
            Some(t) if t.is_finite() && t >= NTP_CAPTURE => t,
            _ => 1.0 + ticks as f64 / clock_rate.max(1) as f64,
        };
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO)
    }
}

/// Receives a remote video track until it ends; with `clock`, the tapped
/// pictures carry their sender's capture time in their pts (see [`TapItem`]).
pub fn spawn_video(track: Arc<dyn TrackRemote>, stats: Arc<RecvStats>, tap: Tap, clock: Option<SenderClock>) -> Result<()> {
    let (tx, rx) = bounded::<(u16, u32, bool, Bytes)>(512);
    let need_key = Arc::new(AtomicBool::new(false));
    // The decode thread wakes the task below to send its PLI at once: after
    // an outage it must reach the sender before the NACK generator's next
    // tick names the outage's packets (see `resend.rs`), not with the next packet.
    let wake = Arc::new(tokio::sync::Notify::new());
    let (nk, wk) = (need_key.clone(), wake.clone());
    let st = stats.clone();
    let clk = clock.clone();
    std::thread::Builder::new()
        .name("call-decode".into())
        .spawn(move || decode_video(rx, st, tap, (nk, wk), clk))
        .map_err(|e| CallError::Io { what: "starting the video decoder thread".into(), source: e })?;
    tokio::spawn(async move {
        let mut last_pli = Instant::now() - Duration::from_secs(10);
        let ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
        if let Some(c) = &clock {
            c.set_ssrc(ssrc);
        }
        let mut last_packet: Option<Instant> = None;
        loop {
            // Both cancel-safe (an mpsc receive behind a lock; a Notify).
            let ev = tokio::select! {
                ev = track.poll() => match ev {
                    Some(ev) => Some(ev),
                    None => break,
                },
                _ = wake.notified() => None,
            };
            if let Some(TrackRemoteEvent::OnRtpPacket(p)) = ev {
                stats.video_packets_received.fetch_add(1, Ordering::Relaxed);
                let h = &p.header;
                if let Some(gap) = last_packet.map(|t| t.elapsed()).filter(|g| *g >= crate::resend::MAX_AGE) {
                    tracing::debug!("video: packets again after {} ms without (seq {})", gap.as_millis(), h.sequence_number);
                }
                last_packet = Some(Instant::now());
                // Full: the decoder is behind; the jitter buffer sees the hole and gives its frame up.
                let _ = tx.try_send((h.sequence_number, h.timestamp, h.marker, p.payload.clone()));
            }
            // At most one PLI per 200 ms (the jitter buffer asks every 300 ms at most).
            if need_key.load(Ordering::Acquire) && last_pli.elapsed() >= Duration::from_millis(200) {
                need_key.store(false, Ordering::Release);
                last_pli = Instant::now();
                stats.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("video: PLI sent");
                let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: ssrc };
                let _ = track.write_rtcp(vec![Box::new(pli)]).await;
            }
        }
    });
    Ok(())
}

struct H264Decoder {
    dec: decoder::Video,
    frame: frame::Video,
    fitter: Option<(u32, u32, Fitter)>,
}

// SAFETY: owned by the decode thread only.
unsafe impl Send for H264Decoder {}

impl H264Decoder {
    fn open() -> Result<Self> {
        onair_media::init();
        let codec = decoder::find(codec::Id::H264)
            .ok_or_else(|| CallError::Media(onair_media::MediaError::Invalid("this FFmpeg has no H.264 decoder".into())))?;
        let mut ctx = codec::context::Context::new_with_codec(codec);
        // One thread, no frame reordering delay: decode each frame as it lands.
        ctx.set_flags(codec::Flags::LOW_DELAY);
        let dec = ctx.decoder().video().map_err(|e| CallError::Media(onair_media::MediaError::Invalid(format!("opening the H.264 decoder: {e}"))))?;
        Ok(H264Decoder { dec, frame: frame::Video::empty(), fitter: None })
    }
}

fn decode_video(rx: Receiver<(u16, u32, bool, Bytes)>, stats: Arc<RecvStats>, tap: Tap, (need_key, wake): (Arc<AtomicBool>, Arc<tokio::sync::Notify>), clock: Option<SenderClock>) {
    let mut dec = match H264Decoder::open() {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("{e}");
            return;
        }
    };
    let mut jb = JitterBuffer::default();
    // Since when a keyframe is waited for (for the debug log of a recovery).
    let mut wanted: Option<Instant> = None;
    loop {
        match rx.recv_timeout(TICK) {
            Ok((seq, ts, marker, payload)) => jb.push(Instant::now(), seq, ts, marker, payload),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        jb.set_rtt(stats.rtt());
        let now = Instant::now();
        while let Some(out) = jb.poll(now) {
            let f = match out {
                Output::RequestKeyframe => {
                    tracing::debug!(held = jb.held(), lost = jb.stats.frames_lost, "video: keyframe wanted");
                    wanted.get_or_insert(now);
                    need_key.store(true, Ordering::Release);
                    wake.notify_one();
                    continue;
                }
                Output::Frame(f) => f,
            };
            let Some(au) = depacketize(&f.payloads) else {
                jb.frame_broken(now);
                continue;
            };
            stats.video_frames_received.fetch_add(1, Ordering::Relaxed);
            if f.keyframe {
                let since = wanted.take().map(|t| now.saturating_duration_since(t).as_millis());
                tracing::debug!(packets = f.payloads.len(), bytes = au.len(), recovered = f.recovered, "video: keyframe released, {since:?} ms after it was wanted");
            }
            if f.recovered {
                stats.video_frames_recovered.fetch_add(1, Ordering::Relaxed);
            }
            let pkt = Packet::copy(&au);
            if dec.dec.send_packet(&pkt).is_err() {
                jb.frame_broken(now);
                continue;
            }
            // Low delay, no B-frames: what comes out is this frame.
            let pts = clock.as_ref().map(|c| c.pts(f.ts, 90_000)).unwrap_or_default();
            while dec.dec.receive_frame(&mut dec.frame).is_ok() {
                on_decoded(&mut dec, &stats, &tap, pts);
            }
        }
        stats.video_frames_broken.store(jb.stats.frames_lost, Ordering::Relaxed);
    }
    tracing::debug!("video jitter buffer: {:?}", jb.stats);
}

fn on_decoded(dec: &mut H264Decoder, stats: &RecvStats, tap: &Tap, pts: Duration) {
    let f = &dec.frame;
    let (w, h) = (f.width(), f.height());
    stats.video_frames_decoded.fetch_add(1, Ordering::Relaxed);
    stats.freezes.lock().unwrap_or_else(|p| p.into_inner()).frame(std::time::Instant::now());
    stats.width.store(w, Ordering::Relaxed);
    stats.height.store(h, Ordering::Relaxed);
    if f.format() == ffmpeg_next::format::Pixel::YUV420P || f.format() == ffmpeg_next::format::Pixel::YUVJ420P {
        let (w, h) = (w as usize, h as usize);
        let dims = [(w, h), (w.div_ceil(2), h.div_ceil(2)), (w.div_ceil(2), h.div_ceil(2))];
        for (i, (pw, ph)) in dims.into_iter().enumerate() {
            let m = plane_mean(f.data(i), pw, ph, f.stride(i));
            stats.picture_yuv_x100[i].store((m * 100.0).round() as u32, Ordering::Relaxed);
        }
    }
    stats.first_frame.store(true, Ordering::Release);
    if let Some((_, ms)) = stamp::latency(f.data(0), w as usize, f.stride(0)) {
        stats.latencies_ms.lock().unwrap_or_else(|p| p.into_inner()).push(ms as f32);
    }
    if tap.wants_video() {
        if dec.fitter.as_ref().is_none_or(|(fw, fh, _)| (*fw, *fh) != (w, h)) {
            dec.fitter = Some((w, h, Fitter::new(w & !1, h & !1)));
        }
        if let Some((_, _, fitter)) = dec.fitter.as_mut() {
            if let Ok(mut vf) = fitter.fit(f) {
                vf.pts = pts;
                tap.send(TapItem::RemoteVideo(vf));
            }
        }
    }
}

/// Receives a remote Opus track until it ends, playing it on the speaker
/// when `play` (a missing speaker is a notice, not a failure: the call and
/// its recording go on).
/// What the speaker plays also goes to `reference`, the echo canceller's far end.
/// With `clock`, the tapped sound carries its sender's capture time in its pts.
pub fn spawn_audio(
    track: Arc<dyn TrackRemote>,
    stats: Arc<RecvStats>,
    tap: Tap,
    play: bool,
    notices: Arc<Mutex<Vec<String>>>,
    reference: Option<onair_media::audio_processing::EchoReference>,
    clock: Option<SenderClock>,
) -> Result<()> {
    let (tx, rx) = bounded::<(u32, Bytes)>(256);
    let st = stats.clone();
    let clk = clock.clone();
    std::thread::Builder::new()
        .name("call-audio-decode".into())
        .spawn(move || {
            let mut dec = match OpusDecoder::open() {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!("{e}");
                    return;
                }
            };
            let speaker = if play {
                match onair_media::speaker::Speaker::open_with_reference(None, reference) {
                    Ok(s) => {
                        tracing::info!("playing the other side on {}", s.name());
                        Some(s)
                    }
                    Err(e) => {
                        tracing::warn!("{e}");
                        notices.lock().unwrap_or_else(|p| p.into_inner()).push(e.to_string());
                        None
                    }
                }
            } else {
                None
            };
            let mut pcm = Vec::new();
            // Per-packet levels of the last 25 packets (0.5 s of 20 ms packets).
            let mut recent = std::collections::VecDeque::with_capacity(25);
            for (ts, p) in rx {
                pcm.clear();
                if dec.decode(&p, &mut pcm).is_ok() {
                    if recent.len() == 25 {
                        recent.pop_front();
                    }
                    recent.push_back(level_dbfs(&pcm));
                    let loudest = recent.iter().copied().fold(-100.0f32, f32::max);
                    st.audio_level.store(loudest.to_bits(), Ordering::Relaxed);
                    st.audio_samples_decoded.fetch_add((pcm.len() / 2) as u64, Ordering::Relaxed);
                    if let Some(sp) = &speaker {
                        sp.push(&pcm);
                    }
                    if tap.active() {
                        let pts = clk.as_ref().map(|c| c.pts(ts, 48_000)).unwrap_or_default();
                        tap.send(TapItem::RemoteAudio(crate::opus::chunk(pcm.clone(), pts)));
                    }
                }
            }
        })
        .map_err(|e| CallError::Io { what: "starting the audio decoder thread".into(), source: e })?;
    tokio::spawn(async move {
        if let Some(c) = &clock {
            c.set_ssrc(track.ssrcs().await.first().copied().unwrap_or(0));
        }
        while let Some(ev) = track.poll().await {
            if let TrackRemoteEvent::OnRtpPacket(p) = ev {
                stats.audio_packets_received.fetch_add(1, Ordering::Relaxed);
                if !p.payload.is_empty() {
                    let _ = tx.try_send((p.header.timestamp, p.payload.clone()));
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(nal: &[u8]) -> Bytes {
        Bytes::copy_from_slice(nal)
    }

    #[test]
    fn depacketizes_a_frame_and_refuses_bad_payloads() {
        // SPS-like NAL and a slice NAL.
        let au = depacketize(&[single(&[0x67, 1, 2, 3]), single(&[0x65, 9, 9, 9])]).unwrap();
        assert_eq!(au, Bytes::from_static(&[0, 0, 0, 1, 0x67, 1, 2, 3, 0, 0, 0, 1, 0x65, 9, 9, 9]));
        // FU-A start + end: one NAL.
        let au = depacketize(&[single(&[0x7c, 0x85, 1, 1]), single(&[0x7c, 0x45, 2, 2])]).unwrap();
        assert_eq!(au, Bytes::from_static(&[0, 0, 0, 1, 0x65, 1, 1, 2, 2]));
        // A STAP-A with one byte after its last unit (rtc-rtp 0.21 indexed
        // past it: found by the fuzz target) and one whose length overruns.
        let sps_pps = [0x78, 0, 2, 0x67, 1, 0, 1, 0x68];
        assert!(depacketize(&[single(&sps_pps)]).is_some());
        assert_eq!(depacketize(&[single(&[0x78, 0, 2, 0x67, 1, 0])]), None);
        assert_eq!(depacketize(&[single(&[0x78, 0, 9, 0x67, 1])]), None);
        assert_eq!(depacketize(&[]), None);
        // Garbage never panics.
        for b in [&[0u8][..], &[0x7c][..], &[0x78, 0, 200][..], &[0x1f, 1, 2][..]] {
            let _ = depacketize(&[single(b)]);
        }
    }

    #[test]
    fn freezes_are_counted_as_chromium_counts_them() {
        let t0 = Instant::now();
        let mut m = FreezeMeter::default();
        let mut t = 0u64;
        let mut at = |m: &mut FreezeMeter, gap: u64| {
            t += gap;
            m.frame(t0 + Duration::from_millis(t));
        };
        at(&mut m, 0);
        // 30 fps, then a 150 ms gap: over 3× the average but under average + 150 ms.
        (0..40).for_each(|_| at(&mut m, 33));
        at(&mut m, 150);
        assert_eq!(m.freezes, 0);
        (0..40).for_each(|_| at(&mut m, 33));
        // A 400 ms gap is a freeze, all of it frozen time.
        at(&mut m, 400);
        assert_eq!((m.freezes, m.freeze_ms, m.longest_gap_ms), (1, 400.0, 400.0));
        // At 5 fps (200 ms apart) a 500 ms gap is not (3× 210 = 630 ms).
        let mut m = FreezeMeter::default();
        (0..40).for_each(|_| at(&mut m, 200));
        at(&mut m, 500);
        assert_eq!(m.freezes, 0);
    }
}
