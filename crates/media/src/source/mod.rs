//! Capture sources. Each is pulled by a driver thread: `next_*` blocks until the
//! next frame is due or captured and returns it stamped with its capture time.
//!
//! | spec | video | audio |
//! |---|---|---|
//! | `test` | [`test::TestVideo`] | [`test::TestAudio`] |
//! | `file:PATH` | [`file::FileVideo`] | [`file::FileAudio`] |
//! | `screen[:N]` | [`screen::ScreenVideo`] | — |
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
pub mod screen;
pub mod spec;
pub mod test;

use crate::frame::{AudioFrame, VideoFrame};
use crate::Result;

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
