//! What `onair devices` lists: cameras, microphones, screens and encoders.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct DeviceList {
    pub cameras: Result<Vec<String>, String>,
    pub microphones: Result<Vec<String>, String>,
    pub screens: Vec<String>,
    pub video_encoders: Vec<String>,
}

/// Lists devices; a category that cannot be queried says why instead.
pub fn list() -> DeviceList {
    crate::init();
    let screens = match std::env::var("DISPLAY") {
        Ok(d) if cfg!(target_os = "linux") => vec![format!("screen        X11 display {d} (x11grab)")],
        _ if cfg!(target_os = "linux") => vec![],
        _ => vec!["screen        main display".into()],
    };
    let video_encoders = ["libx264", "h264_nvenc", "h264_videotoolbox", "h264_amf", "h264_mf", "h264_vaapi", "h264_qsv"]
        .iter()
        .filter(|n| ffmpeg_next::encoder::find_by_name(n).is_some())
        .map(|n| n.to_string())
        .collect();
    DeviceList {
        cameras: crate::source::camera::list().map_err(|e| e.to_string()),
        microphones: crate::source::mic::list().map_err(|e| e.to_string()),
        screens,
        video_encoders,
    }
}
