//! Go live: the preview, start/stop, beauty, bookmarks and `live://stats`.
//!
//! The state machine is media's [`GoLive`] controller, the one `onair live`
//! drives too (preview → start → stop, auto-stop, recording names): a
//! preview while the user sets up, replaced by the full job (RTMP and/or
//! recording, same preview tap) on Start. Its transitions block, so they run
//! on blocking threads; a ticker thread emits `live://stats` twice a second
//! and lets the controller stop a job that ended by itself (source ended,
//! disk full, failure), emitting `live://stopped`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onair_beauty::BeautyParams;
use onair_media::compose::{Corner, Placement};
use onair_media::encode::{EncodingConfig, Preset};
use onair_media::golive::{GoLive, Phase};
use onair_media::library::Bookmark;
use onair_media::output::url::IngestUrl;
use onair_media::pipeline::{Limits, OverlayConfig, PipelineConfig, RecordingResult, Summary};
use onair_media::MediaError;
use onair_media::preview::{self, PreviewFrame};
use onair_media::source::{AudioInput, VideoSpec};
use onair_media::stats::StatsSnapshot;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::video::encode_preview;

/// Widest preview frame sent to the page (pixels), and its frame-rate cap.
const PREVIEW_MAX_W: u32 = 640;
const PREVIEW_FPS: u32 = 30;

/// What to capture (the sources part of a Go live request).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Sources {
    /// `test`, `camera[:N]`, `screen[:DISPLAY]`, `file:PATH` or `none`.
    pub video: String,
    /// A second video layer in a corner (picture-in-picture).
    #[serde(default)]
    pub overlay: Option<String>,
    #[serde(default = "default_corner")]
    pub overlay_corner: String,
    #[serde(default = "default_overlay_size")]
    pub overlay_size: u32,
    /// `test`, `mic[:N]`, `file:PATH` or `none`.
    pub audio: String,
    /// `480p30`, `720p30`, `1080p30`, `1080p60`.
    #[serde(default = "default_preset")]
    pub preset: String,
    #[serde(default)]
    pub smooth: u8,
    #[serde(default)]
    pub whiten: u8,
    /// Loop file sources.
    #[serde(default = "yes")]
    pub looped: bool,
}

fn default_corner() -> String {
    "bottom-right".into()
}
fn default_overlay_size() -> u32 {
    25
}
fn default_preset() -> String {
    "720p30".into()
}
fn yes() -> bool {
    true
}

/// Where the stream goes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// Record only.
    None,
    /// A room on the relay the app uses (the embedded one by default).
    Room { room: String },
    /// Any RTMP(S) ingest; the key comes from the keychain (saved with
    /// `live_save_key`) unless given here.
    Rtmp { url: String, #[serde(default)] key: Option<String> },
}

/// A Go live request.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LiveRequest {
    pub sources: Sources,
    pub destination: Destination,
    /// More destinations fed by the same encode (Go live's list: another
    /// RTMP(S) ingest such as Twitch, YouTube or Kick), each with its own
    /// connection, state and counters.
    #[serde(default)]
    pub destinations: Vec<Destination>,
    pub record: bool,
}

impl LiveRequest {
    /// Every destination, the main one first, "record only" left out.
    fn all_destinations(&self) -> impl Iterator<Item = &Destination> {
        std::iter::once(&self.destination).chain(&self.destinations).filter(|d| !matches!(d, Destination::None))
    }
}

/// What the app is doing, as `live://stats` and `live_status` report it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LiveStatus {
    /// `idle`, `preview`, `running`, or `stopping` while Stop finalises the
    /// recording.
    pub state: &'static str,
    pub live: bool,
    pub recording: bool,
    /// The ingest, with any key masked.
    pub target: Option<String>,
    pub stats: Option<StatsSnapshot>,
    pub sources: Vec<String>,
    /// When the running job started (Unix ms); None for a preview.
    pub started_ms: Option<u64>,
    /// What the running job was started with, so a screen opened later
    /// shows the job's own sources and destination, not its defaults.
    pub request: Option<LiveRequest>,
    /// The audio mixer: each source's volume, mute and level (preview or job).
    pub mixer: Vec<onair_media::source::fader::FaderView>,
}

