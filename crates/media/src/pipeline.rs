//! The pipeline: sources → compositor → encoders → outputs, on threads joined
//! by bounded channels.
//!
//! ```text
//!  video source ─▶ [3] ─▶ compose + H.264 ─┐          ┌─▶ [256, lossy] ─▶ RTMP
//!  overlay src  ─▶ latest frame ─┘         ├─▶ fanout ┤
//!  audio source ─▶ AAC ────────────────────┘          └─▶ [1024, lossless] ─▶ MP4 recorder
//! ```
//!
//! A slow encoder drops captured frames (counted) instead of delaying
//! capture; a slow or dead network drops packets for the live output only,
//! never for the recording.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Sender, TrySendError};

use crate::compose::{overlay, Placement};
use crate::encode::{AudioEncoder, EncodedPacket, EncodingConfig, StreamKind, VideoEncoder};
use crate::frame::{Clock, VideoFrame};
use crate::library::{Bookmark, Library};
use crate::output::finalize::finalize_with_key;
use crate::output::mux::StreamSet;
use crate::output::adapt::Adapter;
use crate::output::recorder::Recorder;
use crate::output::rtmp::RtmpOutput;
use crate::output::url::IngestUrl;
use crate::preview::PreviewTap;
use crate::source::camera::CameraMode;
use crate::source::desktop::DesktopAudio;
use crate::source::fader::{Fader, FaderHandle};
use crate::source::mix::MixedAudio;
use crate::source::{audio_inputs, is_camera_layer, AudioInput, AudioSource, VideoOpen, VideoSource, VideoSpec};
use crate::stats::{add, DestinationSnapshot, Stats, StatsSnapshot};
use onair_beauty::{BeautyFilter, BeautyParams, ParamsHandle, PlanesMut};
use crate::{MediaError, Result};

/// An overlay layer and where it goes.
#[derive(Clone, Debug)]
pub struct OverlayConfig {
    pub source: VideoSpec,
    pub placement: Placement,
}

/// Limits that stop the job cleanly.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// The longest a recording may run.
    pub max_recording: Option<Duration>,
    /// Stop recording when the recording folder has less free space than this.
    pub min_free_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { duration: None, max_recording: Some(Duration::from_secs(12 * 3600)), min_free_bytes: 500 << 20 }
    }
}

/// Everything one job needs.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub video: VideoSpec,
    pub overlay: Option<OverlayConfig>,
    /// Audio sources, mixed when there are several; empty for no audio.
    pub audio: Vec<AudioInput>,
    /// Loop file sources.
    pub looped: bool,
    pub camera_mode: Option<CameraMode>,
    pub encoding: EncodingConfig,
    /// Where to go live; several get the same encoded stream, each with its
    /// own connection, queue, counters and reconnection.
    pub live: Vec<Destination>,
    /// Final path of the recording, if recording.
    pub record: Option<PathBuf>,
    pub limits: Limits,
    /// The beauty filter on the camera layer (camera or file source; never
    /// the screen or the test pattern). `None` leaves frames untouched.
    pub beauty: Option<BeautyParams>,
}

/// One place to go live to.
#[derive(Clone, Debug)]
pub struct Destination {
    /// What the user named it, safe to print (`relay://ROOM`, or the URL
    /// with its key hidden).
    pub name: String,
    pub url: IngestUrl,
    /// Dynamic bitrate: step down when its queue grows, up when it drains.
    pub adaptive: bool,
}

impl Destination {
    /// A destination named by its URL (key hidden), with dynamic bitrate.
    pub fn new(url: IngestUrl) -> Self {
        Destination { name: url.to_string(), url, adaptive: true }
    }
}

/// Why a job stopped by itself.
#[derive(Clone, Debug, PartialEq)]
pub enum StopReason {
    Duration,
    MaxRecordingLength(Duration),
    LowDiskSpace { free_mb: u64, min_mb: u64 },
    SourceEnded,
    Failed(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Duration => write!(f, "reached --duration"),
            StopReason::MaxRecordingLength(d) => write!(f, "reached the maximum recording length ({} s)", d.as_secs()),
            StopReason::LowDiskSpace { free_mb, min_mb } => {
                write!(f, "only {free_mb} MB free where the recording is written (minimum {min_mb} MB): stopped to keep the recording whole")
            }
            StopReason::SourceEnded => write!(f, "the source ended"),
            StopReason::Failed(m) => write!(f, "{m}"),
        }
    }
}

