//! A call's audio and video in the app: runs `onair_call::driver` with its
//! signaling on the device's relay link (the one the chat listener runs),
//! shows its pictures through the loopback video server, and turns its
//! lines and figures into `call://state` events. One call at a time.
//!
//! ```text
//!  driver ──request()──▶ RelayLink (chat listener's socket) ──▶ relay
//!  driver ◀──answers; call events, Up/Down (a Topic::Call subscription)──┘
//!  driver ──TapItem (viewer)──▶ pump thread ──RGBA──▶ /call/remote, /call/local (video.rs)
//!  driver ──lines, 1 s figures──▶ call://state {notice, media}
//! ```
//!
//! Why the chat socket: the relay treats one signed-in WebSocket as one
//! device and binds a call to the device that rang and answered; a second
//! socket for the media's signaling would be a second device.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use onair_call::driver::{self, CallOptions, CallReport, Command, Role};
use onair_call::presets::CallPreset;
use onair_call::send::SendConfig;
use onair_call::tap::TapItem;
use onair_chat::net::{RelayLink, Subscription, Topic};
use onair_media::source::{AudioSpec, VideoSpec};
use onair_proto::Request;
use serde::Deserialize;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::mpsc;

use crate::commands::call::{CallPush, EVENT};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::video::encode_preview;

/// What a call sends: the Calls screen's source pickers.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CallSources {
    /// `camera[:N]`, `screen`, `file:PATH`, `test` or `none` (black).
    pub video: String,
    /// `mic[:N]`, `file:PATH`, `test` or `none`.
    pub audio: String,
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<u8>", optional))]
    pub smooth: u8,
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<u8>", optional))]
    pub whiten: u8,
    /// `360p`, `720p` (the default) or `1080p`.
    #[serde(default)]
    #[cfg_attr(test, ts(optional = nullable))]
    pub preset: Option<String>,
}

impl CallSources {
    pub fn send_config(&self, video: bool) -> AppResult<SendConfig> {
        let v: VideoSpec = if video { self.video.parse().map_err(|e| AppError::Invalid(format!("video source: {e}")))? } else { VideoSpec::None };
        let a: AudioSpec = self.audio.parse().map_err(|e| AppError::Invalid(format!("audio source: {e}")))?;
        let beauty = (self.smooth > 0 || self.whiten > 0).then(|| onair_beauty::BeautyParams::new(self.smooth, self.whiten));
        let mut cfg = SendConfig { video: v, audio: a, beauty, ..SendConfig::default() };
        self.preset()?.apply(&mut cfg);
        Ok(cfg)
    }

    pub fn preset(&self) -> AppResult<CallPreset> {
        match self.preset.as_deref().map(str::trim) {
            None | Some("") => Ok(CallPreset::default()),
            Some(p) => CallPreset::ALL.into_iter().find(|c| c.name() == p).ok_or_else(|| AppError::Invalid(format!("quality {p:?}: choose 360p, 720p or 1080p"))),
        }
    }
}

/// The running call, if any (managed state).
#[derive(Default)]
pub struct CallMedia(Mutex<Option<Active>>);

struct Active {
    /// Tells this call from the next one.
    gen: u64,
    /// None until the relay named the call (our own invite).
    call_id: Option<String>,
    commands: mpsc::Sender<Command>,
}

/// A call registered but not started yet (see [`CallMedia::begin`]).
pub struct Pending {
    gen: u64,
    commands: mpsc::Receiver<Command>,
    /// The call's events on the link, queued from [`CallMedia::begin`] on.
    events: Subscription,
}