/// What Stop reports (also the `live://stopped` payload).
#[derive(Clone, Debug, Serialize)]
pub struct StopResult {
    /// Why it stopped when it stopped by itself.
    pub reason: Option<String>,
    pub recording: Option<RecordingResult>,
    pub stats: StatsSnapshot,
    pub errors: Vec<String>,
}

/// The Go live screen's state (managed by Tauri).
#[derive(Default)]
pub struct LiveState {
    ctl: Arc<GoLive>,
    /// What the running job was started with, so a screen opened later
    /// shows the job's own sources and destination.
    running: Mutex<Option<LiveRequest>>,
    /// The last request started, for the start/stop-recording hotkey.
    pub last_request: Mutex<Option<LiveRequest>>,
    /// Serialises start (which asks the relay for a room's ingest first)
    /// and stop, so two clicks cannot race.
    ops: tokio::sync::Mutex<()>,
}

impl LiveState {
    pub fn status(&self) -> LiveStatus {
        let st = self.ctl.status();
        let state = match st.phase {
            Phase::Idle => "idle",
            Phase::Preview => "preview",
            Phase::Running => "running",
            Phase::Stopping => "stopping",
        };
        let running = st.phase == Phase::Running;
        LiveStatus {
            state,
            live: running && !st.destinations.is_empty(),
            recording: running && st.recording.is_some(),
            target: st.destinations.first().cloned(),
            stats: st.stats,
            sources: st.sources,
            started_ms: st.started_unix_ms,
            request: if running { self.running.lock().unwrap_or_else(|p| p.into_inner()).clone() } else { None },
            mixer: st.mixer,
        }
    }

    fn running(&self) -> bool {
        self.ctl.phase() == Phase::Running
    }
}

/// The controller's "wrong state" answers are the UI's `state` errors.
fn media(e: MediaError) -> AppError {
    match e {
        MediaError::Busy(m) => AppError::State(m),
        e => e.into(),
    }
}

/// Runs a controller transition on a blocking thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> onair_media::Result<T> + Send + 'static) -> AppResult<T> {
    tauri::async_runtime::spawn_blocking(f).await.map_err(|e| AppError::Internal(format!("go live: {e}")))?.map_err(media)
}

fn stop_result(reason: Option<String>, summary: Summary) -> StopResult {
    crate::heap::trim();
    StopResult { reason, recording: summary.recording, stats: summary.stats, errors: summary.errors }
}

fn parse_sources(s: &Sources) -> AppResult<PipelineConfig> {
    let video: VideoSpec = s.video.parse().map_err(|e| AppError::Invalid(format!("video source: {e}")))?;
    // One source, or several to mix separated by commas ("mic,desktop").
    let audio = s
        .audio
        .split(',')
        .map(|a| a.trim().parse::<AudioInput>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::Invalid(format!("audio source: {e}")))?;
    let preset: Preset = s.preset.parse()?;
    let overlay = match s.overlay.as_deref().filter(|o| !o.is_empty() && *o != "none") {
        None => None,
        Some(o) => Some(OverlayConfig {
            source: o.parse().map_err(|e| AppError::Invalid(format!("overlay source: {e}")))?,
            placement: Placement {
                corner: s.overlay_corner.parse::<Corner>().map_err(|e| AppError::Invalid(format!("overlay corner: {e}")))?,
                size_pct: s.overlay_size.clamp(5, 100),
            },
        }),
    };
    Ok(PipelineConfig {
        video,
        overlay,
        audio,
        looped: s.looped,
        camera_mode: None,
        encoding: EncodingConfig { preset, ..Default::default() },
        live: Vec::new(),
        record: None,
        limits: Limits::default(),
        // Always a filter on camera layers (0,0 costs nothing), so the
        // sliders act at once on a running job.
        beauty: Some(BeautyParams::new(s.smooth.min(100), s.whiten.min(100))),
    })
}