/// The recording a job produced.
#[derive(Clone, Debug, serde::Serialize)]
#[derive(ts_rs::TS)]
pub struct RecordingResult {
    #[ts(as = "f64")]
    pub id: i64,
    pub path: PathBuf,
    #[ts(as = "f64")]
    pub duration_ms: i64,
    #[ts(as = "f64")]
    pub size_bytes: u64,
    pub bookmarks: Vec<Bookmark>,
}

/// What a finished job reports.
#[derive(Clone, Debug)]
pub struct Summary {
    pub stats: StatsSnapshot,
    pub recording: Option<RecordingResult>,
    /// Errors met on the way (a failed source, a failed recording).
    pub errors: Vec<String>,
}

/// A running job.
pub struct Pipeline {
    clock: Clock,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
    library: Option<Arc<Library>>,
    recording_id: Option<i64>,
    /// The recording's own key when it is encrypted at rest.
    record_key: Option<onair_vault::FileKey>,
    record_path: Option<PathBuf>,
    recorder: Option<Recorder>,
    rtmp: Vec<RtmpOutput>,
    /// Each live destination's name and counters.
    dests: Vec<(String, Arc<Stats>)>,
    threads: Vec<JoinHandle<()>>,
    errors: Arc<Mutex<Vec<String>>>,
    sources_live: Arc<std::sync::atomic::AtomicUsize>,
    record_failed: Arc<AtomicBool>,
    limits: Limits,
    encoder_name: Option<String>,
    describe: Vec<String>,
    beauty: Vec<ParamsHandle>,
    /// One per audio source, in the order given.
    faders: Vec<FaderHandle>,
}

/// Applies the beauty filter to a frame in place.
fn retouch(filter: &mut BeautyFilter, f: &mut VideoFrame) {
    let (w, h) = (f.width as usize, f.height as usize);
    let (y, u, v) = f.planes_mut();
    match PlanesMut::packed(w, h, y, u, v) {
        Ok(mut planes) => filter.apply(&mut planes),
        Err(e) => tracing::warn!("beauty filter skipped a frame: {e}"),
    }
}

fn open_video(spec: &VideoSpec, cfg: &PipelineConfig, w: u32, h: u32, clock: &Clock, stop: &Arc<AtomicBool>) -> Result<Box<dyn VideoSource>> {
    let o = VideoOpen { width: w, height: h, fps: cfg.encoding.preset.fps, looped: cfg.looped, camera_mode: cfg.camera_mode };
    crate::source::open_video(spec, o, clock.clone(), stop.clone())
}

fn open_audio_input(input: &AudioInput, cfg: &PipelineConfig, clock: &Clock, stop: &Arc<AtomicBool>) -> Result<Option<Box<dyn AudioSource>>> {
    Ok(match input {
        AudioInput::Desktop => Some(Box::new(DesktopAudio::open(clock.clone(), stop.clone())?)),
        AudioInput::Source(spec) => crate::source::open_audio(spec, cfg.looped, clock.clone(), stop.clone())?,
    })
}

/// The job's audio: nothing, its one source, or the mix of several; each
/// source through a fader (volume, mute, meter) whose handle goes in `faders`.
fn open_audio(inputs: &[AudioInput], cfg: &PipelineConfig, clock: &Clock, stop: &Arc<AtomicBool>, faders: &mut Vec<FaderHandle>) -> Result<Option<Box<dyn AudioSource>>> {
    let mut sources: Vec<Box<dyn AudioSource>> = Vec::new();
    for input in audio_inputs(inputs)? {
        if let Some(src) = open_audio_input(&input, cfg, clock, stop)? {
            let (f, h) = Fader::new(src);
            faders.push(h);
            sources.push(Box::new(f));
        }
    }
    Ok(match sources.len() {
        0 => None,
        1 => sources.pop(),
        _ => Some(Box::new(MixedAudio::start(sources, clock.clone(), stop.clone())?)),
    })
}