static NEXT_GEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl CallMedia {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Active>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves the one call slot; the link's call events are queued for
    /// the call from now on, so none is lost between our invite and the
    /// driver's start.
    pub fn begin(&self, link: &RelayLink, call_id: Option<String>) -> AppResult<Pending> {
        let mut g = self.lock();
        if g.is_some() {
            return Err(AppError::State("already in a call: hang up first".into()));
        }
        let gen = NEXT_GEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (cmd_tx, commands) = mpsc::channel(32);
        let events = link.subscribe(&[Topic::Call], 512);
        *g = Some(Active { gen, call_id, commands: cmd_tx });
        Ok(Pending { gen, commands, events })
    }

    pub fn set_call_id(&self, p: &Pending, call_id: &str) {
        if let Some(a) = self.lock().as_mut().filter(|a| a.gen == p.gen) {
            a.call_id = Some(call_id.to_string());
        }
    }

    fn release(&self, gen: u64) {
        let mut g = self.lock();
        if g.as_ref().is_some_and(|a| a.gen == gen) {
            *g = None;
        }
    }

    /// Gives the slot back without starting (the invite failed).
    pub fn abort(&self, p: Pending) {
        self.release(p.gen);
    }

    /// Whether the media of `call_id` runs here.
    pub fn runs(&self, call_id: &str) -> bool {
        self.lock().as_ref().is_some_and(|a| a.call_id.as_deref() == Some(call_id))
    }

    /// A user command for the running call.
    pub fn command(&self, c: Command) -> AppResult<()> {
        let g = self.lock();
        let a = g.as_ref().ok_or_else(|| AppError::State("not in a call".into()))?;
        a.commands.try_send(c).map_err(|_| AppError::State("the call is busy or ending; try again".into()))
    }

    /// Hangs up a running call and waits (up to 10 s) for it to end, so a
    /// recording in progress is finalised before the app quits.
    pub fn shutdown(&self) {
        if self.command(Command::Hangup).is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.lock().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Everything [`launch`] needs besides the app.
pub struct Launch {
    pub pending: Pending,
    pub call_id: String,
    pub peer: String,
    pub role: Role,
    pub me: String,
    /// The device's relay link (the chat listener's).
    pub link: RelayLink,
    pub send: SendConfig,
    pub preset: CallPreset,
}

/// Starts the driver for a registered call; returns at once.
pub fn launch(app: &AppHandle, l: Launch) -> AppResult<()> {
    let Launch { pending, call_id, peer, role, me, link, mut send, preset } = l;
    let Pending { gen, commands, events } = pending;
    let state = app.state::<AppState>();
    // Settings: audio processing is on unless turned off there.
    send.audio_processing = !crate::state::AppSettings::load(&state.home).map(|s| s.no_audio_processing).unwrap_or(false);
    let record = state.library.recordings_dir().join(crate::commands::live::recording_file_name(&format!("call-{peer}")));
    let (ui_tx, mut ui_rx) = mpsc::unbounded_channel::<String>();
    let (snap_tx, mut snap_rx) = mpsc::channel::<CallReport>(2);
    let (view_tx, view_rx) = crossbeam_channel::bounded::<TapItem>(2);
    let opts = CallOptions {
        ws_url: String::new(),
        token: String::new(),
        role,
        peer: Default::default(),
        send,
        record_path: Some(record),
        record_from_start: false,
        home: state.home.clone(),
        library: Some(state.library.clone()),
        play_audio: true,
        viewer: Some(view_tx),
        duration: None,
        auto_consent: None,
        snapshots: Some(snap_tx),
        // The app hears the same push on its own chat socket.
        cloud_pushes: None,
    };
    if let Err(e) = spawn_pump(app.clone(), view_rx) {
        app.state::<CallMedia>().release(gen);
        return Err(e);
    }
    let _ = app.emit(EVENT, CallPush::Started { call_id: call_id.clone(), preset: preset.name().into() });
    let (a, id) = (app.clone(), call_id.clone());
    tauri::async_runtime::spawn(async move {
        while let Some(text) = ui_rx.recv().await {
            let _ = a.emit(EVENT, CallPush::Notice { call_id: id.clone(), text });
        }
    });
    let (a, id) = (app.clone(), call_id.clone());
    tauri::async_runtime::spawn(async move {
        while let Some(stats) = snap_rx.recv().await {
            let _ = a.emit(EVENT, CallPush::Media { call_id: id.clone(), stats: serde_json::to_value(&stats).unwrap_or_default() });
        }
    });
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let result = driver::run_on(opts, link.clone(), events, me, commands, ui_tx).await;
        app.state::<CallMedia>().release(gen);
        // The call's encoders, decoders and frame buffers are gone: give
        // the memory back instead of keeping it for the next call.
        crate::heap::trim();
        let reason = match result {
            Ok(report) => {
                if report.recording.is_some() {
                    let _ = app.emit("recordings://changed", ());
                }
                let _ = app.emit(EVENT, CallPush::Media { call_id: call_id.clone(), stats: serde_json::to_value(&report).unwrap_or_default() });
                report.ended
            }
            Err(e) => {
                // The media could not start (a source would not open…): end
                // the call for the other side too instead of leaving it ringing.
                tracing::warn!("call {call_id}: {e}");
                for req in [Request::CallDecline { call_id: call_id.clone() }, Request::CallHangup { call_id: call_id.clone() }] {
                    // Sent in order; nobody waits for the answers.
                    drop(link.start(req));
                }
                format!("the call's media failed: {e}")
            }
        };
        let _ = app.emit(EVENT, CallPush::Ended { call_id: Some(call_id), reason });
    });
    Ok(())
}

/// Widest picture sent to the page, and the self-view's width and rate.
const REMOTE_MAX_W: u32 = 1280;
const LOCAL_MAX_W: u32 = 320;
const LOCAL_EVERY: Duration = Duration::from_millis(66);

/// Pictures from the call to the loopback server until the call ends.
fn spawn_pump(app: AppHandle, rx: crossbeam_channel::Receiver<TapItem>) -> AppResult<()> {
    std::thread::Builder::new()
        .name("call-view".into())
        .spawn(move || {
            let (mut seq_r, mut seq_l) = (0u32, 0u32);
            let mut last_local: Option<Instant> = None;
            let state = app.state::<AppState>();
            while let Ok(item) = rx.recv() {
                let now_ms = crate::state::unix_ms();
                match item {
                    TapItem::RemoteVideo(f) => {
                        seq_r = seq_r.wrapping_add(1);
                        let (w, h, rgba) = onair_media::preview::to_rgba(&f, REMOTE_MAX_W);
                        state.video.call_remote.send_replace(Some(encode_preview(w, h, seq_r, now_ms, &rgba).into()));
                    }
                    TapItem::LocalVideo(f) => {
                        if last_local.is_some_and(|t| t.elapsed() < LOCAL_EVERY) {
                            continue;
                        }
                        last_local = Some(Instant::now());
                        seq_l = seq_l.wrapping_add(1);
                        let (w, h, rgba) = onair_media::preview::to_rgba(&f, LOCAL_MAX_W);
                        state.video.call_local.send_replace(Some(encode_preview(w, h, seq_l, now_ms, &rgba).into()));
                    }
                    _ => {}
                }
            }
            // The call ended: no stale picture for the next one.
            state.video.call_remote.send_replace(None);
            state.video.call_local.send_replace(None);
        })
        .map(|_| ())
        .map_err(|e| AppError::Internal(format!("starting the call's picture thread: {e}")))
}
