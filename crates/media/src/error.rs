//! Errors of the media engine, with the context a user needs to act on them.

use std::path::PathBuf;

/// Everything that can go wrong in the media engine.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{what}: {source}")]
    Ffmpeg {
        what: String,
        #[source]
        source: ffmpeg_next::Error,
    },
    #[error("cannot open {path}: {reason}")]
    OpenInput { path: String, reason: String },
    #[error("{path} has no {kind} stream")]
    NoStream { path: String, kind: &'static str },
    #[error("no camera found{detail}: connect one, or pick another video source (--video test|file:PATH|screen)")]
    NoCamera { detail: String },
    #[error("no microphone could be opened{detail}: connect one, or pick another audio source (--audio test|file:PATH|none)")]
    NoMicrophone { detail: String },
    #[error("no speaker could be opened{detail}: the other side's sound is not played")]
    NoSpeaker { detail: String },
    #[error("this build of onair has no {what} support (rebuild with the `{feature}` feature)")]
    NotBuilt { what: &'static str, feature: &'static str },
    #[error("screen capture failed on display {display}: {reason}")]
    Screen { display: String, reason: String },
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("invalid output URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("encoder {name}: {reason}")]
    Encoder { name: String, reason: String },
    #[error("recording library at {path}: {source}")]
    Library {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("recording {0} not found in the library (see `onair recordings list`)")]
    NoSuchRecording(i64),
    #[error("recording {0} is encrypted and this computer has no key for it: this recording was encrypted on another computer or its key was removed from the keychain")]
    NoKey(i64),
    #[error("{0}")]
    Invalid(String),
    /// The go-live controller is in the wrong state for the request
    /// ("stop first", "nothing is running").
    #[error("{0}")]
    Busy(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;

/// Attaches a description to an FFmpeg error.
pub(crate) trait FfmpegContext<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> FfmpegContext<T> for std::result::Result<T, ffmpeg_next::Error> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| MediaError::Ffmpeg { what: what(), source })
    }
}
