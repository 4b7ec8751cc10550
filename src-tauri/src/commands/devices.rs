//! Settings → Devices: the camera, microphone and speaker this machine
//! uses (saved in `app.json`, so per machine), and a live microphone level.
//!
//! Choices are kept by the host's own device name (ALSA's PCM name, the
//! camera's name), not by position, so a device plugged in elsewhere keeps
//! its choice; `None` means the system's default device. Go live and Calls
//! turn a choice into a source (`mic:N`, `camera:N`) through `devices_get`;
//! the call's speaker follows `onair_media::speaker::set_preferred`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onair_media::devices::AudioDevice;
use onair_media::source::AudioSource;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, State};

use crate::error::{AppError, AppResult};
use crate::state::{AppSettings, AppState};

/// The event carrying the microphone level.
pub const LEVEL_EVENT: &str = "devices://level";

/// What this machine uses; `None`: the system's default.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DeviceChoice {
    #[serde(default)]
    pub camera: Option<String>,
    #[serde(default)]
    pub microphone: Option<String>,
    #[serde(default)]
    pub speaker: Option<String>,
    /// The camera's mode (`1280x720@30`); None: the one closest to the job's size.
    #[serde(default)]
    #[cfg_attr(test, ts(optional = nullable))]
    pub camera_mode: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Camera {
    pub index: usize,
    pub name: String,
    /// Its modes (`1920x1080@30`, …), largest first; empty when it cannot say.
    pub modes: Vec<String>,
}

/// The pickers' contents: only devices that can be used, and the choice.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DevicesView {
    pub cameras: Vec<Camera>,
    #[cfg_attr(test, ts(as = "Vec<AudioDeviceTs>"))]
    pub microphones: Vec<AudioDevice>,
    #[cfg_attr(test, ts(as = "Vec<AudioDeviceTs>"))]
    pub speakers: Vec<AudioDevice>,
    pub chosen: DeviceChoice,
    /// The source Go live and Calls use for "camera" / "microphone" now
    /// (`camera:N`, `mic:N`; `mic` is the system's default), or None when
    /// there is no such device (then calls send the test pattern).
    pub camera_source: Option<String>,
    pub microphone_source: Option<String>,
    /// The chosen camera's mode when that camera offers it (else None: the
    /// mode closest to the job's size).
    pub camera_mode: Option<String>,
}

/// `onair_media::devices::AudioDevice` as the UI sees it (the media crate
/// carries no ts-rs).
#[cfg(test)]
#[derive(ts_rs::TS)]
#[ts(rename = "AudioDevice")]
pub struct AudioDeviceTs {
    /// What `mic:N` (or the speaker's index) opens.
    pub index: usize,
    /// The host's name for it (ALSA: "default", "pulse", "hw:0,0"): what a choice saves.
    pub id: String,
    pub name: String,
    /// The system's default device.
    pub default: bool,
}

/// `camera:N  Name` lines from the media crate, as rows.
fn cameras() -> Vec<Camera> {
    onair_media::source::camera::list()
        .unwrap_or_default()
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("camera:")?;
            let (i, name) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let index: usize = i.parse().ok()?;
            let modes = onair_media::source::camera::modes(index as u32).unwrap_or_default().iter().map(|m| m.to_string()).collect();
            Some(Camera {
                index,
                modes,
                name: name.trim().to_string(),
            })
        })
        .collect()
}

fn view(chosen: DeviceChoice) -> DevicesView {
    let audio = onair_media::devices::audio();
    let cams = cameras();
    let camera = match &chosen.camera {
        Some(n) => cams.iter().find(|c| &c.name == n).or(cams.first()),
        None => cams.first(),
    };
    let camera_source = camera.map(|c| format!("camera:{}", c.index));
    let camera_mode = camera.and_then(|c| chosen.camera_mode.as_ref().filter(|m| c.modes.contains(m)).cloned());
    let pick = |list: &[AudioDevice], want: &Option<String>| want.as_ref().and_then(|w| list.iter().find(|d| &d.id == w)).map(|d| d.index);
    let microphone_source = match pick(&audio.inputs, &chosen.microphone) {
        Some(i) => Some(format!("mic:{i}")),
        None if !audio.inputs.is_empty() => Some("mic".into()),
        None => None,
    };
    onair_media::speaker::set_preferred(pick(&audio.outputs, &chosen.speaker));
    DevicesView {
        cameras: cams,
        microphones: audio.inputs,
        speakers: audio.outputs,
        chosen,
        camera_source,
        microphone_source,
        camera_mode,
    }
}

