//! Go live: the preview, start/stop, beauty, bookmarks and `live://stats`.
//!
//! One [`onair_media::pipeline::Pipeline`] runs at a time: a preview-only one
//! while the user sets up (captures and composes, encodes nothing), replaced
//! by a full one (RTMP and/or recording, same preview tap) on Start. Pipeline
//! starts and stops block, so they run on blocking threads; a ticker thread
//! emits `live://stats` twice a second and stops a job that ended by itself
//! (source ended, disk full, failure), emitting `live://stopped`.

use std::sync::Mutex;
use std::time::Duration;

use onair_beauty::BeautyParams;
use onair_media::compose::{Corner, Placement};
use onair_media::encode::{EncodingConfig, Preset};
use onair_media::library::Bookmark;
use onair_media::output::url::{redact, IngestUrl};
use onair_media::pipeline::{Limits, OverlayConfig, Pipeline, PipelineConfig, RecordingResult};
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
    pub record: bool,
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

struct Session {
    pipeline: Pipeline,
    preview_only: bool,
    live_target: Option<String>,
    started_ms: Option<u64>,
    request: Option<LiveRequest>,
}

/// The Go live screen's state (managed by Tauri).
#[derive(Default)]
pub struct LiveState {
    session: Mutex<Option<Session>>,
    /// The last request started, for the start/stop-recording hotkey.
    pub last_request: Mutex<Option<LiveRequest>>,
    /// Serialises start/stop so two clicks cannot race.
    ops: tokio::sync::Mutex<()>,
    /// Set while Stop finalises (the session is already taken out).
    stopping: std::sync::atomic::AtomicBool,
}

impl LiveState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Session>> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn status(&self) -> LiveStatus {
        match self.lock().as_ref() {
            None if self.stopping.load(std::sync::atomic::Ordering::Relaxed) => LiveStatus { state: "stopping", ..Default::default() },
            None => LiveStatus { state: "idle", ..Default::default() },
            Some(s) => LiveStatus {
                state: if s.preview_only { "preview" } else { "running" },
                live: s.live_target.is_some(),
                recording: s.pipeline.is_recording(),
                target: s.live_target.clone(),
                stats: Some(s.pipeline.stats()),
                sources: s.pipeline.sources().to_vec(),
                started_ms: s.started_ms,
                request: s.request.clone(),
            },
        }
    }

    fn take(&self) -> Option<Session> {
        self.lock().take()
    }
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

/// Starts a pipeline on a blocking thread, wiring the preview tap.
async fn start_pipeline(app: &AppHandle, cfg: PipelineConfig, with_library: bool) -> AppResult<Pipeline> {
    let (tap, rx) = preview::channel(PREVIEW_FPS);
    let library = with_library.then(|| app.state::<AppState>().library.clone());
    let p = tauri::async_runtime::spawn_blocking(move || Pipeline::start_with_preview(cfg, library, Some(tap)))
        .await
        .map_err(|e| AppError::Internal(format!("starting the pipeline: {e}")))??;
    spawn_preview_pump(app, rx);
    Ok(p)
}

/// Stops a pipeline on a blocking thread (finalises the recording).
async fn stop_pipeline(s: Session, reason: Option<String>) -> AppResult<StopResult> {
    let summary = tauri::async_runtime::spawn_blocking(move || s.pipeline.stop())
        .await
        .map_err(|e| AppError::Internal(format!("stopping the pipeline: {e}")))??;
    crate::heap::trim();
    Ok(StopResult { reason, recording: summary.recording, stats: summary.stats, errors: summary.errors })
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
    if live.lock().as_ref().is_some_and(|s| !s.preview_only) {
        return Err(AppError::State("stop first: the sources cannot change while live or recording".into()));
    }
    if let Some(old) = live.take() {
        stop_pipeline(old, None).await?;
    }
    let cfg = parse_sources(&sources)?;
    let p = start_pipeline(&app, cfg, false).await?;
    *live.lock() = Some(Session { pipeline: p, preview_only: true, live_target: None, started_ms: None, request: None });
    Ok(live.status())
}

/// Stops the preview (leaving the screen); a running job is left alone.
#[tauri::command]
pub async fn live_preview_stop(live: State<'_, LiveState>) -> AppResult<LiveStatus> {
    let _op = live.ops.lock().await;
    let old = {
        let mut g = live.lock();
        if g.as_ref().is_some_and(|s| s.preview_only) {
            g.take()
        } else {
            None
        }
    };
    if let Some(old) = old {
        stop_pipeline(old, None).await?;
    }
    Ok(live.status())
}

/// Goes live and/or starts recording.
#[tauri::command]
pub async fn live_start(app: AppHandle, live: State<'_, LiveState>, request: LiveRequest) -> AppResult<LiveStatus> {
    let _op = live.ops.lock().await;
    if live.lock().as_ref().is_some_and(|s| !s.preview_only) {
        return Err(AppError::State("already running: stop first".into()));
    }
    if matches!(request.destination, Destination::None) && !request.record {
        return Err(AppError::Invalid("choose a destination or turn recording on".into()));
    }
    let mut cfg = parse_sources(&request.sources)?;
    cfg.live = resolve_destination(&app, &request.destination).await?.map(onair_media::pipeline::Destination::new).into_iter().collect();
    let live_target = cfg.live.first().map(|d| redact(d.url.expose()));
    if request.record {
        let lib = app.state::<AppState>().library.clone();
        let name = chrono_like_name();
        cfg.record = Some(lib.recordings_dir().join(name));
    }
    // The preview pipeline holds the devices: release them first.
    if let Some(old) = live.take() {
        stop_pipeline(old, None).await?;
    }
    let p = match start_pipeline(&app, cfg, true).await {
        Ok(p) => p,
        Err(e) => {
            // The preview was let go for the job: bring it back, so the
            // screen does not freeze on the failure (the error still shows).
            if let Ok(cfg) = parse_sources(&request.sources) {
                match start_pipeline(&app, cfg, false).await {
                    Ok(p) => *live.lock() = Some(Session { pipeline: p, preview_only: true, live_target: None, started_ms: None, request: None }),
                    Err(pe) => tracing::warn!("preview after a failed start: {pe}"),
                }
            }
            crate::appstate::refresh(&app);
            return Err(e);
        }
    };
    let started_ms = crate::state::unix_ms() as u64;
    *live.lock() = Some(Session { pipeline: p, preview_only: false, live_target, started_ms: Some(started_ms), request: Some(request.clone()) });
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
    live.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
    let Some(s) = live.take() else {
        live.stopping.store(false, std::sync::atomic::Ordering::Relaxed);
        return Err(AppError::State("nothing is running".into()));
    };
    let r = stop_pipeline(s, None).await;
    live.stopping.store(false, std::sync::atomic::Ordering::Relaxed);
    crate::tray::update(&app, &live.status());
    crate::appstate::refresh(&app);
    r
}

