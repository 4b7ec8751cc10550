//! The send path: sources → (beauty) → real-time H.264 / Opus → samples for
//! the peer connection's tracks.
//!
//! ```text
//!  video thread: source (switchable) ─▶ re-stamp ─▶ [3, drop] ─▶ encode thread: x264 zerolatency ─┐
//!  audio thread: source ─▶ (mic: AEC/NS/AGC) ─▶ (mute: silence) ─▶ Opus 20 ms ───────────────────────────────────────────┼▶ [64, try_send] ─▶ track writer task
//!  both: ─▶ recorder tap (only while recording)                                                     ┘
//! ```
//!
//! Controls change the running threads without renegotiation: a source
//! switch opens the new source at the same size (the encoder and the SDP do
//! not change), camera off closes the device and sends black frames at the
//! same rate (the peer's decoder and our frame accounting keep running, and
//! the camera's light goes off), mute encodes digital silence (the RTP
//! stream and its statistics keep flowing). A dropped encoded frame asks the
//! encoder for a keyframe, so the peer's decoder recovers at once.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use onair_beauty::{BeautyFilter, BeautyParams, PlanesMut};
use onair_media::audio_processing::{AudioProcessor, EchoReference, Settings};
use onair_media::convert::{to_ffmpeg, Fitter};
use onair_media::encode::{EncodedPacket, EncodingConfig, Preset, VideoEncoder};
use onair_media::frame::{AudioFrame, Clock, VideoFrame, CHANNELS};
use onair_media::source::test::{read_stamp, write_stamp};
use onair_media::source::{is_camera_layer, AudioSource, AudioSpec, VideoOpen, VideoSource, VideoSpec};
use tokio::sync::mpsc;

use crate::error::{CallError, Result};
use crate::opus::OpusEncoder;
use crate::stamp;
use crate::tap::{Tap, TapItem};

/// What to send and how.
#[derive(Clone, Debug)]
pub struct SendConfig {
    pub video: VideoSpec,
    pub audio: AudioSpec,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Starting video bitrate; congestion control moves it between the bounds.
    pub video_kbps: u32,
    pub min_video_kbps: u32,
    pub max_video_kbps: u32,
    pub audio_kbps: u32,
    /// Beauty filter on the camera layer (camera or file; never screen or test).
    pub beauty: Option<BeautyParams>,
    /// Loop file sources.
    pub looped: bool,
    /// A camera's mode (size and rate; the closest it offers), as Settings
    /// or `--camera-mode` chose it; None: the camera's default.
    pub camera_mode: Option<onair_media::source::camera::CameraMode>,
    /// `x264` (default), `auto` or an FFmpeg encoder name.
    pub encoder: String,
    pub x264_preset: String,
    /// Seconds between periodic keyframes: a safety net only, since a lost
    /// frame asks for a keyframe (PLI). Each is several frames' worth of
    /// bits: one a second took much of a low target and, behind a capped
    /// link, overflowed its queue (Chromium sends none unasked).
    pub keyint_secs: f32,
    /// Echo cancellation, noise suppression and gain control on a microphone
    /// (a test tone or a file never heard our speaker: they go as they are).
    pub audio_processing: bool,
}

impl Default for SendConfig {
    fn default() -> Self {
        SendConfig {
            video: VideoSpec::Test,
            audio: AudioSpec::Test,
            width: 640,
            height: 360,
            fps: 30,
            video_kbps: 1200,
            min_video_kbps: 150,
            max_video_kbps: 2500,
            audio_kbps: 48,
            beauty: None,
            looped: true,
            camera_mode: None,
            encoder: "x264".into(),
            x264_preset: "veryfast".into(),
            keyint_secs: 10.0,
            audio_processing: true,
        }
    }
}

/// Encoded media for the track writers.
pub enum Outgoing {
    Video { data: Bytes, duration: Duration },
    Audio { data: Bytes, duration: Duration },
}