/// The devices and this machine's choice (the speaker choice is applied).
#[tauri::command]
pub async fn devices_get(state: State<'_, AppState>) -> AppResult<DevicesView> {
    let chosen = AppSettings::load(&state.home)?.devices.unwrap_or_default();
    tauri::async_runtime::spawn_blocking(move || view(chosen)).await.map_err(|e| AppError::Internal(e.to_string()))
}

/// Saves this machine's choice and returns the pickers again.
#[tauri::command]
pub async fn devices_set(state: State<'_, AppState>, chosen: DeviceChoice) -> AppResult<DevicesView> {
    let mut s = AppSettings::load(&state.home)?;
    let clean = |o: Option<String>| o.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let chosen = DeviceChoice {
        camera: clean(chosen.camera),
        microphone: clean(chosen.microphone),
        speaker: clean(chosen.speaker),
        camera_mode: clean(chosen.camera_mode),
    };
    if let Some(m) = &chosen.camera_mode {
        m.parse::<onair_media::source::camera::CameraMode>().map_err(|e| AppError::Invalid(e.to_string()))?;
    }
    s.devices = Some(chosen.clone());
    s.save(&state.home)?;
    tauri::async_runtime::spawn_blocking(move || view(chosen)).await.map_err(|e| AppError::Internal(e.to_string()))
}

/// `devices://level` payload: the loudest sample of the last 100 ms.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Level {
    /// dBFS, -100 for silence.
    pub dbfs: f32,
}

/// The running meter's stop flag (one meter at a time).
static METER: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

/// Starts (`source`: `mic` or `mic:N`) or stops (None) the microphone
/// level meter; the level arrives as `devices://level` ten times a second.
#[tauri::command]
pub fn devices_meter(app: AppHandle, source: Option<String>) -> AppResult<()> {
    let mut g = METER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(stop) = g.take() {
        stop.store(true, Ordering::Relaxed);
    }
    let Some(source) = source else { return Ok(()) };
    let index = match source.as_str() {
        "mic" => None,
        s => Some(
            s.strip_prefix("mic:")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| AppError::Invalid(format!("{s:?} is not a microphone (mic or mic:N)")))?,
        ),
    };
    let stop = Arc::new(AtomicBool::new(false));
    *g = Some(stop.clone());
    std::thread::Builder::new()
        .name("mic-meter".into())
        .spawn(move || {
            let mut mic = match onair_media::source::mic::MicAudio::open(index, onair_media::frame::Clock::start_now(), stop.clone()) {
                Ok(m) => m,
                Err(e) => return tracing::warn!("level meter: {e}"),
            };
            let (mut peak, mut since) = (0f32, Instant::now());
            while !stop.load(Ordering::Relaxed) {
                match mic.next_chunk() {
                    Ok(Some(f)) => peak = f.samples.iter().fold(peak, |p, s| p.max(s.abs())),
                    Ok(None) => break,
                    Err(e) => return tracing::warn!("level meter: {e}"),
                }
                if since.elapsed() >= Duration::from_millis(100) {
                    let dbfs = if peak > 1e-5 { 20.0 * peak.log10() } else { -100.0 };
                    let _ = app.emit(LEVEL_EVENT, Level { dbfs });
                    (peak, since) = (0.0, Instant::now());
                }
            }
        })
        .map_err(|e| AppError::Internal(format!("starting the level meter: {e}")))?;
    Ok(())
}
