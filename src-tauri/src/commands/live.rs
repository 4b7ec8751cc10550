//! Go live: the preview, start/stop, beauty, bookmarks and `live://stats`.
//!
//! The state machine is media's [`GoLive`] controller, the one `onair live`
//! drives too (preview → start → stop, auto-stop, recording names): a
//! preview while the user sets up, replaced by the full job (RTMP and/or
//! recording, same preview tap) on Start. Its transitions block, so they run
//! on blocking threads; a ticker thread emits `live://stats` twice a second
//! and lets the controller stop a job that ended by itself (source ended,
//! disk full, failure), emitting `live://stopped`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

use crate::commands::chat::ChatState;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::video::encode_preview;
use onair_chat::net::{Http, RelayUrl};
use onair_proto::Request;

/// Widest preview frame sent to the page (pixels), and its frame-rate cap.
const PREVIEW_MAX_W: u32 = 640;
const PREVIEW_FPS: u32 = 30;

/// What to capture (the sources part of a Go live request).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Sources {
    /// `test`, `camera[:N]`, `screen[:DISPLAY]`, `file:PATH` or `none`.
    pub video: String,
    /// A second video layer in a corner (picture-in-picture).
    #[serde(default)]
    #[cfg_attr(test, ts(optional = nullable))]
    pub overlay: Option<String>,
    #[serde(default = "default_corner")]
    #[cfg_attr(test, ts(as = "Option<String>", optional))]
    pub overlay_corner: String,
    #[serde(default = "default_overlay_size")]
    #[cfg_attr(test, ts(as = "Option<u32>", optional))]
    pub overlay_size: u32,
    /// `test`, `mic[:N]`, `file:PATH` or `none`.
    pub audio: String,
    /// `480p30`, `720p30`, `1080p30`, `1080p60`.
    #[serde(default = "default_preset")]
    #[cfg_attr(test, ts(as = "Option<String>", optional))]
    pub preset: String,
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<u8>", optional))]
    pub smooth: u8,
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<u8>", optional))]
    pub whiten: u8,
    /// Loop file sources.
    #[serde(default = "yes")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub looped: bool,
    /// The camera's mode (`1280x720@30`, Settings → Devices); None: the
    /// mode closest to the preset.
    #[serde(default)]
    #[cfg_attr(test, ts(optional = nullable))]
    pub camera_mode: Option<String>,
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
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// Record only.
    None,
    /// A room on the relay the app uses (the embedded one by default).
    Room { room: String },
    /// Any RTMP(S) ingest; the key comes from the keychain (saved with
    /// `live_save_key`) unless given here.
    Rtmp {
        url: String,
        #[serde(default)]
        #[cfg_attr(test, ts(optional = nullable))]
        key: Option<String>,
    },
}

/// A Go live request.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LiveRequest {
    pub sources: Sources,
    pub destination: Destination,
    /// More destinations fed by the same encode (Go live's list: another
    /// RTMP(S) ingest such as Twitch, YouTube or Kick), each with its own
    /// connection, state and counters.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<Destination>>", optional))]
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
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LiveStatus {
    /// `idle`, `preview`, `running`, or `stopping` while Stop finalises the
    /// recording.
    #[cfg_attr(test, ts(type = "\"idle\" | \"preview\" | \"running\" | \"stopping\""))]
    pub state: &'static str,
    pub live: bool,
    pub recording: bool,
    /// The ingest, with any key masked.
    pub target: Option<String>,
    pub stats: Option<StatsSnapshot>,
    pub sources: Vec<String>,
    /// When the running job started (Unix ms); None for a preview.
    #[cfg_attr(test, ts(as = "Option<f64>"))]
    pub started_ms: Option<u64>,
    /// What the running job was started with, so a screen opened later
    /// shows the job's own sources and destination, not its defaults.
    pub request: Option<LiveRequest>,
    /// The audio mixer: each source's volume, mute and level (preview or job).
    pub mixer: Vec<onair_media::source::fader::FaderView>,
    /// How many fader changes `mixer` shows: the screen ignores a report
    /// older than the change it just made (`live_set_fader`'s answer).
    #[cfg_attr(test, ts(as = "f64"))]
    pub mixer_gen: u64,
    /// Live into a room: its audience now and at its peak (the cockpit).
    pub audience: Option<Audience>,
}