/// Reads preview frames until the pipeline drops its tap, converting each
/// to a small RGBA picture for the loopback WebSocket.
fn spawn_preview_pump(app: &AppHandle, rx: crossbeam_channel::Receiver<PreviewFrame>) {
    let app = app.clone();
    let _ = std::thread::Builder::new().name("preview-pump".into()).spawn(move || {
        let mut seq = 0u32;
        for pf in rx {
            let (w, h, rgba) = preview::to_rgba(&pf.frame, PREVIEW_MAX_W);
            seq = seq.wrapping_add(1);
            let msg = axum::body::Bytes::from(encode_preview(w, h, seq, pf.captured_unix_ms, &rgba));
            app.state::<AppState>().video.preview.send_replace(Some(msg));
        }
    });
}

/// Starts the preview on a blocking thread, wiring its tap to the page.
async fn start_preview(app: &AppHandle, ctl: Arc<GoLive>, cfg: PipelineConfig) -> AppResult<()> {
    let (tap, rx) = preview::channel(PREVIEW_FPS);
    blocking(move || ctl.preview(cfg, tap)).await?;
    spawn_preview_pump(app, rx);
    Ok(())
}

/// Resolves the destination to an ingest URL (asks the relay for a room's
/// RTMP URL and key; reads a saved key from the keychain).
async fn resolve_destination(app: &AppHandle, d: &Destination) -> AppResult<Option<IngestUrl>> {
    match d {
        Destination::None => Ok(None),
        Destination::Room { room } => {
            let st = app.state::<AppState>();
            let url = crate::rooms::ingest_url(&st.home, &st.relay.url, room).await?;
            Ok(Some(IngestUrl::parse(&url, None)?))
        }
        Destination::Rtmp { url, key } => {
            let saved = match key {
                Some(k) if !k.is_empty() => Some(k.clone()),
                _ => crate::secrets::load_stream_key(&app.state::<AppState>().home, url)?,
            };
            Ok(Some(IngestUrl::parse(url, saved.as_deref())?))
        }
    }
}

/// Starts (or restarts with new sources) the preview; refused while live or
/// recording, where the sources are fixed until Stop.
#[tauri::command]
pub async fn live_preview(app: AppHandle, live: State<'_, LiveState>, sources: Sources) -> AppResult<LiveStatus> {
    let _op = live.ops.lock().await;
    let cfg = parse_sources(&sources)?;
    start_preview(&app, live.ctl.clone(), cfg).await?;
    Ok(live.status())
}

/// Stops the preview (leaving the screen); a running job is left alone.
#[tauri::command]
pub async fn live_preview_stop(live: State<'_, LiveState>) -> AppResult<LiveStatus> {
    let _op = live.ops.lock().await;
    let ctl = live.ctl.clone();
    blocking(move || ctl.stop_preview()).await?;
    Ok(live.status())
}

/// Goes live and/or starts recording.
#[tauri::command]
pub async fn live_start(app: AppHandle, live: State<'_, LiveState>, request: LiveRequest) -> AppResult<LiveStatus> {
    let _op = live.ops.lock().await;
    if live.running() {
        return Err(AppError::State("already running: stop first".into()));
    }
    if request.all_destinations().next().is_none() && !request.record {
        return Err(AppError::Invalid("choose a destination or turn recording on".into()));
    }
    let mut cfg = parse_sources(&request.sources)?;
    for d in request.all_destinations() {
        if let Some(url) = resolve_destination(&app, d).await? {
            let mut dest = onair_media::pipeline::Destination::new(url);
            if let Destination::Room { room } = d {
                // Named as `onair live --to relay://ROOM` names it.
                dest.name = format!("relay://{room}");
            }
            cfg.live.push(dest);
        }
    }
    let library = app.state::<AppState>().library.clone();
    if request.record {
        // The controller's naming, the CLI's too.
        cfg.record = Some(onair_media::golive::new_recording_path(library.recordings_dir(), "onair", onair_media::library::unix_now()));
    }
    let (tap, rx) = preview::channel(PREVIEW_FPS);
    let ctl = live.ctl.clone();
    if let Err(e) = blocking(move || ctl.start(cfg, Some(library), Some(tap))).await {
        // The preview was let go for the job: bring it back, so the
        // screen does not freeze on the failure (the error still shows).
        if let Ok(cfg) = parse_sources(&request.sources) {
            if let Err(pe) = start_preview(&app, live.ctl.clone(), cfg).await {
                tracing::warn!("preview after a failed start: {pe}");
            }
        }
        crate::appstate::refresh(&app);
        return Err(e);
    }
    spawn_preview_pump(&app, rx);
    *live.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(request.clone());
    *live.last_request.lock().unwrap_or_else(|p| p.into_inner()) = Some(request);
    let status = live.status();
    crate::tray::update(&app, &status);
    crate::appstate::refresh(&app);
    Ok(status)
}