/// Sends every packet to every output with the output's own policy.
#[derive(Clone)]
struct Fanout {
    /// Each destination's queue and counters: a full queue drops for that
    /// destination only, so a slow one never holds the others back.
    live: Vec<(Sender<Arc<EncodedPacket>>, Arc<Stats>)>,
    rec: Option<Sender<Arc<EncodedPacket>>>,
    stats: Arc<Stats>,
}

impl Fanout {
    /// The bitrate the encoder should aim at: the highest rung among the
    /// destinations that are live and adapt (a reconnecting one has no say),
    /// else `full`.
    fn target_kbps(&self, full: u32) -> u32 {
        let rungs = self.live.iter().filter(|(_, s)| !s.reconnecting.load(Ordering::Relaxed)).map(|(_, s)| s.bitrate_kbps.load(Ordering::Relaxed));
        let mut any = false;
        let mut best = 0;
        for r in rungs {
            if r == 0 {
                return full; // a destination at a fixed bitrate keeps the full rate
            }
            any = true;
            best = best.max(r);
        }
        if any { best.min(u64::from(full)) as u32 } else { full }
    }

    fn send(&self, p: EncodedPacket) {
        add(&self.stats.bytes_encoded, p.packet.size() as u64);
        if p.kind == StreamKind::Video {
            add(&self.stats.bytes_encoded_video, p.packet.size() as u64);
        }
        let p = Arc::new(p);
        for (live, stats) in &self.live {
            if let Err(TrySendError::Full(p)) = live.try_send(p.clone()) {
                if p.kind == StreamKind::Video {
                    add(&stats.video_frames_dropped_live, 1);
                }
            }
        }
        if let Some(rec) = &self.rec {
            // Lossless: the recording waits for the disk rather than drop.
            let _ = rec.send(p);
        }
    }
}

impl Pipeline {
    /// Opens sources, encoders and outputs (failing fast with a clear error),
    /// then starts capturing. `library` registers the recording and its bookmarks.
    pub fn start(cfg: PipelineConfig, library: Option<Arc<Library>>) -> Result<Pipeline> {
        Self::start_with_preview(cfg, library, None)
    }

