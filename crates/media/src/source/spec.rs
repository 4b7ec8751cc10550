//! Parsing of source specs as users type them (`test`, `file:PATH`, `screen:1`, …).

use std::path::PathBuf;

use crate::{MediaError, Result};

/// Which video source to capture.
#[derive(Clone, Debug, PartialEq)]
pub enum VideoSpec {
    None,
    Test,
    File { path: PathBuf },
    Screen { display: Option<String> },
    /// One application window, by title or id (`window:0x3a00004`).
    Window { target: String },
    Camera { index: u32 },
}

/// Which audio source to capture.
#[derive(Clone, Debug, PartialEq)]
pub enum AudioSpec {
    None,
    Test,
    File { path: PathBuf },
    Mic { index: Option<usize> },
}

fn split(s: &str) -> (&str, Option<&str>) {
    match s.split_once(':') {
        Some((k, rest)) => (k, Some(rest)),
        None => (s, None),
    }
}

impl std::str::FromStr for VideoSpec {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<Self> {
        let (kind, arg) = split(s);
        match (kind, arg) {
            ("none", None) => Ok(VideoSpec::None),
            ("test", None) => Ok(VideoSpec::Test),
            ("file", Some(p)) if !p.is_empty() => Ok(VideoSpec::File { path: p.into() }),
            ("screen", None) => Ok(VideoSpec::Screen { display: None }),
            ("screen", Some(n)) if !n.is_empty() => Ok(VideoSpec::Screen { display: Some(n.into()) }),
            ("window", Some(t)) if !t.trim().is_empty() => Ok(VideoSpec::Window { target: t.trim().into() }),
            ("camera", None) => Ok(VideoSpec::Camera { index: 0 }),
            ("camera", Some(n)) => n
                .parse()
                .map(|index| VideoSpec::Camera { index })
                .map_err(|_| MediaError::Invalid(format!("camera index must be a number, got {n:?}"))),
            _ => Err(MediaError::Invalid(format!(
                "unknown video source {s:?}: use test, file:PATH, screen[:N], screen:wayland, window:TITLE, window:wayland, camera[:N] or none"
            ))),
        }
    }
}

impl std::str::FromStr for AudioSpec {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<Self> {
        let (kind, arg) = split(s);
        match (kind, arg) {
            ("none", None) => Ok(AudioSpec::None),
            ("test", None) => Ok(AudioSpec::Test),
            ("file", Some(p)) if !p.is_empty() => Ok(AudioSpec::File { path: p.into() }),
            ("mic", None) => Ok(AudioSpec::Mic { index: None }),
            ("mic", Some(n)) => n
                .parse()
                .map(|i| AudioSpec::Mic { index: Some(i) })
                .map_err(|_| MediaError::Invalid(format!("microphone index must be a number, got {n:?}"))),
            _ => Err(MediaError::Invalid(format!(
                "unknown audio source {s:?}: use test, file:PATH, mic[:N] or none"
            ))),
        }
    }
}

/// One `--audio` entry: a source of its own, or the sound the computer
/// plays. A job mixes all of its entries (`--audio mic --audio desktop`).
#[derive(Clone, Debug, PartialEq)]
pub enum AudioInput {
    Source(AudioSpec),
    /// The monitor of the default output (see [`crate::source::desktop`]).
    Desktop,
}

impl From<AudioSpec> for AudioInput {
    fn from(s: AudioSpec) -> Self {
        AudioInput::Source(s)
    }
}

impl std::str::FromStr for AudioInput {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<Self> {
        if s == "desktop" {
            return Ok(AudioInput::Desktop);
        }
        s.parse().map(AudioInput::Source).map_err(|_| {
            MediaError::Invalid(format!(
                "unknown audio source {s:?}: use test, file:PATH, mic[:N], desktop or none (repeat --audio to mix sources)"
            ))
        })
    }
}

/// The audio entries that capture something: `none` drops out, and mixing
/// `none` with a real source is refused as a likely mistake.
pub fn audio_inputs(list: &[AudioInput]) -> Result<Vec<AudioInput>> {
    let none = AudioInput::Source(AudioSpec::None);
    let real: Vec<AudioInput> = list.iter().filter(|a| **a != none).cloned().collect();
    if !real.is_empty() && real.len() != list.len() {
        return Err(MediaError::Invalid("--audio none cannot be mixed with other audio sources: drop it, or drop the others".into()));
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!("test".parse::<VideoSpec>().unwrap(), VideoSpec::Test);
        assert_eq!("camera:2".parse::<VideoSpec>().unwrap(), VideoSpec::Camera { index: 2 });
        assert_eq!(
            "file:/a:b.mp4".parse::<VideoSpec>().unwrap(),
            VideoSpec::File { path: "/a:b.mp4".into() }
        );
        assert_eq!("screen:1".parse::<VideoSpec>().unwrap(), VideoSpec::Screen { display: Some("1".into()) });
        assert_eq!("screen:wayland".parse::<VideoSpec>().unwrap(), VideoSpec::Screen { display: Some("wayland".into()) });
        assert_eq!("window:Slides: Q3".parse::<VideoSpec>().unwrap(), VideoSpec::Window { target: "Slides: Q3".into() });
        assert!("window:".parse::<VideoSpec>().is_err());
        assert_eq!("mic".parse::<AudioSpec>().unwrap(), AudioSpec::Mic { index: None });
        assert!("camera:x".parse::<VideoSpec>().is_err());
        assert!("bogus".parse::<AudioSpec>().is_err());
        assert!("file:".parse::<VideoSpec>().is_err());
        assert_eq!("desktop".parse::<AudioInput>().unwrap(), AudioInput::Desktop);
        assert_eq!("mic:1".parse::<AudioInput>().unwrap(), AudioInput::Source(AudioSpec::Mic { index: Some(1) }));
        assert!("desktop:2".parse::<AudioInput>().unwrap_err().to_string().contains("desktop"));
        let none = AudioInput::Source(AudioSpec::None);
        assert_eq!(audio_inputs(std::slice::from_ref(&none)).unwrap(), vec![]);
        assert!(audio_inputs(&[none, AudioInput::Desktop]).is_err());
    }
}
