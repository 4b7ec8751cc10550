//! Recording a call locally: both pictures side by side (ours left, theirs
//! right) with both voices mixed, through the same recorder as
//! `onair live --record` (fragmented MP4 while recording, bookmarks in the
//! library, finalised with chapters at stop).
//!
//! ```text
//!  send path ─┐ (tap)                       every 1/fps: compose latest local | latest remote ─▶ H.264 ─┐
//!  recv path ─┴▶ [256] ─▶ record thread ─▶  every 20 ms: mix local + remote PCM (100 ms behind) ─▶ AAC ─┴▶ [1024] ─▶ Recorder ─▶ NAME.mp4.part ─▶ finalize ─▶ NAME.mp4
//! ```
//!
//! The thread paces itself on its own clock, so a side whose video or audio
//! stalls (camera off, network loss) repeats its last picture or adds
//! silence instead of stalling the recording.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};
use onair_media::convert::{to_ffmpeg, Fitter};
use onair_media::encode::{AudioEncoder, EncodedPacket, EncodingConfig, Preset, VideoEncoder};
use onair_media::frame::{AudioFrame, VideoFrame, CHANNELS, SAMPLE_RATE};
use onair_media::library::{Bookmark, Library};
use onair_media::output::finalize::finalize_with_key;
use onair_media::output::mux::StreamSet;
use onair_media::output::recorder::{part_path_for, OnTrackStart, Recorder};
use onair_vault::FileKey;
use onair_media::pipeline::RecordingResult;
use onair_media::stats::Stats;

use crate::error::{CallError, Result};
use crate::tap::{Tap, TapItem};

/// How to record.
#[derive(Clone, Debug)]
pub struct RecordConfig {
    pub path: PathBuf,
    /// Size of each side's picture (the file is twice as wide).
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub video_kbps: u32,
    /// Voices only: no picture track (a cloud recording's `audio` tier).
    pub audio_only: bool,
    /// libx264's speed preset (None: the encoder's default, veryfast).
    pub x264_preset: Option<String>,
    /// Place each side's sound at its arrival time, as pictures are
    /// (within ±15 ms: silence added after a gap, the oldest sound cut
    /// after a burst), instead of one after the other; a cloud
    /// recorder's A/V sync.
    pub align_audio: bool,
}

/// A running call recording.
pub struct CallRecorder {
    tap: Tap,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    recorder: Option<Recorder>,
    library: Arc<Library>,
    id: i64,
    path: PathBuf,
    started: Instant,
    /// The recording's own key when the library encrypts at rest.
    key: Option<FileKey>,
}