/// Adds a bookmark to the running recording, saved at once.
#[tauri::command(async)]
pub fn live_bookmark(live: State<'_, LiveState>, label: Option<String>) -> AppResult<Bookmark> {
    let g = live.lock();
    let s = g.as_ref().filter(|s| s.pipeline.is_recording()).ok_or_else(|| AppError::State("bookmarks need a recording in progress".into()))?;
    Ok(s.pipeline.bookmark(label.as_deref().filter(|l| !l.is_empty()))?)
}

/// Changes the beauty filter on the running preview or job, from the next frame.
#[tauri::command]
pub fn live_set_beauty(live: State<'_, LiveState>, smooth: u8, whiten: u8) -> AppResult<bool> {
    let g = live.lock();
    let s = g.as_ref().ok_or_else(|| AppError::State("nothing is running".into()))?;
    Ok(s.pipeline.set_beauty(BeautyParams::new(smooth.min(100), whiten.min(100))))
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
    let new = onair_chat::rooms::NewRoom { title, category: category.unwrap_or_default(), private: private.unwrap_or(false) };
    crate::rooms::create(&state.home, &state.relay.url, new).await
}

/// A new stream key for a room the user owns, shown this once; a live on
/// the old key ends.
#[tauri::command]
pub async fn live_room_rotate(state: State<'_, AppState>, room: String) -> AppResult<onair_chat::rooms::RoomKey> {
    crate::rooms::rotate(&state.home, &state.relay.url, &room).await
}

/// A file name for a new recording: `onair-YYYYmmdd-HHMMSS.mp4` (UTC).
fn chrono_like_name() -> String {
    recording_file_name("onair")
}

/// `PREFIX-YYYYmmdd-HHMMSS.mp4` (UTC), for recordings the app starts.
pub(crate) fn recording_file_name(prefix: &str) -> String {
    let stamp: String = onair_media::library::utc_stamp(onair_media::library::unix_now(), "-").chars().filter(|c| *c != ':').collect();
    // "YYYY-MM-DD-HHMMSS" → "YYYYMMDD-HHMMSS"
    format!("{prefix}-{}{}{}.mp4", &stamp[0..4], &stamp[5..7], &stamp[8..])
}

/// Emits `live://stats` twice a second and stops jobs that ended by
/// themselves (`live://stopped`). Runs for the app's lifetime.
pub fn spawn_ticker(app: AppHandle) {
    let _ = std::thread::Builder::new().name("live-ticker".into()).spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        let live = app.state::<LiveState>();
        let ended = {
            let g = live.lock();
            g.as_ref().filter(|s| !s.preview_only).and_then(|s| s.pipeline.poll())
        };
        if let Some(reason) = ended {
            let s = {
                let Ok(_op) = live.ops.try_lock() else { continue };
                live.take()
            };
            if let Some(s) = s {
                let res = tauri::async_runtime::block_on(stop_pipeline(s, Some(reason.to_string())));
                match res {
                    Ok(r) => {
                        let _ = app.emit("live://stopped", &r);
                    }
                    Err(e) => tracing::warn!("stopping a finished job: {e}"),
                }
                crate::tray::update(&app, &live.status());
            }
        }
        let _ = app.emit("live://stats", live.status());
        crate::appstate::refresh(&app);
    });
}

/// On exit: stop whatever runs, so a recording is finalised.
pub async fn shutdown(live: &LiveState) -> AppResult<()> {
    let _op = live.ops.lock().await;
    if let Some(s) = live.take() {
        stop_pipeline(s, Some("the app closed".into())).await?;
    }
    Ok(())
}

/// Hotkey: start or stop recording (with the last sources; the test source
/// when nothing was set up yet).
pub async fn toggle_recording(app: AppHandle) -> AppResult<&'static str> {
    let live = app.state::<LiveState>();
    if live.lock().as_ref().is_some_and(|s| !s.preview_only) {
        live_stop(app.clone(), live).await?;
        return Ok("stopped");
    }
    let mut req = live.last_request.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or(LiveRequest {
        sources: Sources { video: "test".into(), overlay: None, overlay_corner: default_corner(), overlay_size: 25, audio: "test".into(), preset: default_preset(), smooth: 0, whiten: 0, looped: true },
        destination: Destination::None,
        record: true,
    });
    req.destination = Destination::None;
    req.record = true;
    live_start(app.clone(), live, req).await?;
    Ok("recording")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time() {
        let n = chrono_like_name();
        assert!(n.starts_with("onair-20") && n.ends_with(".mp4") && n.len() == "onair-20261121-173000.mp4".len(), "{n}");
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
