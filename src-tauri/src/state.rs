//! What every command shares: where the data lives, which relay to talk to
//! (the embedded one by default), the loopback video server's port and
//! token, and the recording library. Screens with state of their own keep
//! it in their own managed struct (see `commands/live.rs`), not here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use onair_media::library::Library;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::relay::EmbeddedRelay;
use crate::video::VideoServer;

/// The app's own settings file, `$ONAIR_HOME/app.json`. Screens add fields
/// (with `#[serde(default)]`) as they need them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppSettings {
    /// A relay to use instead of the embedded one (https://host[:port]).
    #[serde(default)]
    pub relay_url: Option<String>,
    /// Allow plain http:// to a relay on another machine (unencrypted).
    #[serde(default)]
    pub insecure_http: bool,
    /// Global hotkeys (Settings); None: the defaults.
    #[serde(default)]
    pub hotkeys: Option<crate::commands::settings::Hotkeys>,
    /// Calls send the microphone unprocessed (no echo cancellation, noise
    /// suppression or gain control); off by default.
    #[serde(default)]
    pub no_audio_processing: bool,
    /// This machine's camera, microphone and speaker (Settings → Devices).
    #[serde(default)]
    pub devices: Option<crate::commands::devices::DeviceChoice>,
    /// The sources Go live last started with on this machine: the screen
    /// puts them back on the next visit (a window by its title).
    #[serde(default)]
    pub golive_sources: Option<crate::commands::live::Sources>,
}

impl AppSettings {
    pub fn path(home: &Path) -> PathBuf {
        home.join("app.json")
    }

    /// Missing file → defaults; a corrupt file is an error the user sees.
    pub fn load(home: &Path) -> AppResult<Self> {
        match std::fs::read(Self::path(home)) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| AppError::Invalid(format!("{}: {e}", Self::path(home).display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(AppError::io(format!("reading {}", Self::path(home).display()), e)),
        }
    }

    pub fn save(&self, home: &Path) -> AppResult<()> {
        let p = Self::path(home);
        let tmp = p.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(self).map_err(|e| AppError::Internal(e.to_string()))?;
        std::fs::write(&tmp, body).and_then(|_| std::fs::rename(&tmp, &p)).map_err(|e| AppError::io(format!("writing {}", p.display()), e))
    }
}

/// Which relay the app talks to.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RelayInfo {
    /// http://127.0.0.1:PORT for the embedded relay.
    pub url: String,
    /// True when this process runs the relay itself.
    pub embedded: bool,
}

pub struct AppState {
    /// `$ONAIR_HOME` (default ~/.local/share/onair): library, chat caches,
    /// credentials, the embedded relay's data under `relay/`.
    pub home: PathBuf,
    pub relay: RelayInfo,
    pub video: VideoServer,
    pub library: Arc<Library>,
    /// Kept so the embedded relay stops with the app.
    pub embedded_relay: Option<EmbeddedRelay>,
}

/// What the UI learns at start (`app_info`).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppInfo {
    pub home: PathBuf,
    pub relay: RelayInfo,
    /// Loopback port of the video/media server, and the per-launch token
    /// the page passes as `?token=` (the CSP allows ws://127.0.0.1:*).
    pub video_port: u16,
    pub video_token: String,
    pub version: &'static str,
    /// This process, and when it started (Unix ms): the benchmark measures
    /// cold start and the memory of the app's process tree from them.
    pub pid: u32,
    pub started_ms: f64,
}

/// When `run()` began, Unix ms.
pub static STARTED_MS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();

pub fn unix_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

impl AppState {
    pub fn info(&self) -> AppInfo {
        AppInfo {
            home: self.home.clone(),
            relay: self.relay.clone(),
            video_port: self.video.port,
            video_token: self.video.token.clone(),
            version: env!("CARGO_PKG_VERSION"),
            pid: std::process::id(),
            started_ms: STARTED_MS.get().copied().unwrap_or(0.0),
        }
    }
}

impl AppState {
    /// Recording thumbnails, made on demand.
    pub fn thumbs_dir(&self) -> PathBuf {
        self.home.join("thumbs")
    }
}