impl CallRecorder {
    /// Starts recording what flows through `tap`.
    pub fn start(cfg: RecordConfig, library: Arc<Library>, tap: Tap) -> Result<CallRecorder> {
        onair_media::init();
        let (w, h) = (cfg.width & !1, cfg.height & !1);
        let mut enc_cfg = EncodingConfig {
            preset: Preset { name: "call-recording", width: 2 * w, height: h, fps: cfg.fps, video_kbps: cfg.video_kbps, audio_kbps: 128 },
            encoder: "x264".into(),
            keyint_secs: 1.0,
            ..EncodingConfig::default()
        };
        if let Some(p) = &cfg.x264_preset {
            enc_cfg.x264_preset = p.clone();
        }
        let venc = if cfg.audio_only { None } else { Some(VideoEncoder::open(&enc_cfg, Arc::new(AtomicBool::new(false)))?) };
        let aenc = AudioEncoder::open(128)?;
        let streams = StreamSet { video: venc.as_ref().map(|v| v.stream_info()), audio: Some(aenc.stream_info()) };
        let part = part_path_for(&cfg.path);
        // Encrypted at rest when the library's setting says so, as every local recording.
        let (id, key) = library.begin_recording(&cfg.path, &part)?;
        let lib = library.clone();
        let on_start: OnTrackStart = Box::new(move |kind, us| {
            if let Err(e) = lib.set_track_start(id, kind == onair_media::encode::StreamKind::Video, us) {
                tracing::warn!("saving a track start: {e}");
            }
        });
        let (pkt_tx, pkt_rx) = bounded::<Arc<EncodedPacket>>(1024);
        let recorder = match Recorder::start_with_key(&cfg.path, streams, pkt_rx, Arc::new(Stats::default()), Arc::new(AtomicBool::new(false)), on_start, key.clone()) {
            Ok(r) => r,
            Err(e) => {
                let _ = library.delete(id);
                return Err(e.into());
            }
        };
        let (tx, rx) = bounded::<TapItem>(256);
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let thread = std::thread::Builder::new()
            .name("call-record".into())
            .spawn(move || {
                let mut m = Mixer::new(w, h, cfg.fps, venc, aenc, pkt_tx);
                m.align = cfg.align_audio;
                m.run(rx, &st);
            })
            .map_err(|e| CallError::Io { what: "starting the call recorder".into(), source: e })?;
        tap.set(Some(tx));
        Ok(CallRecorder { tap, stop, thread: Some(thread), recorder: Some(recorder), library, id, path: cfg.path, started: Instant::now(), key })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A bookmark at the current recording time, saved at once.
    pub fn bookmark(&self, label: Option<&str>) -> Result<Bookmark> {
        Ok(self.library.add_bookmark(self.id, self.started.elapsed().as_millis() as i64, label)?)
    }

    /// Stops and finalises the MP4 (bookmarks as chapters).
    pub fn stop(mut self) -> Result<RecordingResult> {
        self.tap.set(None);
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let rec = self.recorder.take().expect("the recorder exists until stop");
        let part = rec.part_path.clone();
        let end = rec.handle.join().unwrap_or_default();
        let bookmarks = self.library.bookmarks(self.id)?;
        let f = finalize_with_key(&part, &self.path, &bookmarks, end.starts, self.key.as_ref())?;
        let ms = f.duration.as_millis() as i64;
        self.library.finish(self.id, "done", Some(ms), Some(f.size), end.error.as_deref())?;
        Ok(RecordingResult { id: self.id, path: self.path.clone(), duration_ms: ms, size_bytes: f.size, bookmarks })
    }
}

impl Drop for CallRecorder {
    fn drop(&mut self) {
        self.tap.set(None);
        self.stop.store(true, Ordering::Release);
    }
}

/// Composes pictures and mixes audio on the recording's own clock.
struct Mixer {
    w: u32,
    h: u32,
    fps: u32,
    venc: Option<VideoEncoder>,
    aenc: AudioEncoder,
    out: crossbeam_channel::Sender<Arc<EncodedPacket>>,
    local: Option<VideoFrame>,
    remote: Option<VideoFrame>,
    remote_fitter: Fitter,
    /// The local side's scaler, kept while the size stays (a recorder's
    /// left side comes from a decoder, at any size).
    local_fitter: Option<((u32, u32), Fitter)>,
    local_pcm: Vec<f32>,
    remote_pcm: Vec<f32>,
    /// `align_audio`: sound is placed at its arrival time, or where its
    /// sender's clock puts it when the item carries it.
    align: bool,
    /// `align`: each side's pictures waiting for their tick, by when they show.
    pending: [std::collections::VecDeque<(Duration, VideoFrame)>; 2],
    /// `align`: each side's sender clock against ours.
    clocks: [SideClock; 2],
    /// `align`, before a side's sender reports: each stream's own RTP
    /// clock against ours ([side][video, audio]).
    own: [[SideClock; 2]; 2],
    /// The composite, reused from tick to tick.
    canvas: Option<VideoFrame>,
    frames_out: u64,
    samples_out: u64,
}

/// A cloud recorder composes this far behind real time, so a side's
/// pictures and sound that the network or the decoder held back still
/// land where their sender's clock puts them.
const ALIGN_DELAY: Duration = Duration::from_millis(250);

/// One side's sender clock against the recorder's (seconds): the least
/// transit seen over the last 10–20 s, so an item shows at its capture
/// time plus that least delay. Audio and video of one sender share it,
/// which keeps them as in sync as the sender captured them; the window
/// lets it follow a sender clock that runs a little fast or slow.
#[derive(Clone, Copy)]
struct SideClock {
    cur: f64,
    prev: f64,
    since: Duration,
}

impl Default for SideClock {
    fn default() -> Self {
        SideClock { cur: f64::INFINITY, prev: f64::INFINITY, since: Duration::ZERO }
    }
}

impl SideClock {
    const WINDOW: Duration = Duration::from_secs(10);

