//! The Settings screen's commands: where data lives, which relay the app
//! uses (the embedded one unless set), and the global hotkeys. Devices and
//! retention reuse the Go live and Recordings commands (`live_devices`,
//! `recordings_retention`); the account is the Chat screen's.

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, State};

use crate::error::{AppError, AppResult};
use crate::state::{AppSettings, AppState, RelayInfo};

/// The hotkeys, as accelerators ("CommandOrControl+Shift+R").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Hotkeys {
    pub record: String,
    pub bookmark: String,
}

impl Default for Hotkeys {
    fn default() -> Self {
        Hotkeys { record: "CommandOrControl+Shift+R".into(), bookmark: "CommandOrControl+Shift+B".into() }
    }
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SettingsView {
    /// `$ONAIR_HOME`: recordings, chat caches, credentials, the embedded relay's data.
    pub home: String,
    /// The relay in use now.
    pub relay: RelayInfo,
    /// The relay saved in settings (used from the next start), if any.
    pub relay_setting: Option<String>,
    /// ONAIR_RELAY_URL overrides the setting for this process.
    pub relay_env: Option<String>,
    /// Plain http:// to a remote relay is allowed (the user asked for it).
    pub insecure_http: bool,
    pub hotkeys: Hotkeys,
    /// Calls clean the microphone (echo cancellation, noise suppression, gain control).
    pub audio_processing: bool,
    pub version: &'static str,
}

#[tauri::command]
pub fn settings_get(state: State<'_, AppState>) -> AppResult<SettingsView> {
    let s = AppSettings::load(&state.home)?;
    Ok(SettingsView {
        home: state.home.display().to_string(),
        relay: state.relay.clone(),
        relay_setting: s.relay_url.clone(),
        relay_env: std::env::var("ONAIR_RELAY_URL").ok().filter(|u| !u.is_empty()),
        insecure_http: s.insecure_http,
        hotkeys: s.hotkeys.clone().unwrap_or_default(),
        audio_processing: !s.no_audio_processing,
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Saves the relay to use from the next start (None: the embedded relay).
/// Returns whether a restart is needed for it to take effect.
#[tauri::command]
pub fn settings_set_relay(state: State<'_, AppState>, url: Option<String>, insecure_http: Option<bool>) -> AppResult<bool> {
    let url = url.map(|u| u.trim().trim_end_matches('/').to_string()).filter(|u| !u.is_empty());
    let mut s = AppSettings::load(&state.home)?;
    let insecure = insecure_http.unwrap_or(s.insecure_http);
    if insecure {
        onair_chat::net::allow_insecure_http(true);
    }
    if let Some(u) = &url {
        onair_chat::net::RelayUrl::parse(u)?;
    }
    s.insecure_http = insecure;
    s.relay_url = url.clone();
    s.save(&state.home)?;
    let now = if state.relay.embedded { None } else { Some(state.relay.url.clone()) };
    Ok(now != url)
}

/// Saves and applies the global hotkeys (record toggle, bookmark).
#[tauri::command]
pub fn settings_set_hotkeys(app: AppHandle, hotkeys: Hotkeys) -> AppResult<Hotkeys> {
    for (what, acc) in [("record", &hotkeys.record), ("bookmark", &hotkeys.bookmark)] {
        acc.parse::<tauri_plugin_global_shortcut::Shortcut>().map_err(|e| AppError::Invalid(format!("{what} hotkey {acc:?}: {e}")))?;
    }
    if hotkeys.record.eq_ignore_ascii_case(&hotkeys.bookmark) {
        return Err(AppError::Invalid("record and bookmark need different hotkeys".into()));
    }
    let home = app.state::<AppState>().home.clone();
    let mut s = AppSettings::load(&home)?;
    s.hotkeys = Some(hotkeys.clone());
    s.save(&home)?;
    crate::tray::register_hotkeys(&app);
    Ok(hotkeys)
}

/// Turns the calls' audio processing on or off (from the next call).
#[tauri::command]
pub fn settings_set_audio_processing(state: State<'_, AppState>, on: bool) -> AppResult<bool> {
    let mut s = AppSettings::load(&state.home)?;
    s.no_audio_processing = !on;
    s.save(&state.home)?;
    Ok(on)
}
