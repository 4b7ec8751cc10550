//! What `onair devices` lists: cameras, microphones, screens and encoders.

use serde::Serialize;

#[derive(Debug, Serialize)]
#[derive(ts_rs::TS)]
pub struct DeviceList {
    pub cameras: Result<Vec<String>, String>,
    pub microphones: Result<Vec<String>, String>,
    pub screens: Vec<String>,
    /// Application windows that `window:` can capture (X11; none where the
    /// window system cannot be asked).
    pub windows: Vec<crate::source::window::WindowInfo>,
    pub video_encoders: Vec<String>,
}

/// Lists devices; a category that cannot be queried says why instead.
pub fn list() -> DeviceList {
    crate::init();
    let mut screens = match std::env::var("DISPLAY") {
        Ok(d) if cfg!(target_os = "linux") && crate::source::portal::wayland_session() => {
            vec![format!("screen:{}  XWayland display {d} (x11grab: X11 windows only)", d.trim_start_matches(':'))]
        }
        Ok(d) if cfg!(target_os = "linux") => vec![format!("screen        X11 display {d} (x11grab)")],
        _ if cfg!(target_os = "linux") => vec![],
        _ => vec!["screen        main display".into()],
    };
    // A Wayland session shares its screen through the desktop's portal:
    // say whether one answers (and whether it offers single windows).
    if cfg!(target_os = "linux") && crate::source::portal::wayland_session() {
        match crate::source::portal::probe() {
            Ok((version, windows)) => {
                screens.insert(0, format!("screen        Wayland screen, picked in the desktop's sharing dialog (xdg-desktop-portal ScreenCast v{version})"));
                if windows {
                    screens.insert(1, "window:wayland  a window, picked in the desktop's sharing dialog".into());
                }
            }
            Err(e) => screens.insert(0, format!("screen        Wayland screen: {e}")),
        }
    }
    let video_encoders = ["libx264", "h264_nvenc", "h264_videotoolbox", "h264_amf", "h264_mf", "h264_vaapi", "h264_qsv"]
        .iter()
        .filter(|n| ffmpeg_next::encoder::find_by_name(n).is_some())
        .map(|n| n.to_string())
        .collect();
    DeviceList {
        cameras: crate::source::camera::list().map(with_modes).map_err(|e| e.to_string()),
        microphones: crate::source::mic::list().map_err(|e| e.to_string()),
        screens,
        windows: crate::source::window::list_or_empty(),
        video_encoders,
    }
}

/// `camera:N  Name` lines with each camera's modes after the name.
fn with_modes(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| {
            let index = l.strip_prefix("camera:").and_then(|r| r.split_whitespace().next()).and_then(|i| i.parse::<u32>().ok());
            match index.map(crate::source::camera::modes) {
                Some(Ok(m)) if !m.is_empty() => format!("{l}  ({})", m.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ")),
                _ => l,
            }
        })
        .collect()
}

/// A microphone or speaker the pickers offer: `index` is what `mic:N` (and
/// the speaker's index) open; `id` the host's own name for it (ALSA's PCM
/// name: "default", "pulse", "hw:0,0").
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AudioDevice {
    pub index: usize,
    pub id: String,
    pub name: String,
    /// The system's default device.
    pub default: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AudioDevices {
    pub inputs: Vec<AudioDevice>,
    pub outputs: Vec<AudioDevice>,
}

/// Microphones and speakers that can be used: a device that cannot be
/// opened (ALSA's resampler, JACK and OSS plugins on a machine without
/// them) or that only discards or makes silence (ALSA's `null`) is left
/// out, so a picker offers nothing that would send or play nothing.
pub fn audio() -> AudioDevices {
    crate::init();
    #[cfg(feature = "mic")]
    {
        use cpal::traits::{DeviceTrait, HostTrait};
        let host = cpal::default_host();
        let id = |d: &cpal::Device| d.id().map(|i| i.to_string()).unwrap_or_default();
        let pcm = |d: &cpal::Device| d.description().ok().and_then(|x| x.driver().map(str::to_string)).unwrap_or_else(|| id(d));
        let collect = |devs: Option<Vec<cpal::Device>>, default: Option<cpal::Device>, input: bool| -> Vec<AudioDevice> {
            let default_id = default.as_ref().map(id);
            devs.unwrap_or_default()
                .into_iter()
                .enumerate()
                .filter(|(_, d)| pcm(d) != "null")
                .filter(|(_, d)| if input { d.default_input_config().is_ok() } else { d.default_output_config().is_ok() })
                .map(|(index, d)| AudioDevice {
                    index,
                    default: default_id.as_deref() == Some(id(&d).as_str()),
                    name: d.description().map(|x| x.name().to_string()).unwrap_or_else(|_| pcm(&d)),
                    id: pcm(&d),
                })
                .collect()
        };
        AudioDevices {
            inputs: collect(host.input_devices().ok().map(Iterator::collect), host.default_input_device(), true),
            outputs: collect(host.output_devices().ok().map(Iterator::collect), host.default_output_device(), false),
        }
    }
    #[cfg(not(feature = "mic"))]
    AudioDevices::default()
}