    /// When an item captured at `capture` (sender seconds) that arrived at
    /// `arrival` (ours) shows: never after its arrival.
    fn playout(&mut self, capture: f64, arrival: Duration) -> Duration {
        if arrival.saturating_sub(self.since) >= Self::WINDOW {
            self.prev = self.cur;
            self.cur = f64::INFINITY;
            self.since = arrival;
        }
        self.cur = self.cur.min(arrival.as_secs_f64() - capture);
        let t = capture + self.cur.min(self.prev);
        if t.is_finite() && t >= 0.0 {
            Duration::from_secs_f64(t).min(arrival)
        } else {
            arrival
        }
    }
}

/// Audio is mixed this far behind real time, so both sides' packets have arrived.
const AUDIO_DELAY: Duration = Duration::from_millis(100);
/// At most this much of one side's audio waits (a side that runs fast is trimmed).
const MAX_PCM: usize = SAMPLE_RATE as usize / 2 * CHANNELS;

impl Mixer {
    fn new(w: u32, h: u32, fps: u32, venc: Option<VideoEncoder>, aenc: AudioEncoder, out: crossbeam_channel::Sender<Arc<EncodedPacket>>) -> Self {
        Mixer {
            w,
            h,
            fps,
            venc,
            aenc,
            out,
            local: None,
            remote: None,
            remote_fitter: Fitter::new(w, h),
            local_fitter: None,
            local_pcm: Vec::new(),
            remote_pcm: Vec::new(),
            align: false,
            pending: Default::default(),
            clocks: Default::default(),
            own: Default::default(),
            canvas: None,
            frames_out: 0,
            samples_out: 0,
        }
    }

    fn fit(&mut self, f: VideoFrame, remote: bool) -> Option<VideoFrame> {
        if f.width == self.w && f.height == self.h {
            return Some(f);
        }
        if !remote {
            let size = (f.width, f.height);
            if self.local_fitter.as_ref().is_none_or(|(s, _)| *s != size) {
                self.local_fitter = Some((size, Fitter::new(self.w, self.h)));
            }
            return self.local_fitter.as_mut().and_then(|(_, ft)| ft.fit(&to_ffmpeg(&f)).ok());
        }
        let mut fitter = std::mem::replace(&mut self.remote_fitter, Fitter::new(1, 1));
        let r = fitter.fit(&to_ffmpeg(&f)).ok();
        self.remote_fitter = fitter;
        r
    }