/// The cockpit's audience figures for the room being streamed to, asked of
/// the relay every [`AUDIENCE_EVERY`] while the job runs.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Audience {
    pub room: String,
    /// People watching now: the larger of open streams and the room's chat,
    /// the streamer's own place in the chat not counted.
    pub viewers: u32,
    /// The most `viewers` seen during this live.
    pub peak: u32,
    pub stream_viewers: u32,
    pub chat_viewers: u32,
    /// People following the room or the streamer.
    pub followers: u32,
    /// When the relay last answered (Unix ms); None before its first answer.
    #[cfg_attr(test, ts(as = "Option<f64>"))]
    pub updated_ms: Option<u64>,
    /// The last failure to ask, in words (kept until an answer comes).
    pub error: Option<String>,
}

/// How often the cockpit's viewer count is refreshed.
const AUDIENCE_EVERY: Duration = Duration::from_secs(2);

/// What Stop reports (also the `live://stopped` payload).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
    /// The cockpit's audience of the running live into a room.
    audience: Mutex<Option<Audience>>,
    /// Bumped on each start and stop: an audience poller of an older live ends.
    audience_gen: AtomicU64,
    /// Whether the cockpit joined the room's chat (the streamer is then one
    /// of its `chat_viewers`, but no viewer).
    owner_in_chat: AtomicBool,
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
            mixer_gen: st.mixer_gen,
            audience: if running { self.audience.lock().unwrap_or_else(|p| p.into_inner()).clone() } else { None },
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
        camera_mode: s.camera_mode.as_deref().map(str::parse).transpose().map_err(|e: MediaError| AppError::Invalid(format!("camera mode: {e}")))?,
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
    // What starts, never with a key or URL (either may hold a secret).
    tracing::info!("go live: starting ({} destination(s), recording {})", cfg.live.len(), request.record);
    if let Err(e) = blocking(move || ctl.start(cfg, Some(library), Some(tap))).await {
        tracing::warn!("go live: the start failed: {e}");
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
    tracing::info!("go live: started");
    spawn_preview_pump(&app, rx);
    let gen = live.audience_gen.fetch_add(1, Ordering::SeqCst) + 1;
    // The cockpit joins this live's chat anew.
    live.owner_in_chat.store(false, Ordering::Relaxed);
    let room = request.all_destinations().find_map(|d| match d {
        Destination::Room { room } => Some(room.clone()),
        _ => None,
    });
    *live.audience.lock().unwrap_or_else(|p| p.into_inner()) = room.clone().map(|room| Audience { room, ..Default::default() });
    if let Some(room) = room {
        spawn_audience(app.clone(), gen, room);
    }
    remember_sources(&app, &request.sources);
    *live.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(request.clone());
    *live.last_request.lock().unwrap_or_else(|p| p.into_inner()) = Some(request);
    let status = live.status();
    crate::tray::update(&app, &status);
    crate::appstate::refresh(&app);
    Ok(status)
}

/// Keeps the sources a job started with in `app.json` (this machine's),
/// for the next visit to Go live. A file that cannot be written costs
/// only the memory, never the live.
fn remember_sources(app: &AppHandle, sources: &Sources) {
    let home = app.state::<AppState>().home.clone();
    let r = crate::state::AppSettings::load(&home).and_then(|mut s| {
        s.golive_sources = Some(sources.clone());
        s.save(&home)
    });
    if let Err(e) = r {
        tracing::warn!("remembering Go live's sources: {e}");
    }
}

/// The sources Go live last started with on this machine, if any.
#[tauri::command]
pub fn live_remembered(state: State<'_, AppState>) -> AppResult<Option<Sources>> {
    Ok(crate::state::AppSettings::load(&state.home)?.golive_sources)
}

