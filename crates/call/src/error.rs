//! Errors of the call crate: what failed, with the context a user needs.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CallError {
    /// A source, encoder, decoder or the recorder failed.
    #[error(transparent)]
    Media(#[from] onair_media::MediaError),
    /// The WebRTC stack refused something (SDP, candidate, track).
    #[error("WebRTC: {what}: {reason}")]
    WebRtc { what: String, reason: String },
    /// The relay connection failed or the relay refused a call request.
    #[error("relay: {0}")]
    Signaling(String),
    /// The peer sent something we cannot use (garbage SDP, an unknown codec).
    #[error("the other side sent something unusable: {0}")]
    Peer(String),
    /// A user command or option that makes no sense now.
    #[error("{0}")]
    Invalid(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

pub type Result<T, E = CallError> = std::result::Result<T, E>;

/// Maps a webrtc error to [`CallError::WebRtc`] with what we were doing.
pub(crate) fn rtc_err(what: &str) -> impl FnOnce(webrtc::error::Error) -> CallError + '_ {
    move |e| CallError::WebRtc { what: what.to_string(), reason: e.to_string() }
}