/// A change to the running send path.
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    Mute(bool),
    Camera(bool),
    Video(VideoSpec),
    /// The beauty filter on the camera layer (None: off), from the next frame.
    Beauty(Option<BeautyParams>),
}

/// Counters of the send path.
#[derive(Default, Debug)]
pub struct SendStats {
    pub video_frames_captured: AtomicU64,
    pub video_frames_encoded: AtomicU64,
    /// Encoded frames handed to the track (counted by the writer).
    pub video_frames_sent: AtomicU64,
    pub video_frames_dropped: AtomicU64,
    pub audio_packets_encoded: AtomicU64,
    pub audio_packets_sent: AtomicU64,
    /// The encoder's current target.
    pub video_kbps: AtomicU32,
    /// The picture size the encoder sends now (the network's rung).
    pub send_width: AtomicU32,
    pub send_height: AtomicU32,
    pub muted: AtomicBool,
    pub camera_off: AtomicBool,
    /// Why the camera asked for did not open (the call joined with video off).
    pub camera_error: Mutex<Option<String>>,
}

/// The running send path.
pub struct LocalMedia {
    control: Sender<Control>,
    pub stats: Arc<SendStats>,
    bitrate: Arc<AtomicU32>,
    /// The size to encode at, `width << 32 | height` (see [`LocalMedia::set_size`]).
    size: Arc<AtomicU64>,
    force_key: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Problems met while running (a source that failed to open on a switch).
    pub notices: Arc<Mutex<Vec<String>>>,
    /// What the video source is now.
    pub current_video: Arc<Mutex<VideoSpec>>,
    clock: Clock,
    /// Where the speaker records what it plays, when the microphone is
    /// processed: the echo canceller's far end.
    pub echo_reference: Option<EchoReference>,
}

/// Opens a video source at the call's size, through the same factory as
/// go-live and recording jobs. Each source gets its own clock: its frames
/// are re-timed on the call's clock as they arrive, so a source opened
/// mid-call starts at its own zero instead of racing to catch up.
fn open_video(spec: &VideoSpec, cfg: &SendConfig, stop: &Arc<AtomicBool>) -> Result<Box<dyn VideoSource>> {
    let o = VideoOpen { width: cfg.width, height: cfg.height, fps: cfg.fps, looped: cfg.looped, camera_mode: cfg.camera_mode };
    Ok(onair_media::source::open_video(spec, o, Clock::start_now(), stop.clone())?)
}

fn open_audio(spec: &AudioSpec, cfg: &SendConfig, stop: &Arc<AtomicBool>) -> Result<Option<Box<dyn AudioSource>>> {
    Ok(onair_media::source::open_audio(spec, cfg.looped, Clock::start_now(), stop.clone())?)
}

/// A video source with its own stop flag and beauty filter.
struct Layer {
    spec: VideoSpec,
    src: Box<dyn VideoSource>,
    stop: Arc<AtomicBool>,
    beauty: Option<BeautyFilter>,
}

impl Layer {
    fn open(spec: &VideoSpec, cfg: &SendConfig) -> Result<Layer> {
        let stop = Arc::new(AtomicBool::new(false));
        let src = open_video(spec, cfg, &stop)?;
        let beauty = cfg.beauty.filter(|_| is_camera_layer(spec)).map(|p| {
            let mut f = BeautyFilter::with_params(p);
            f.set_threads(1);
            f
        });
        Ok(Layer { spec: spec.clone(), src, stop, beauty })
    }
}

