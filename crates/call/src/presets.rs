//! Call quality presets: picture size, frame rate and the bitrate range
//! congestion control moves within. `720p` is the default: a call starts
//! there and the estimate takes the bitrate down (and back up) from it.

use crate::error::CallError;
use crate::send::SendConfig;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CallPreset {
    #[serde(rename = "360p")]
    P360,
    #[default]
    #[serde(rename = "720p")]
    P720,
    #[serde(rename = "1080p")]
    P1080,
}

/// What a preset sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresetSpec {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub start_kbps: u32,
    pub min_kbps: u32,
    pub max_kbps: u32,
}

impl CallPreset {
    pub const ALL: [CallPreset; 3] = [CallPreset::P360, CallPreset::P720, CallPreset::P1080];

    /// The ranges are those common for H.264 real-time video at 30 fps: below
    /// the minimum a picture of that size turns to blocks.
    pub fn spec(self) -> PresetSpec {
        match self {
            CallPreset::P360 => PresetSpec { width: 640, height: 360, fps: 30, start_kbps: 800, min_kbps: 150, max_kbps: 1200 },
            CallPreset::P720 => PresetSpec { width: 1280, height: 720, fps: 30, start_kbps: 1500, min_kbps: 300, max_kbps: 2500 },
            CallPreset::P1080 => PresetSpec { width: 1920, height: 1080, fps: 30, start_kbps: 2500, min_kbps: 500, max_kbps: 4500 },
        }
    }

    /// Sets `cfg`'s size, rate and bitrate range.
    pub fn apply(self, cfg: &mut SendConfig) {
        let p = self.spec();
        cfg.width = p.width;
        cfg.height = p.height;
        cfg.fps = p.fps;
        cfg.video_kbps = p.start_kbps;
        cfg.min_video_kbps = p.min_kbps;
        cfg.max_video_kbps = p.max_kbps;
    }

    pub fn name(self) -> &'static str {
        match self {
            CallPreset::P360 => "360p",
            CallPreset::P720 => "720p",
            CallPreset::P1080 => "1080p",
        }
    }
}

impl std::fmt::Display for CallPreset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CallPreset {
    type Err = CallError;
    fn from_str(s: &str) -> Result<Self, CallError> {
        CallPreset::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| CallError::Invalid(format!("unknown preset {s:?}: use 360p, 720p or 1080p")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_set_the_send_config() {
        let mut cfg = SendConfig::default();
        "720p".parse::<CallPreset>().unwrap().apply(&mut cfg);
        assert_eq!((cfg.width, cfg.height, cfg.fps), (1280, 720, 30));
        assert!(cfg.min_video_kbps < cfg.video_kbps && cfg.video_kbps <= cfg.max_video_kbps);
        assert_eq!("1080P".parse::<CallPreset>().unwrap(), CallPreset::P1080);
        assert!("4k".parse::<CallPreset>().unwrap_err().to_string().contains("360p, 720p or 1080p"));
        assert_eq!(CallPreset::default(), CallPreset::P720);
    }
}
