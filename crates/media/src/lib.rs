//! OnAir's media engine: capture → compose → encode → outputs.
//!
//! Sources (synthetic test signal, files, screen, camera, microphone) are
//! pulled by their own threads and stamp every frame with its capture time on
//! the pipeline's [`frame::Clock`]. Video is composed (picture-in-picture),
//! encoded once to H.264 and audio once to AAC, and the packets fan out to
//! every output: RTMP(S) push with automatic reconnection and a crash-safe
//! fragmented MP4 recorder whose bookmarks live in the [`library::Library`].
//!
//! The run loop a front end drives:
//!
//! ```no_run
//! use onair_media::{pipeline::{Pipeline, PipelineConfig, Limits}, source::{VideoSpec, AudioSpec}};
//! # fn main() -> onair_media::Result<()> {
//! let cfg = PipelineConfig {
//!     video: VideoSpec::Test, overlay: None, audio: vec![AudioSpec::Test.into()], looped: false,
//!     camera_mode: None, encoding: Default::default(), live: vec![],
//!     record: Some("/tmp/demo.mp4".into()), limits: Limits::default(), beauty: None,
//! };
//! let pipeline = Pipeline::start(cfg, None)?;
//! while pipeline.poll().is_none() {
//!     std::thread::sleep(std::time::Duration::from_millis(200));
//!     // show pipeline.stats(); on user request: pipeline.bookmark(Some("highlight"))
//! }
//! let summary = pipeline.stop()?; // finalises the MP4
//! # Ok(()) }
//! ```

pub mod audio_processing;
pub mod compose;
pub mod convert;
#[cfg(feature = "mic")]
mod cpal_thread;
pub mod crypt;
pub mod devices;
pub mod encode;
mod error;
pub mod frame;
pub mod golive;
pub mod home;
pub mod library;
pub mod output;
pub mod pipeline;
pub mod preview;
pub mod source;
pub mod speaker;
pub mod stats;
pub mod thumb;
pub mod transcode;

pub use error::{MediaError, Result};

/// Initialises FFmpeg once: codecs, devices, and quiet logging (FFmpeg's own
/// log lines could carry an ingest URL with its stream key).
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg_next::init();
        ffmpeg_next::device::register_all();
        let level = if std::env::var_os("ONAIR_FFMPEG_LOG").is_some() {
            ffmpeg_next::log::Level::Info
        } else {
            ffmpeg_next::log::Level::Quiet
        };
        ffmpeg_next::log::set_level(level);
    });
}
