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
use onair_media::output::finalize::finalize;
use onair_media::output::mux::StreamSet;
use onair_media::output::recorder::{part_path_for, OnTrackStart, Recorder};
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
        let id = library.begin(&cfg.path, &part)?;
        let lib = library.clone();
        let on_start: OnTrackStart = Box::new(move |kind, us| {
            if let Err(e) = lib.set_track_start(id, kind == onair_media::encode::StreamKind::Video, us) {
                tracing::warn!("saving a track start: {e}");
            }
        });
        let (pkt_tx, pkt_rx) = bounded::<Arc<EncodedPacket>>(1024);
        let recorder = match Recorder::start(&cfg.path, streams, pkt_rx, Arc::new(Stats::default()), Arc::new(AtomicBool::new(false)), on_start) {
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
        Ok(CallRecorder { tap, stop, thread: Some(thread), recorder: Some(recorder), library, id, path: cfg.path, started: Instant::now() })
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
        let f = finalize(&part, &self.path, &bookmarks, end.starts)?;
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
    /// `align_audio`: sound is placed at its arrival time.
    align: bool,
    frames_out: u64,
    samples_out: u64,
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
                Ok(TapItem::LocalVideo(f)) => self.local = self.fit(f, false),
                Ok(TapItem::RemoteVideo(f)) => self.remote = self.fit(f, true),
                Ok(TapItem::LocalAudio(a)) => {
                    self.place(0, start.elapsed(), a.samples.len() / CHANNELS);
                    push_pcm(&mut self.local_pcm, a)
                }
                Ok(TapItem::RemoteAudio(a)) => {
                    self.place(1, start.elapsed(), a.samples.len() / CHANNELS);
                    push_pcm(&mut self.remote_pcm, a)
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = start.elapsed();
            while self.venc.is_some() && period * self.frames_out as u32 <= now {
                self.video_frame(period * self.frames_out as u32);
            }
            let due = now.saturating_sub(AUDIO_DELAY).as_secs_f64() * SAMPLE_RATE as f64;
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
        let mut canvas = VideoFrame::black(self.w * 2, self.h);
        let cw = 2 * w;
        {
            let (cy, cu, cv) = canvas.planes_mut();
            for (side, f) in [(0usize, &self.local), (1usize, &self.remote)] {
                let Some(f) = f else { continue };
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