/// Stops the running job (finalising the recording) and returns what it made.
#[tauri::command]
pub async fn live_stop(app: AppHandle, live: State<'_, LiveState>) -> AppResult<StopResult> {
    let _op = live.ops.lock().await;
    let ctl = live.ctl.clone();
    let r = blocking(move || ctl.stop()).await.map(|s| stop_result(None, s));
    if r.is_ok() {
        *live.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
        live.audience_gen.fetch_add(1, Ordering::SeqCst);
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
/// mute, on the preview or the running job at once. Answers the change's
/// generation ([`LiveStatus::mixer_gen`]).
#[tauri::command]
pub fn live_set_fader(live: State<'_, LiveState>, index: usize, volume: f32, muted: bool) -> AppResult<u64> {
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

/// Asks the relay for the room's viewer counts every [`AUDIENCE_EVERY`]
/// until this live ends (a newer start or a stop bumps the generation),
/// keeping the peak of this live.
fn spawn_audience(app: AppHandle, gen: u64, room: String) {
    tauri::async_runtime::spawn(async move {
        loop {
            let live = app.state::<LiveState>();
            if live.audience_gen.load(Ordering::SeqCst) != gen || !live.running() {
                return;
            }
            let answer = {
                let st = app.state::<AppState>();
                let token = onair_chat::account::load(&st.home).ok().map(|c| c.token);
                match RelayUrl::parse(&st.relay.url) {
                    Ok(url) => onair_chat::rooms::room(&Http::new(url), token.as_deref(), &room).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            };
            if live.audience_gen.load(Ordering::SeqCst) != gen {
                return;
            }
            let owner_in_chat = live.owner_in_chat.load(Ordering::Relaxed);
            if let Some(a) = live.audience.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                match answer {
                    Ok(info) => count_audience(a, &info, owner_in_chat, std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)),
                    Err(e) => a.error = Some(e),
                }
            }
            tokio::time::sleep(AUDIENCE_EVERY).await;
        }
    });
}

/// Folds one answer of the relay into the cockpit's figures.
fn count_audience(a: &mut Audience, info: &onair_chat::rooms::RoomInfo, owner_in_chat: bool, now_ms: u64) {
    let chat = info.chat_viewers.saturating_sub(u32::from(owner_in_chat));
    a.stream_viewers = info.stream_viewers;
    a.chat_viewers = chat;
    a.viewers = info.stream_viewers.max(chat);
    a.peak = a.peak.max(a.viewers);
    a.followers = info.followers;
    a.updated_ms = Some(now_ms);
    a.error = None;
}

/// The cockpit joins the chat of the room it streams to (the Watch
/// screen's join, on the chat listener's socket); comments then arrive as
/// `chat://event`.
#[tauri::command]
pub async fn live_chat_join(app: AppHandle, live: State<'_, LiveState>, room: String) -> AppResult<crate::commands::watch::RoomJoined> {
    if app.state::<ChatState>().me().is_err() && !crate::commands::chat::resume(&app)? {
        return Err(AppError::NotSignedIn);
    }
    let chat = app.state::<ChatState>();
    let joined = crate::commands::watch::watch_join(chat, room).await?;
    live.owner_in_chat.store(true, Ordering::Relaxed);
    Ok(joined)
}

/// The room's owner silences (`muted`) or lets speak again a user in its chat.
#[tauri::command]
pub async fn live_chat_mute(chat: State<'_, ChatState>, room: String, user: String, muted: bool) -> AppResult<()> {
    let req = if muted { Request::RoomMute { room, user } } else { Request::RoomUnmute { room, user } };
    chat.request(req).await.map(|_| ())
}

/// The room's owner removes a user from its chat for `secs` (the relay's
/// default when absent; at most a day: the relay has no lasting ban).
#[tauri::command]
pub async fn live_chat_kick(chat: State<'_, ChatState>, room: String, user: String, secs: Option<u32>) -> AppResult<()> {
    chat.request(Request::RoomKick { room, user, secs }).await.map(|_| ())
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
            live.audience_gen.fetch_add(1, Ordering::SeqCst);
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
        sources: Sources { video: "test".into(), overlay: None, overlay_corner: default_corner(), overlay_size: 25, audio: "test".into(), preset: default_preset(), smooth: 0, whiten: 0, looped: true, camera_mode: None },
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

    #[test]
    fn the_audience_leaves_the_streamer_out_and_keeps_the_peak() {
        let info = |streams: u32, chat: u32| {
            serde_json::from_value::<onair_chat::rooms::RoomInfo>(serde_json::json!({
                "id": "r", "title": "t", "category": "", "owner": "alice", "live": true, "started_at": 1,
                "clock_anchor_ms": null, "hls_path": "", "flv_path": "", "mp4_path": "",
                "viewers": streams.max(chat), "stream_viewers": streams, "chat_viewers": chat
            }))
            .unwrap()
        };
        let mut a = Audience { room: "r".into(), ..Default::default() };
        // The streamer alone in the chat is nobody watching.
        count_audience(&mut a, &info(0, 1), true, 1);
        assert_eq!((a.viewers, a.peak), (0, 0));
        count_audience(&mut a, &info(2, 2), true, 2);
        assert_eq!((a.viewers, a.peak, a.chat_viewers), (2, 2, 1));
        count_audience(&mut a, &info(0, 2), true, 3);
        assert_eq!((a.viewers, a.peak), (1, 2));
        count_audience(&mut a, &info(0, 2), false, 4);
        assert_eq!((a.viewers, a.peak, a.updated_ms), (2, 2, Some(4)));
        // Followers come from the room's directory entry (issue 17).
        let mut v = serde_json::to_value(info(0, 0)).unwrap();
        v["followers"] = 7.into();
        count_audience(&mut a, &serde_json::from_value(v).unwrap(), false, 5);
        assert_eq!(a.followers, 7);
    }
}