    /// [`Pipeline::start`] with a preview tap for a user interface (see
    /// [`crate::preview`]). With a preview, a job may have no output at all:
    /// it then captures and composes but encodes nothing.
    pub fn start_with_preview(cfg: PipelineConfig, library: Option<Arc<Library>>, mut preview: Option<PreviewTap>) -> Result<Pipeline> {
        crate::init();
        if cfg.video == VideoSpec::None && audio_inputs(&cfg.audio)?.is_empty() {
            return Err(MediaError::Invalid("nothing to capture: --video and --audio are both none".into()));
        }
        if cfg.live.is_empty() && cfg.record.is_none() && preview.is_none() {
            return Err(MediaError::Invalid("no output: go live (--to) or record".into()));
        }
        let clock = Clock::start_now();
        let stop = Arc::new(AtomicBool::new(false));
        // Device sources run threads of their own from the moment they open:
        // if starting fails past that point, this tells them to stop.
        let mut abort = StopOnDrop(Some(stop.clone()));
        let stats = Arc::new(Stats::default());
        let p = cfg.encoding.preset;
        let mut describe = Vec::new();

        // Sources first: a missing camera or file is the most likely mistake.
        let video = match cfg.video {
            VideoSpec::None => None,
            ref spec => Some(open_video(spec, &cfg, p.width, p.height, &clock, &stop)?),
        };
        let overlay_src = match (&cfg.overlay, &video) {
            (Some(o), Some(_)) => {
                let (x, y, w, h) = o.placement.rect(p.width, p.height);
                Some((open_video(&o.source, &cfg, w, h, &clock, &stop)?, x, y))
            }
            (Some(_), None) => return Err(MediaError::Invalid("--overlay needs a base --video".into())),
            _ => None,
        };
        let mut faders = Vec::new();
        let audio = open_audio(&cfg.audio, &cfg, &clock, &stop, &mut faders)?;
        for d in video.iter().map(|v| v.describe()).chain(overlay_src.iter().map(|o| format!("overlay {}", o.0.describe()))).chain(audio.iter().map(|a| a.describe())) {
            describe.push(d);
        }

        // Encoders.
        let force_key = Arc::new(AtomicBool::new(false));
        let venc = match &video {
            Some(_) => Some(VideoEncoder::open(&cfg.encoding, force_key.clone())?),
            None => None,
        };
        let aenc = match &audio {
            Some(_) => Some(AudioEncoder::open(cfg.encoding.audio_kbps())?),
            None => None,
        };
        let streams = StreamSet {
            video: venc.as_ref().map(|e| e.stream_info()),
            audio: aenc.as_ref().map(|e| e.stream_info()),
        };
        let encoder_name = venc.as_ref().map(|e| e.name().to_string());

        // One filter per camera layer; the pipeline keeps their live handles.
        let make_filter = |spec: &VideoSpec| -> Option<BeautyFilter> {
            let p = cfg.beauty.filter(|_| is_camera_layer(spec))?;
            let mut f = BeautyFilter::with_params(p);
            f.set_threads(1);
            Some(f)
        };
        let mut base_beauty = make_filter(&cfg.video);
        let mut overlay_beauty = cfg.overlay.as_ref().and_then(|o| make_filter(&o.source));
        let beauty_handles: Vec<ParamsHandle> =
            base_beauty.iter().chain(overlay_beauty.iter()).map(|f| f.params_handle()).collect();
        if base_beauty.is_some() || overlay_beauty.is_some() {
            describe.push(format!("beauty filter {:?} on the camera layer", cfg.beauty.unwrap_or_default()));
        }

        // Outputs: the recording first (local, cannot hang), then the network.
        let record_failed = Arc::new(AtomicBool::new(false));
        let (mut recorder, mut rec_tx, mut recording_id, mut record_key) = (None, None, None, None);
        if let Some(path) = &cfg.record {
            let (tx, rx) = bounded(1024);
            let part = crate::output::recorder::part_path_for(path);
            if let Some(lib) = &library {
                let (id, key) = lib.begin_recording(path, &part)?;
                recording_id = Some(id);
                record_key = key;
            }
            let on_start: crate::output::recorder::OnTrackStart = match (&library, recording_id) {
                (Some(lib), Some(id)) => {
                    let lib = lib.clone();
                    Box::new(move |kind, us| {
                        if let Err(e) = lib.set_track_start(id, kind == StreamKind::Video, us) {
                            tracing::warn!("saving a track start: {e}");
                        }
                    })
                }
                _ => Box::new(|_, _| {}),
            };
            match Recorder::start_with_key(path, streams.clone(), rx, stats.clone(), record_failed.clone(), on_start, record_key.clone()) {
                Ok(r) => recorder = Some(r),
                Err(e) => {
                    if let (Some(lib), Some(id)) = (&library, recording_id) {
                        let _ = lib.delete(id);
                    }
                    return Err(e);
                }
            }
            rec_tx = Some(tx);
        }
        let full_kbps = cfg.encoding.video_kbps();
        stats.encoder_kbps.store(u64::from(full_kbps), Ordering::Relaxed);
        let (rtmp, live_tx, dests) = match start_destinations(&cfg.live, &streams, &stop, &force_key, full_kbps) {
            Ok(started) => started,
            Err(e) => {
                // Leave no half-made recording behind.
                drop(rec_tx);
                if let Some(r) = recorder {
                    let _ = r.handle.join();
                    let _ = std::fs::remove_file(&r.part_path);
                }
                if let (Some(lib), Some(id)) = (&library, recording_id) {
                    let _ = lib.delete(id);
                }
                return Err(e);
            }
        };
        let fanout = Fanout { live: live_tx, rec: rec_tx, stats: stats.clone() };
        let encoding = !fanout.live.is_empty() || fanout.rec.is_some();
        if let Some(t) = preview.as_mut() {
            t.set_clock(clock.clone());
        }

        // Threads. The clock starts now, so every source starts at zero.
        clock.restart();
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sources_live = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut threads = Vec::new();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| MediaError::Io { what: format!("starting the {name} thread"), source: e })
        };

        if let (Some(mut src), Some(mut enc)) = (video, venc) {
            let (tx, rx) = bounded::<VideoFrame>(3);
            let latest_overlay: Arc<Mutex<Option<VideoFrame>>> = Arc::default();
            let mut overlay_pos = None;
            if let Some((mut osrc, x, y)) = overlay_src {
                overlay_pos = Some((x, y));
                let slot = latest_overlay.clone();
                let (stop2, errors2) = (stop.clone(), errors.clone());
                threads.push(spawn("overlay", Box::new(move || {
                    while !stop2.load(Ordering::Relaxed) {
                        match osrc.next_frame() {
                            Ok(Some(mut f)) => {
                                if let Some(b) = overlay_beauty.as_mut() {
                                    retouch(b, &mut f);
                                }
                                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(f)
                            }
                            Ok(None) => break,
                            Err(e) => {
                                errors2.lock().unwrap_or_else(|p| p.into_inner()).push(format!("overlay: {e}"));
                                break;
                            }
                        }
                    }
                }))?);
            }
            let (stop2, stats2, errors2, live2) = (stop.clone(), stats.clone(), errors.clone(), sources_live.clone());
            live2.fetch_add(1, Ordering::AcqRel);
            threads.push(spawn("video-capture", Box::new(move || {
                while !stop2.load(Ordering::Relaxed) {
                    match src.next_frame() {
                        Ok(Some(mut f)) => {
                            add(&stats2.video_frames_captured, 1);
                            if let Some(b) = base_beauty.as_mut() {
                                retouch(b, &mut f);
                            }
                            if let Err(TrySendError::Full(_)) = tx.try_send(f) {
                                add(&stats2.video_frames_dropped_capture, 1);
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            errors2.lock().unwrap_or_else(|p| p.into_inner()).push(format!("video: {e}"));
                            break;
                        }
                    }
                }
                live2.fetch_sub(1, Ordering::AcqRel);
            }))?);
            let (fan, stats2, errors2) = (fanout.clone(), stats.clone(), errors.clone());
            let full_kbps = cfg.encoding.video_kbps();
            threads.push(spawn("video-encode", Box::new(move || {
                let mut kbps = full_kbps;
                let fan2 = fan.clone();
                let mut out = |p: EncodedPacket| fan2.send(p);
                for mut f in rx {
                    let target = fan.target_kbps(full_kbps);
                    if target != kbps {
                        kbps = target;
                        enc.set_bitrate(kbps);
                        stats2.encoder_kbps.store(u64::from(kbps), Ordering::Relaxed);
                    }
                    if let Some((x, y)) = overlay_pos {
                        if let Some(top) = latest_overlay.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                            overlay(&mut f, top, x, y);
                        }
                    }
                    if let Some(t) = preview.as_mut() {
                        t.offer(&f);
                    }
                    if !encoding {
                        continue; // preview only
                    }
                    // The frame goes to the encoder as it is, uncopied.
                    match enc.encode_owned(f, &mut out) {
                        Ok(true) => add(&stats2.video_frames_encoded, 1),
                        Ok(false) => {}
                        Err(e) => {
                            errors2.lock().unwrap_or_else(|p| p.into_inner()).push(e.to_string());
                            break;
                        }
                    }
                }
                enc.finish(&mut out);
            }))?);
        }

        if let (Some(mut src), Some(mut enc)) = (audio, aenc) {
            let (fan, stop2, stats2, errors2, live2) = (fanout.clone(), stop.clone(), stats.clone(), errors.clone(), sources_live.clone());
            live2.fetch_add(1, Ordering::AcqRel);
            threads.push(spawn("audio", Box::new(move || {
                let mut out = |p: EncodedPacket| {
                    add(&stats2.audio_packets_encoded, 1);
                    fan.send(p)
                };
                while !stop2.load(Ordering::Relaxed) {
                    match src.next_chunk() {
                        Ok(Some(c)) => {
                            add(&stats2.audio_chunks_captured, 1);
                            if let Err(e) = enc.encode(&c, &mut out) {
                                errors2.lock().unwrap_or_else(|p| p.into_inner()).push(e.to_string());
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            errors2.lock().unwrap_or_else(|p| p.into_inner()).push(format!("audio: {e}"));
                            break;
                        }
                    }
                }
                enc.finish(&mut out);
                live2.fetch_sub(1, Ordering::AcqRel);
            }))?);
        }
        drop(fanout);
        abort.0 = None;

        Ok(Pipeline {
            clock,
            stop,
            stats,
            library,
            recording_id,
            record_key,
            record_path: cfg.record.clone(),
            recorder,
            rtmp,
            dests,
            threads,
            errors,
            sources_live,
            record_failed,
            limits: cfg.limits,
            encoder_name,
            describe,
            beauty: beauty_handles,
            faders,
        })
    }

    /// The FFmpeg name of the video encoder in use.
    pub fn encoder_name(&self) -> Option<&str> {
        self.encoder_name.as_deref()
    }

    /// Changes the beauty filter while running (from the next frame). False
    /// if the job has no camera layer with a filter.
    pub fn set_beauty(&self, p: BeautyParams) -> bool {
        self.beauty.iter().for_each(|h| h.set(p));
        !self.beauty.is_empty()
    }

    /// The audio mixer: each source's volume, mute and level.
    pub fn mixer(&self) -> Vec<crate::source::fader::FaderView> {
        self.faders.iter().map(FaderHandle::view).collect()
    }

    /// Sets audio source `index`'s volume (1.0 = unity, up to 2.0) and mute.
    pub fn set_fader(&self, index: usize, volume: f32, muted: bool) -> Result<()> {
        let f = self.faders.get(index).ok_or_else(|| MediaError::Invalid(format!("there is no audio source {index}")))?;
        f.set(volume, muted);
        Ok(())
    }

    /// What is being captured, one line per source.
    pub fn sources(&self) -> &[String] {
        &self.describe
    }

    pub fn elapsed(&self) -> Duration {
        self.clock.now()
    }

    pub fn stats(&self) -> StatsSnapshot {
        let t = self.clock.now().as_secs_f64();
        let dests = self.dests.iter().map(|(name, s)| DestinationSnapshot::of(name, s, t)).collect();
        self.stats.snapshot(t).with_destinations(dests)
    }

    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Adds a bookmark at the current time, saved to the library at once.
    pub fn bookmark(&self, label: Option<&str>) -> Result<Bookmark> {
        let (Some(lib), Some(id)) = (&self.library, self.recording_id) else {
            return Err(MediaError::Invalid("bookmarks need a recording (add --record FILE)".into()));
        };
        let b = lib.add_bookmark(id, self.clock.now().as_millis() as i64, label)?;
        add(&self.stats.bookmarks, 1);
        Ok(b)
    }

    /// Why the job should stop now, if it should. Front ends call this a few
    /// times a second and then [`Pipeline::stop`].
    pub fn poll(&self) -> Option<StopReason> {
        if let Some(e) = self.errors.lock().unwrap_or_else(|p| p.into_inner()).first() {
            return Some(StopReason::Failed(e.clone()));
        }
        if self.record_failed.load(Ordering::Acquire) {
            return Some(StopReason::Failed("the recording could not be written".into()));
        }
        let now = self.clock.now();
        if self.limits.duration.is_some_and(|d| now >= d) {
            return Some(StopReason::Duration);
        }
        if let (Some(max), Some(_)) = (self.limits.max_recording, &self.recorder) {
            if now >= max {
                return Some(StopReason::MaxRecordingLength(max));
            }
        }
        if let Some(path) = &self.record_path {
            if let Some(free) = free_bytes(path) {
                if free < self.limits.min_free_bytes {
                    return Some(StopReason::LowDiskSpace { free_mb: free >> 20, min_mb: self.limits.min_free_bytes >> 20 });
                }
            }
        }
        if self.sources_live.load(Ordering::Acquire) == 0 && !self.threads.is_empty() {
            return Some(StopReason::SourceEnded);
        }
        None
    }

    /// Stops capture, flushes encoders and outputs, and finalises the
    /// recording (an MP4 with the bookmarks as chapters).
    pub fn stop(mut self) -> Result<Summary> {
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            join_logged(t);
        }
        for r in self.rtmp.drain(..) {
            let _ = r.handle.join();
        }
        let mut errors = std::mem::take(&mut *self.errors.lock().unwrap_or_else(|p| p.into_inner()));
        let mut recording = None;
        if let Some(rec) = self.recorder.take() {
            let part = rec.part_path.clone();
            let end = rec.handle.join().unwrap_or_default();
            if let Some(e) = &end.error {
                errors.push(format!("recording: {e}"));
            }
            let path = self.record_path.clone().expect("a recorder exists only with a record path");
            let bookmarks = match (&self.library, self.recording_id) {
                (Some(lib), Some(id)) => lib.bookmarks(id)?,
                _ => Vec::new(),
            };
            match finalize_with_key(&part, &path, &bookmarks, end.starts, self.record_key.as_ref()) {
                Ok(f) => {
                    let ms = f.duration.as_millis() as i64;
                    if let (Some(lib), Some(id)) = (&self.library, self.recording_id) {
                        lib.finish(id, "done", Some(ms), Some(f.size), end.error.as_deref())?;
                    }
                    recording = Some(RecordingResult {
                        id: self.recording_id.unwrap_or(0),
                        path,
                        duration_ms: ms,
                        size_bytes: f.size,
                        bookmarks,
                    });
                }
                Err(e) => {
                    // The part file stays; `onair recordings recover` retries.
                    errors.push(format!("finalising the recording: {e} (the data is kept in {}; run `onair recordings recover`)", part.display()));
                }
            }
        }
        Ok(Summary { stats: self.stats(), recording, errors })
    }
}