/// Stops the running job (finalising the recording) and returns what it made.
#[tauri::command]
pub async fn live_stop(app: AppHandle, live: State<'_, LiveState>) -> AppResult<StopResult> {
    let _op = live.ops.lock().await;
    let ctl = live.ctl.clone();
    let r = blocking(move || ctl.stop()).await.map(|s| stop_result(None, s));
    if r.is_ok() {
        *live.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
    crate::tray::update(&app, &live.status());
    crate::appstate::refresh(&app);
    r
}

/// Adds a bookmark to the running recording, saved at once.
#[tauri::command(async)]
pub fn live_bookmark(live: State<'_, LiveState>, label: Option<String>) -> AppResult<Bookmark> {
    live.ctl.bookmark(label.as_deref()).map_err(media)
}

/// Changes the beauty filter on the running preview or job, from the next frame.
#[tauri::command]
pub fn live_set_beauty(live: State<'_, LiveState>, smooth: u8, whiten: u8) -> AppResult<bool> {
    live.ctl.set_beauty(BeautyParams::new(smooth.min(100), whiten.min(100))).map_err(media)
}

/// The mixer: audio source `index`'s volume (1.0 = unity, up to 2.0) and
/// mute, on the preview or the running job at once.
#[tauri::command]
pub fn live_set_fader(live: State<'_, LiveState>, index: usize, volume: f32, muted: bool) -> AppResult<()> {
    live.ctl.set_fader(index, volume, muted).map_err(media)
}

#[tauri::command]
pub fn live_status(live: State<'_, LiveState>) -> LiveStatus {
    live.status()
}

/// Cameras, microphones, screens and encoders, for the source pickers.
#[tauri::command]
pub async fn live_devices() -> AppResult<onair_media::devices::DeviceList> {
    tauri::async_runtime::spawn_blocking(onair_media::devices::list).await.map_err(|e| AppError::Internal(e.to_string()))
}

/// Saves an RTMP stream key for an ingest URL in the OS keychain (a 0600
/// file when there is none). Returns where it went, for the UI to say.
/// (`async`: a keychain may take a while to answer over D-Bus.)
#[tauri::command(async)]
pub fn live_save_key(state: State<'_, AppState>, url: String, key: String) -> AppResult<crate::secrets::Stored> {
    crate::secrets::save_stream_key(&state.home, &url, &key)
}

/// Whether a key is saved for this URL (never the key itself).
#[tauri::command(async)]
pub fn live_has_key(state: State<'_, AppState>, url: String) -> AppResult<bool> {
    Ok(crate::secrets::load_stream_key(&state.home, &url)?.is_some())
}

/// Rooms the signed-in user can go live into, and creating one.
#[tauri::command]
pub async fn live_rooms(state: State<'_, AppState>, all: bool) -> AppResult<Vec<onair_chat::rooms::RoomInfo>> {
    crate::rooms::list(&state.home, &state.relay.url, all).await
}

#[tauri::command]
pub async fn live_room_create(state: State<'_, AppState>, title: String, category: Option<String>, private: Option<bool>) -> AppResult<onair_chat::rooms::RoomKey> {
    let new = onair_chat::rooms::NewRoom { title, category: category.unwrap_or_default(), private: private.unwrap_or(false), ladder: None };
    crate::rooms::create(&state.home, &state.relay.url, new).await
}

/// A new stream key for a room the user owns, shown this once; a live on
/// the old key ends.
#[tauri::command]
pub async fn live_room_rotate(state: State<'_, AppState>, room: String) -> AppResult<onair_chat::rooms::RoomKey> {
    crate::rooms::rotate(&state.home, &state.relay.url, &room).await
}

/// `PREFIX-YYYY-MM-DD_HH-MM-SS.mp4` (UTC), the controller's naming, for
/// recordings the app starts outside Go live (calls).
pub(crate) fn recording_file_name(prefix: &str) -> String {
    onair_media::golive::recording_name(prefix, onair_media::library::unix_now())
}

/// Emits `live://stats` twice a second and stops jobs that ended by
/// themselves (`live://stopped`). Runs for the app's lifetime.
pub fn spawn_ticker(app: AppHandle) {
    let _ = std::thread::Builder::new().name("live-ticker".into()).spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        let live = app.state::<LiveState>();
        // The controller skips a beat while a start or stop is under way.
        if let Some((reason, res)) = live.ctl.finish_if_ended() {
            *live.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
            match res {
                Ok(s) => {
                    let _ = app.emit("live://stopped", &stop_result(Some(reason.to_string()), s));
                }
                Err(e) => tracing::warn!("stopping a finished job: {e}"),
            }
            crate::tray::update(&app, &live.status());
        }
        let _ = app.emit("live://stats", live.status());
        crate::appstate::refresh(&app);
    });
}