impl Drop for Layer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl LocalMedia {
    /// Opens sources and encoders (failing fast) and starts capturing.
    /// Encoded media goes to `out`; raw media to `tap` while it is active.
    pub fn start(cfg: SendConfig, out: mpsc::Sender<Outgoing>, tap: Tap) -> Result<LocalMedia> {
        onair_media::init();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(SendStats::default());
        stats.video_kbps.store(cfg.video_kbps, Ordering::Relaxed);
        let bitrate = Arc::new(AtomicU32::new(cfg.video_kbps));
        let size = Arc::new(AtomicU64::new(pack(cfg.width, cfg.height)));
        stats.send_width.store(cfg.width, Ordering::Relaxed);
        stats.send_height.store(cfg.height, Ordering::Relaxed);
        let force_key = Arc::new(AtomicBool::new(false));
        let notices: Arc<Mutex<Vec<String>>> = Arc::default();
        let clock = Clock::start_now();
        let (control, control_rx) = bounded::<Control>(16);
        let current_video = Arc::new(Mutex::new(cfg.video.clone()));

        let layer = match &cfg.video {
            VideoSpec::None => None,
            // A camera that will not open (absent, busy, no permission) must
            // not end the call: join with the camera off and say why.
            spec @ VideoSpec::Camera { .. } => match Layer::open(spec, &cfg) {
                Ok(l) => Some(l),
                Err(e) => {
                    let m = format!("the camera could not open ({e}): joining with the camera off");
                    tracing::warn!("{m}");
                    notices.lock().unwrap_or_else(|p| p.into_inner()).push(m);
                    stats.camera_off.store(true, Ordering::Relaxed);
                    *stats.camera_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    None
                }
            },
            spec => Some(Layer::open(spec, &cfg)?),
        };
        let audio = open_audio(&cfg.audio, &cfg, &stop)?;
        let enc_cfg = EncodingConfig {
            preset: Preset { name: "call", width: cfg.width, height: cfg.height, fps: cfg.fps, video_kbps: cfg.video_kbps, audio_kbps: cfg.audio_kbps },
            video_kbps: Some(cfg.video_kbps),
            audio_kbps: Some(cfg.audio_kbps),
            keyint_secs: cfg.keyint_secs,
            x264_preset: cfg.x264_preset.clone(),
            encoder: cfg.encoder.clone(),
            realtime: true,
        };
        let venc = VideoEncoder::open(&enc_cfg, force_key.clone())?;
        let aenc = match &audio {
            Some(_) => Some(OpusEncoder::open(cfg.audio_kbps)?),
            None => None,
        };
        clock.restart();

        let mut threads = Vec::new();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| CallError::Io { what: format!("starting the {name} thread"), source: e })
        };
        let mute_tx = Arc::new(AtomicBool::new(false));

        // Video capture: also the control loop (controls are rare; a frame
        // period is fast enough to apply them).
        let (frame_tx, frame_rx) = bounded::<VideoFrame>(3);
        {
            let (stop, stats, notices, clock, tap, cfg, mute, current) =
                (stop.clone(), stats.clone(), notices.clone(), clock.clone(), tap.clone(), cfg.clone(), mute_tx.clone(), current_video.clone());
            threads.push(spawn("call-video", Box::new(move || {
                capture_video(layer, cfg, control_rx, frame_tx, stop, stats, notices, clock, tap, mute, current)
            }))?);
        }
        {
            let (stats, out, rate, force_key) = (stats.clone(), out.clone(), (bitrate.clone(), size.clone()), force_key.clone());
            let enc_cfg = enc_cfg.clone();
            threads.push(spawn("call-encode", Box::new(move || encode_video(venc, enc_cfg, frame_rx, out, stats, rate, force_key)))?);
        }
        let echo_reference = (cfg.audio_processing && matches!(cfg.audio, AudioSpec::Mic { .. })).then(EchoReference::new);
        if let (Some(src), Some(enc)) = (audio, aenc) {
            let (stop, stats, tap, mute) = (stop.clone(), stats.clone(), tap.clone(), mute_tx.clone());
            let processor = echo_reference.clone().map(|r| AudioProcessor::new(Settings::default(), Some(r)));
            threads.push(spawn("call-audio", Box::new(move || send_audio(src, enc, processor, out, stop, stats, tap, mute)))?);
        }
        Ok(LocalMedia { control, stats, bitrate, size, force_key, stop, threads, notices, current_video, clock, echo_reference })
    }

    pub fn control(&self, c: Control) -> Result<()> {
        self.control.try_send(c).map_err(|_| CallError::Invalid("the media engine is busy; try again".into()))
    }

    /// Sets the video bitrate target (from congestion control).
    pub fn set_bitrate(&self, kbps: u32) {
        self.bitrate.store(kbps, Ordering::Release);
    }

    /// Sets the picture size to encode at (a rung of the preset's size):
    /// the encoder starts again at that size with a keyframe, and the
    /// captured pictures are scaled to it.
    pub fn set_size(&self, width: u32, height: u32) {
        self.size.store(pack(width, height), Ordering::Release);
    }

    /// The flag that makes the encoder's next frame a keyframe (set on the peer's PLI/FIR).
    pub fn keyframe_flag(&self) -> Arc<AtomicBool> {
        self.force_key.clone()
    }

    pub fn request_keyframe(&self) {
        self.force_key.store(true, Ordering::Release);
    }

    /// The call's media clock (capture times of sent frames).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for LocalMedia {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