    fn run(&mut self, rx: Receiver<TapItem>, stop: &AtomicBool) {
        let start = Instant::now();
        let period = Duration::from_nanos(1_000_000_000 / self.fps.max(1) as u64);
        while !stop.load(Ordering::Acquire) {
            match rx.recv_timeout(Duration::from_millis(5)) {
                Ok(TapItem::LocalVideo(f)) => self.video_in(0, f, start.elapsed()),
                Ok(TapItem::RemoteVideo(f)) => self.video_in(1, f, start.elapsed()),
                Ok(TapItem::LocalAudio(a)) => self.audio_in(0, a, start.elapsed()),
                Ok(TapItem::RemoteAudio(a)) => self.audio_in(1, a, start.elapsed()),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = start.elapsed();
            let (vnow, anow) = if self.align { (now.saturating_sub(ALIGN_DELAY), now.saturating_sub(ALIGN_DELAY)) } else { (now, now.saturating_sub(AUDIO_DELAY)) };
            while self.venc.is_some() && period * self.frames_out as u32 <= vnow {
                let t = period * self.frames_out as u32;
                self.show_due(t);
                self.video_frame(t);
            }
            let due = anow.as_secs_f64() * SAMPLE_RATE as f64;
            while (self.samples_out as f64) + 960.0 <= due {
                self.audio_chunk(960);
            }
        }
        let mut out = |p: EncodedPacket| {
            let _ = self.out.send(Arc::new(p));
        };
        if let Some(v) = self.venc.as_mut() {
            v.finish(&mut out);
        }
        self.aenc.finish(&mut out);
    }

    fn video_frame(&mut self, pts: Duration) {
        let (w, h) = (self.w as usize, self.h as usize);
        // One canvas for the whole recording (a fresh 2-side frame each
        // tick cost an allocation, page faults and a fill every time): each
        // side is overwritten by its picture, or painted black without one.
        let mut canvas = self.canvas.take().unwrap_or_else(|| VideoFrame::black(self.w * 2, self.h));
        let cw = 2 * w;
        {
            let (cy, cu, cv) = canvas.planes_mut();
            for (side, f) in [(0usize, &self.local), (1usize, &self.remote)] {
                let Some(f) = f else {
                    for r in 0..h {
                        cy[r * cw + side * w..r * cw + side * w + w].fill(16);
                    }
                    let hw = w / 2;
                    for r in 0..h / 2 {
                        let d = r * (cw / 2) + side * hw;
                        cu[d..d + hw].fill(128);
                        cv[d..d + hw].fill(128);
                    }
                    continue;
                };
                let (y, u, v) = f.planes();
                for r in 0..h {
                    cy[r * cw + side * w..r * cw + side * w + w].copy_from_slice(&y[r * w..r * w + w]);
                }
                let (hw, hh) = (w / 2, h / 2);
                for r in 0..hh {
                    let d = r * (cw / 2) + side * hw;
                    cu[d..d + hw].copy_from_slice(&u[r * hw..r * hw + hw]);
                    cv[d..d + hw].copy_from_slice(&v[r * hw..r * hw + hw]);
                }
            }
        }
        canvas.pts = pts;
        self.frames_out += 1;
        let out = &self.out;
        if let Some(v) = self.venc.as_mut() {
            let _ = v.encode(&canvas, &mut |p| {
                let _ = out.send(Arc::new(p));
            });
        }
        self.canvas = Some(canvas);
    }

    fn video_in(&mut self, side: usize, f: VideoFrame, arrival: Duration) {
        let capture = f.pts;
        let Some(f) = self.fit(f, side == 1) else { return };
        if !self.align {
            *(if side == 0 { &mut self.local } else { &mut self.remote }) = Some(f);
            return;
        }
        let at = self.playout(side, 0, capture, arrival);
        tracing::trace!(side, capture = capture.as_secs_f64(), arrival = arrival.as_secs_f64(), at = at.as_secs_f64(), "picture");
        let q = &mut self.pending[side];
        // About a second of pictures at most: they show within ALIGN_DELAY.
        if q.len() >= 64 {
            q.pop_front();
        }
        q.push_back((at, f));
    }

    /// `align`: when an item of `side` (`kind` 0 video, 1 audio) captured
    /// at `capture` (see [`TapItem`]) that arrived at `arrival` shows.
    fn playout(&mut self, side: usize, kind: usize, capture: Duration, arrival: Duration) -> Duration {
        let c = capture.as_secs_f64();
        if capture.is_zero() {
            arrival
        } else if c >= crate::recv::NTP_CAPTURE {
            self.clocks[side].playout(c, arrival)
        } else {
            self.own[side][kind].playout(c, arrival)
        }
    }

    /// `align`: each side shows its latest picture due by `t`.
    fn show_due(&mut self, t: Duration) {
        for side in 0..2 {
            while self.pending[side].front().is_some_and(|(at, _)| *at <= t) {
                let f = self.pending[side].pop_front().map(|(_, f)| f);
                *(if side == 0 { &mut self.local } else { &mut self.remote }) = f;
            }
        }
    }

    fn audio_in(&mut self, side: usize, a: AudioFrame, arrival: Duration) {
        if self.align && !a.pts.is_zero() {
            let at = self.playout(side, 1, a.pts, arrival);
            let pos = (at.as_secs_f64() * SAMPLE_RATE as f64).round() as i64;
            tracing::trace!(side, capture = a.pts.as_secs_f64(), arrival = arrival.as_secs_f64(), at = at.as_secs_f64(), out = self.samples_out, "sound");
            self.write_at(side, pos, &a.samples);
            return;
        }
        self.place(side, arrival, a.samples.len() / CHANNELS);
        push_pcm(if side == 0 { &mut self.local_pcm } else { &mut self.remote_pcm }, a);
    }

    /// `align`: a side's sound placed at frame `pos` of the recording (its
    /// sender's clock): what is already mixed out is dropped, a gap before
    /// it is silence, a second copy overwrites the first.
    fn write_at(&mut self, side: usize, pos: i64, samples: &[f32]) {
        let buf = if side == 0 { &mut self.local_pcm } else { &mut self.remote_pcm };
        let mut at = (pos - self.samples_out as i64) * CHANNELS as i64;
        let mut samples = samples;
        if at < 0 {
            let late = ((-at) as usize).min(samples.len());
            samples = &samples[late..];
            at = 0;
        }
        let at = at as usize;
        if samples.is_empty() || at + samples.len() > MAX_PCM {
            return;
        }
        if buf.len() < at {
            buf.resize(at, 0.0);
        }
        let overlap = (buf.len() - at).min(samples.len());
        buf[at..at + overlap].copy_from_slice(&samples[..overlap]);
        buf.extend_from_slice(&samples[overlap..]);
    }

    /// `align_audio`: before a side's packet of `n` frames that arrived
    /// at `arrival`, moves where it lands so that it ends at its arrival
    /// time (as a picture shows from its arrival), give or take 15 ms.
    fn place(&mut self, side: usize, arrival: Duration, n: usize) {
        if !self.align {
            return;
        }
        let buf = if side == 0 { &mut self.local_pcm } else { &mut self.remote_pcm };
        let landing = self.samples_out as i64 + (buf.len() / CHANNELS) as i64;
        // The packet starts where it arrived: its sound ends n frames
        // later, about the decode time a picture takes more than sound.
        let _ = n;
        let ideal = (arrival.as_secs_f64() * SAMPLE_RATE as f64) as i64;
        let tol = SAMPLE_RATE as i64 * 15 / 1000;
        if landing < ideal - tol {
            buf.extend(std::iter::repeat_n(0.0, (ideal - landing) as usize * CHANNELS));
        } else if landing > ideal + tol {
            let cut = ((landing - ideal) as usize * CHANNELS).min(buf.len());
            buf.drain(..cut);
        }
    }

    fn audio_chunk(&mut self, n: usize) {
        let take = |buf: &mut Vec<f32>| -> Vec<f32> {
            let k = (n * CHANNELS).min(buf.len());
            let mut v: Vec<f32> = buf.drain(..k).collect();
            v.resize(n * CHANNELS, 0.0);
            v
        };
        let a = take(&mut self.local_pcm);
        let b = take(&mut self.remote_pcm);
        let samples: Vec<f32> = a.iter().zip(&b).map(|(x, y)| (x + y).clamp(-1.0, 1.0)).collect();
        let pts = Duration::from_nanos(self.samples_out * 1_000_000_000 / SAMPLE_RATE as u64);
        self.samples_out += n as u64;
        let out = &self.out;
        let _ = self.aenc.encode(&AudioFrame { samples, pts }, &mut |p| {
            let _ = out.send(Arc::new(p));
        });
    }
}

fn push_pcm(buf: &mut Vec<f32>, a: AudioFrame) {
    buf.extend_from_slice(&a.samples);
    if buf.len() > MAX_PCM {
        let extra = buf.len() - MAX_PCM;
        buf.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_senders_sound_and_pictures_show_at_their_capture_time_plus_the_least_delay() {
        let ms = |v: u64| Duration::from_millis(v);
        let mut c = SideClock::default();
        // Sender clock 1000 s ahead of ours. Sound captured at 1000.000 s arrives after 5 ms,
        // its picture (captured at the same moment) after 45 ms (encode, more packets, the jitter buffer).
        assert_eq!(c.playout(1000.000, ms(5)), ms(5));
        assert_eq!(c.playout(1000.000, ms(45)), ms(5), "the picture shows with its sound");
        // A burst: sound held back 80 ms still lands where it was captured.
        assert_eq!(c.playout(1000.100, ms(185)), ms(105));
        // Never after an item's arrival, even when the least delay was lower before.
        assert!(c.playout(1000.200, ms(203)) <= ms(203));
        // The window forgets an old, lower delay: 20 s later everything takes 30 ms.
        for i in 0..=2000u64 {
            c.playout(1020.0 + i as f64 / 100.0, ms(20_030 + i * 10));
        }
        let t = c.playout(1040.01, ms(40_040));
        assert!((t.as_secs_f64() - 40.040).abs() < 1e-6, "{t:?}");
    }

    #[test]
    fn two_hours_of_a_drifting_sender_clock_keep_sound_and_picture_within_a_few_milliseconds() {
        // The sender's wall clock runs 100 ppm fast, then slow, against ours
        // (two machines' clocks); sound arrives 30–50 ms after capture,
        // pictures 60–100 ms (a pseudo-random jitter), for two hours each.
        for ppm in [100.0, -100.0] {
        let mut c = SideClock::default();
        let mut seed = 7u64;
        let mut jitter = |max_ms: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % (max_ms + 1)
        };
        let (mut worst_av, mut worst_wait): (f64, f64) = (0.0, 0.0);
        let mut t_ms = 0u64;
        while t_ms < 2 * 3600 * 1000 {
            let sender = 5000.0 + t_ms as f64 / 1000.0 * (1.0 + ppm * 1e-6);
            let a_arr = Duration::from_millis(t_ms + 30 + jitter(20));
            let v_arr = Duration::from_millis(t_ms + 60 + jitter(40));
            let a = c.playout(sender, a_arr);
            let v = c.playout(sender, v_arr);
            // Captured together: shown together, and neither waits past the compositor's delay.
            worst_av = worst_av.max((a.as_secs_f64() - v.as_secs_f64()).abs());
            worst_wait = worst_wait.max(v_arr.as_secs_f64() - v.as_secs_f64());
            assert!(a <= a_arr && v <= v_arr);
            t_ms += 100;
        }
        // The window follows a slow clock in steps of at most 20 s × 100 ppm = 2 ms.
        assert!(worst_av < 0.005, "sound and picture {:.2} ms apart", worst_av * 1000.0);
        assert!(worst_wait < ALIGN_DELAY.as_secs_f64(), "a picture {:.0} ms after its place", worst_wait * 1000.0);
        }
    }

    #[test]
    fn sound_is_written_where_its_clock_puts_it() {
        let (tx, _rx) = crossbeam_channel::bounded(16);
        let mut m = Mixer::new(16, 16, 30, None, AudioEncoder::open(128).unwrap(), tx);
        m.align = true;
        m.samples_out = 1000;
        // Two frames late by 10 sample frames: the first 10 are dropped.
        m.write_at(0, 990, &vec![0.5; 20 * CHANNELS]);
        assert_eq!(m.local_pcm.len(), 10 * CHANNELS);
        // A gap of 5 frames becomes silence, then the packet.
        m.write_at(0, 1015, &vec![0.25; 4 * CHANNELS]);
        assert_eq!(m.local_pcm.len(), 19 * CHANNELS);
        assert_eq!(m.local_pcm[10 * CHANNELS..15 * CHANNELS], vec![0.0; 5 * CHANNELS][..]);
        // A second copy of the same sound overwrites, never doubles it.
        m.write_at(0, 1015, &vec![0.75; 4 * CHANNELS]);
        assert_eq!(m.local_pcm.len(), 19 * CHANNELS);
        assert_eq!(m.local_pcm[15 * CHANNELS], 0.75);
        // Beyond what may wait: refused, nothing else changes.
        m.write_at(0, 1000 + SAMPLE_RATE as i64, &[0.1; 2]);
        assert_eq!(m.local_pcm.len(), 19 * CHANNELS);
    }
}
