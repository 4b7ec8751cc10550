//! Capture sources. Each is pulled by a driver thread: `next_*` blocks until the
//! next frame is due or captured and returns it stamped with its capture time.
//!
//! | spec | video | audio |
//! |---|---|---|
//! | `test` | [`test::TestVideo`] | [`test::TestAudio`] |
//! | `file:PATH` | [`file::FileVideo`] | [`file::FileAudio`] |
//! | `screen[:N]` | [`screen::ScreenVideo`] (X11; a Wayland session: [`portal`]) | — |
//! | `screen:wayland` | [`portal`] (xdg-desktop-portal ScreenCast + PipeWire) | — |
//! | `window:TITLE` | [`screen::ScreenVideo::open_window`] ([`window`]) | — |
//! | `window:wayland` | [`portal`] (the window picked in the portal's dialog) | — |
//! | `camera[:N]` | [`camera::CameraVideo`] | — |
//! | `mic[:N]` | — | [`mic::MicAudio`] |
//! | `desktop` | — | [`desktop::DesktopAudio`] |
//!
//! Several audio sources (`--audio mic --audio desktop`) are summed by
//! [`mix::MixedAudio`].

pub mod camera;
pub mod desktop;
pub mod fader;
pub mod file;
pub mod mic;
pub mod mix;
pub mod portal;
pub mod screen;
pub mod spec;
pub mod test;
pub mod window;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::frame::{AudioFrame, Clock, VideoFrame};
use crate::{MediaError, Result};

pub use spec::{audio_inputs, AudioInput, AudioSpec, VideoSpec};

/// A source of video frames.
pub trait VideoSource: Send {
    /// A short description for logs and status ("test pattern", "camera 0 …").
    fn describe(&self) -> String;
    /// Blocks until the next frame; `Ok(None)` when the source has ended.
    fn next_frame(&mut self) -> Result<Option<VideoFrame>>;
}

/// A source of audio chunks (interleaved stereo f32 at 48 kHz).
pub trait AudioSource: Send {
    fn describe(&self) -> String;
    /// Blocks until the next chunk; `Ok(None)` when the source has ended.
    fn next_chunk(&mut self) -> Result<Option<AudioFrame>>;
}

/// How [`open_video`] opens a source: the size and rate it delivers, whether
/// a file loops, and the camera's mode (its own resolution and rate).
#[derive(Clone, Copy, Debug)]
pub struct VideoOpen {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub looped: bool,
    pub camera_mode: Option<camera::CameraMode>,
}

/// The one place a video spec becomes a running source, for go-live and
/// recording jobs (`pipeline`) and for calls (`onair-call`) alike.
pub fn open_video(spec: &VideoSpec, o: VideoOpen, clock: Clock, stop: Arc<AtomicBool>) -> Result<Box<dyn VideoSource>> {
    let (w, h, fps) = (o.width, o.height, o.fps);
    Ok(match spec {
        VideoSpec::None => return Err(MediaError::Invalid("no video source".into())),
        VideoSpec::Test => Box::new(test::TestVideo::new(w, h, fps, clock, stop)),
        VideoSpec::File { path } => Box::new(file::FileVideo::open(path, o.looped, w, h, clock, stop)?),
        VideoSpec::Screen { display } if portal::wants_screen(display.as_deref()) => portal::open(portal::Pick::Monitor, w, h, fps, clock, stop)?,
        VideoSpec::Window { target } if target == portal::SPEC_ARG => portal::open(portal::Pick::Window, w, h, fps, clock, stop)?,
        VideoSpec::Screen { display } => Box::new(screen::ScreenVideo::open(display.as_deref(), w, h, fps, clock, stop)?),
        VideoSpec::Window { target } => Box::new(screen::ScreenVideo::open_window(target, w, h, fps, clock, stop)?),
        VideoSpec::Camera { index } => Box::new(camera::CameraVideo::open(*index, o.camera_mode, w, h, clock, stop)?),
    })
}

/// The one place an audio spec becomes a running source (`None` for `none`).
pub fn open_audio(spec: &AudioSpec, looped: bool, clock: Clock, stop: Arc<AtomicBool>) -> Result<Option<Box<dyn AudioSource>>> {
    Ok(match spec {
        AudioSpec::None => None,
        AudioSpec::Test => Some(Box::new(test::TestAudio::new(clock, stop))),
        AudioSpec::File { path } => Some(Box::new(file::FileAudio::open(path, looped, clock, stop)?)),
        AudioSpec::Mic { index } => Some(Box::new(mic::MicAudio::open(*index, clock, stop)?)),
    })
}

/// Whether a layer counts as "the camera" for the beauty filter. A file
/// stands in for a camera in tests and demos; screens, windows and the test
/// pattern are never retouched.
pub fn is_camera_layer(spec: &VideoSpec) -> bool {
    matches!(spec, VideoSpec::Camera { .. } | VideoSpec::File { .. })
}