#[allow(clippy::too_many_arguments)]
fn capture_video(
    mut layer: Option<Layer>,
    mut cfg: SendConfig,
    control: Receiver<Control>,
    frames: Sender<VideoFrame>,
    stop: Arc<AtomicBool>,
    stats: Arc<SendStats>,
    notices: Arc<Mutex<Vec<String>>>,
    clock: Clock,
    tap: Tap,
    mute: Arc<AtomicBool>,
    current: Arc<Mutex<VideoSpec>>,
) {
    let mut camera_on = layer.is_some();
    let mut index = 0u64;
    let frame_period = Duration::from_nanos(1_000_000_000 / cfg.fps.max(1) as u64);
    let mut next_black = Duration::ZERO;
    let note = |m: String| {
        tracing::warn!("{m}");
        notices.lock().unwrap_or_else(|p| p.into_inner()).push(m);
    };
    while !stop.load(Ordering::Relaxed) {
        for c in control.try_iter() {
            match c {
                Control::Mute(m) => {
                    mute.store(m, Ordering::Release);
                    stats.muted.store(m, Ordering::Relaxed);
                }
                Control::Camera(false) => {
                    // Close the device (its light goes off); black frames follow.
                    layer = None;
                    camera_on = false;
                    next_black = clock.now();
                    stats.camera_off.store(true, Ordering::Relaxed);
                }
                Control::Camera(true) => {
                    let spec = current.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    match Layer::open(&spec, &cfg) {
                        Ok(l) => {
                            layer = Some(l);
                            camera_on = true;
                            stats.camera_off.store(false, Ordering::Relaxed);
                        }
                        Err(e) => note(format!("turning the camera back on: {e}")),
                    }
                }
                Control::Video(spec) => match Layer::open(&spec, &cfg) {
                    Ok(l) => {
                        *current.lock().unwrap_or_else(|p| p.into_inner()) = spec;
                        if camera_on {
                            layer = Some(l);
                        }
                    }
                    Err(e) => note(format!("switching video to {spec:?}: {e} (kept {:?})", layer.as_ref().map(|l| &l.spec))),
                },
                Control::Beauty(p) => {
                    // Later layers (camera back on, a switch) get it too.
                    cfg.beauty = p;
                    if let Some(l) = layer.as_mut().filter(|l| is_camera_layer(&l.spec)) {
                        match (p, l.beauty.as_ref()) {
                            (Some(p), Some(b)) => b.set_params(p),
                            (Some(p), None) => {
                                let mut f = BeautyFilter::with_params(p);
                                f.set_threads(1);
                                l.beauty = Some(f);
                            }
                            (None, _) => l.beauty = None,
                        }
                    }
                }
            }
        }
        let mut f = match layer.as_mut() {
            Some(l) => match l.src.next_frame() {
                Ok(Some(mut f)) => {
                    if let Some(b) = l.beauty.as_mut() {
                        let (w, h) = (f.width as usize, f.height as usize);
                        let (y, u, v) = f.planes_mut();
                        if let Ok(mut p) = PlanesMut::packed(w, h, y, u, v) {
                            b.apply(&mut p);
                        }
                    }
                    if l.spec == VideoSpec::Test {
                        stamp::stamp(&mut f, index);
                    }
                    f
                }
                Ok(None) => {
                    note(format!("the video source {} ended; sending black", l.src.describe()));
                    layer = None;
                    next_black = clock.now();
                    continue;
                }
                Err(e) => {
                    note(format!("video source failed: {e}; sending black"));
                    layer = None;
                    next_black = clock.now();
                    continue;
                }
            },
            None => {
                // Camera off: black at the same rate, paced on the call clock.
                clock.sleep_until(next_black, &stop);
                next_black += frame_period;
                VideoFrame::black(cfg.width, cfg.height)
            }
        };
        f.pts = clock.now();
        index += 1;
        stats.video_frames_captured.fetch_add(1, Ordering::Relaxed);
        if tap.wants_video() {
            tap.send(TapItem::LocalVideo(f.clone()));
        }
        if let Err(TrySendError::Full(_)) = frames.try_send(f) {
            stats.video_frames_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn pack(width: u32, height: u32) -> u64 {
    u64::from(width) << 32 | u64::from(height)
}

/// Scales a captured picture to the size being sent, keeping the glass-to-glass stamp readable.
fn to_size(f: &VideoFrame, (w, h): (u32, u32), fitter: &mut Option<Fitter>) -> Option<VideoFrame> {
    let mut scaled = fitter.get_or_insert_with(|| Fitter::new(w, h)).fit(&to_ffmpeg(f)).ok()?;
    scaled.pts = f.pts;
    let (y, _, _) = f.planes();
    if let Some((index, us)) = read_stamp(y, f.width as usize, f.width as usize) {
        write_stamp(&mut scaled, index, us);
    }
    Some(scaled)
}

fn encode_video(
    mut enc: VideoEncoder,
    mut enc_cfg: EncodingConfig,
    frames: Receiver<VideoFrame>,
    out: mpsc::Sender<Outgoing>,
    stats: Arc<SendStats>,
    (bitrate, size): (Arc<AtomicU32>, Arc<AtomicU64>),
    force_key: Arc<AtomicBool>,
) {
    let duration = Duration::from_nanos(1_000_000_000 / enc_cfg.preset.fps.max(1) as u64);
    let mut last_pts: Option<i64> = None;
    let mut current = bitrate.load(Ordering::Acquire);
    let mut sending = (enc_cfg.preset.width, enc_cfg.preset.height);
    let mut fitter: Option<Fitter> = None;
    for f in frames {
        let want = bitrate.load(Ordering::Acquire);
        let packed = size.load(Ordering::Acquire);
        let want_size = ((packed >> 32) as u32, packed as u32);
        if want_size != sending && want_size.0 >= 2 && want_size.1 >= 2 {
            // A new size is a new stream: a fresh encoder opens with a keyframe
            // (SPS/PPS of the new size), which the other side's decoder follows.
            enc_cfg.preset.width = want_size.0;
            enc_cfg.preset.height = want_size.1;
            enc_cfg.video_kbps = Some(want);
            match VideoEncoder::open(&enc_cfg, force_key.clone()) {
                Ok(e) => {
                    enc = e;
                    sending = want_size;
                    current = want;
                    fitter = None;
                    stats.send_width.store(want_size.0, Ordering::Relaxed);
                    stats.send_height.store(want_size.1, Ordering::Relaxed);
                    stats.video_kbps.store(want, Ordering::Relaxed);
                    tracing::info!("sending {}x{} from now (target {want} kbit/s)", want_size.0, want_size.1);
                }
                Err(e) => {
                    tracing::warn!("reopening the video encoder at {}x{}: {e}; keeping {}x{}", want_size.0, want_size.1, sending.0, sending.1);
                    size.store(pack(sending.0, sending.1), Ordering::Release);
                }
            }
        }
        if want != current {
            enc.set_bitrate(want);
            current = want;
            stats.video_kbps.store(want, Ordering::Relaxed);
        }
        let scaled;
        let f = if (f.width, f.height) == sending {
            &f
        } else {
            match to_size(&f, sending, &mut fitter) {
                Some(s) => {
                    scaled = s;
                    &scaled
                }
                None => continue,
            }
        };
        if force_key.swap(false, Ordering::AcqRel) {
            tracing::debug!("video: keyframe forced");
            enc.request_keyframe();
        }
        let mut send = |p: EncodedPacket| {
            let Some(data) = p.packet.data() else { return };
            stats.video_frames_encoded.fetch_add(1, Ordering::Relaxed);
            if p.packet.is_key() {
                tracing::debug!(bytes = data.len(), target_kbps = current, "video: keyframe encoded");
            }
            // RTP time follows capture time (as libwebrtc's does), so the
            // sender reports keep mapping it to the wall clock the sound
            // shares after a stall or a frame the capture skipped: the
            // time since the last frame advances it (a fixed 1/fps would
            // leave it behind for good, and the other side's A/V sync with it).
            let duration = match (p.packet.pts(), last_pts) {
                (Some(now), Some(before)) if now > before => Duration::from_micros(((now - before) as u64).min(60 * 90_000) * 100 / 9),
                _ => duration,
            };
            if p.packet.pts().is_some() {
                last_pts = p.packet.pts();
            }
            let o = Outgoing::Video { data: Bytes::copy_from_slice(data), duration };
            if out.try_send(o).is_err() {
                // The network side is behind: this frame is lost to the
                // peer, so the next one must be a keyframe.
                stats.video_frames_dropped.fetch_add(1, Ordering::Relaxed);
                enc_force(&force_key);
            }
        };
        if let Err(e) = enc.encode(f, &mut send) {
            tracing::warn!("video encode failed: {e}");
            break;
        }
    }
}

fn enc_force(flag: &AtomicBool) {
    flag.store(true, Ordering::Release);
}

#[allow(clippy::too_many_arguments)]
fn send_audio(
    mut src: Box<dyn AudioSource>,
    mut enc: OpusEncoder,
    mut processor: Option<AudioProcessor>,
    out: mpsc::Sender<Outgoing>,
    stop: Arc<AtomicBool>,
    stats: Arc<SendStats>,
    tap: Tap,
    mute: Arc<AtomicBool>,
) {
    let duration = Duration::from_millis(20);
    while !stop.load(Ordering::Relaxed) {
        let mut chunk: AudioFrame = match src.next_chunk() {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!("audio source failed: {e}");
                break;
            }
        };
        // Processed even while muted, so the echo canceller keeps up with the room.
        if let Some(p) = processor.as_mut() {
            let mut cleaned = Vec::with_capacity(chunk.samples.len() + 2 * onair_media::audio_processing::FRAME);
            p.process_stereo(&chunk.samples, &mut cleaned);
            chunk.samples = cleaned;
        }
        if mute.load(Ordering::Acquire) {
            chunk.samples.iter_mut().for_each(|s| *s = 0.0);
        }
        debug_assert_eq!(chunk.samples.len() % CHANNELS, 0);
        if tap.active() {
            tap.send(TapItem::LocalAudio(chunk.clone()));
        }
        let r = enc.encode(&chunk.samples, &mut |p| {
            stats.audio_packets_encoded.fetch_add(1, Ordering::Relaxed);
            let _ = out.try_send(Outgoing::Audio { data: Bytes::copy_from_slice(p), duration });
        });
        if let Err(e) = r {
            tracing::warn!("audio encode failed: {e}");
            break;
        }
    }
}