/// Joins a pipeline thread; one that has not ended after 5 s is named in
/// the log (every thread watches the stop flag, so that is a bug to see).
fn join_logged(t: std::thread::JoinHandle<()>) {
    let name = t.thread().name().unwrap_or("?").to_string();
    let start = std::time::Instant::now();
    let mut warned = false;
    while !t.is_finished() {
        if !warned && start.elapsed() > std::time::Duration::from_secs(5) {
            tracing::warn!("stopping: the {name} thread has not ended after 5 s");
            warned = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    if warned {
        tracing::warn!("stopping: the {name} thread ended after {:.1} s", start.elapsed().as_secs_f64());
    }
    let _ = t.join();
}

type Started = (Vec<RtmpOutput>, Vec<(Sender<Arc<EncodedPacket>>, Arc<Stats>)>, Vec<(String, Arc<Stats>)>);

/// Connects every live destination at once (a slow one does not delay the
/// others). One destination fails fast as before; of several, those that
/// cannot connect yet keep retrying on their own, and only when none connects
/// is it an error.
fn start_destinations(live: &[Destination], streams: &StreamSet, stop: &Arc<AtomicBool>, force_key: &Arc<AtomicBool>, full_kbps: u32) -> Result<Started> {
    let must_connect = live.len() == 1;
    let results: Vec<Result<(RtmpOutput, Sender<Arc<EncodedPacket>>, Arc<Stats>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = live
            .iter()
            .map(|d| {
                let streams = streams.clone();
                scope.spawn(move || {
                    let (tx, rx) = bounded(256);
                    let own = Arc::new(Stats::default());
                    let out = RtmpOutput::start(d.url.clone(), streams, rx, own.clone(), stop.clone(), force_key.clone(), must_connect, d.adaptive.then(|| Adapter::new(full_kbps)))?;
                    Ok((out, tx, own))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(MediaError::Invalid("connecting a destination panicked".into()))))
            .collect()
    });
    let (mut outputs, mut txs, mut dests, mut failed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (d, r) in live.iter().zip(results) {
        match r {
            Ok((out, tx, own)) => {
                if let Some(e) = &out.first_error {
                    tracing::warn!("live: cannot connect to {} yet ({e}); retrying", d.name);
                    eprintln!("live: cannot connect to {} yet ({e}); retrying while the others go on", d.name);
                    failed.push(format!("{}: {e}", d.name));
                }
                outputs.push(out);
                txs.push((tx, own.clone()));
                dests.push((d.name.clone(), own));
            }
            Err(e) => return Err(e),
        }
    }
    if live.len() > 1 && failed.len() == live.len() {
        // Nothing is live: stop the retrying threads, say why for each.
        drop(txs);
        for o in outputs {
            let _ = o.handle.join();
        }
        return Err(MediaError::Invalid(format!("could not connect to any destination: {}", failed.join("; "))));
    }
    Ok((outputs, txs, dests))
}

/// Raises the stop flag when dropped, unless disarmed (set to `None`).
struct StopOnDrop(Option<Arc<AtomicBool>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(stop) = &self.0 {
            stop.store(true, Ordering::Release);
        }
    }
}

/// Free space on the file system holding `path` (its folder).
fn free_bytes(path: &std::path::Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs writes into the zeroed struct we pass and reads the NUL-terminated path.
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
            return None;
        }
        Some(s.f_bavail as u64 * s.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