/// On exit: stop whatever runs, so a recording is finalised.
pub async fn shutdown(live: &LiveState) -> AppResult<()> {
    let _op = live.ops.lock().await;
    let ctl = live.ctl.clone();
    blocking(move || ctl.shutdown()).await?;
    Ok(())
}

/// Hotkey: start or stop recording (with the last sources; the test source
/// when nothing was set up yet).
pub async fn toggle_recording(app: AppHandle) -> AppResult<&'static str> {
    let live = app.state::<LiveState>();
    if live.running() {
        live_stop(app.clone(), live).await?;
        return Ok("stopped");
    }
    let mut req = live.last_request.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or(LiveRequest {
        sources: Sources { video: "test".into(), overlay: None, overlay_corner: default_corner(), overlay_size: 25, audio: "test".into(), preset: default_preset(), smooth: 0, whiten: 0, looped: true },
        destination: Destination::None,
        destinations: Vec::new(),
        record: true,
    });
    req.destination = Destination::None;
    req.destinations.clear();
    req.record = true;
    live_start(app.clone(), live, req).await?;
    Ok("recording")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_controllers() {
        // One naming for both front doors: the CLI's `onair record` and the
        // app's Go live both call onair_media::golive (tests/golive.rs).
        let before = onair_media::library::unix_now();
        let n = recording_file_name("onair");
        let after = onair_media::library::unix_now();
        assert!(n == onair_media::golive::recording_name("onair", before) || n == onair_media::golive::recording_name("onair", after), "{n}");
        assert_eq!(n.len(), "onair-2026-11-21_17-30-00.mp4".len(), "{n}");
    }

    #[test]
    fn requests_parse_from_the_ui_shape() {
        let r: LiveRequest = serde_json::from_value(serde_json::json!({
            "sources": {"video": "test", "audio": "none", "overlay": "test"},
            "destination": {"kind": "rtmp", "url": "rtmp://127.0.0.1/live"},
            "record": true
        }))
        .unwrap();
        let cfg = parse_sources(&r.sources).unwrap();
        assert!(cfg.overlay.is_some());
        assert_eq!(cfg.encoding.preset.name, "720p30");
        assert!(parse_sources(&Sources { video: "bogus".into(), ..r.sources }).is_err());
    }
}
