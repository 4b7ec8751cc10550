//! OnAir's 1:1 calls over WebRTC (the `webrtc` crate), fed by and feeding the
//! media engine.
//!
//! - [`codecs`]: H.264 in every profile browsers offer, Opus.
//! - [`peer`]: one peer connection with our two send tracks; its events.
//! - [`feedback`]: the other side's RTCP about our streams (loss, RTT from
//!   reception reports; PLI/FIR → keyframe), read by our own interceptor.
//! - [`send`]: sources → beauty → real-time H.264/Opus → track samples, with
//!   live controls (mute, camera off, switch source).
//! - [`recv`]: RTP → jitter buffer ([`jitter`]) → access units → FFmpeg → engine frames; latency from stamps.
//! - [`presets`]: 360p / 720p (default) / 1080p: size, rate, bitrate range.
//! - [`quality`]: the 0–100 score and the AIMD bitrate controller (pure).
//! - [`bwe`]: the TWCC bandwidth estimate (GCC's delay half, a queue-delay half, a loss half that holds at 10 %).
//! - [`session`]: the media side of a call, tying the above together.
//! - [`cloud`]: server-side recording: each caller's media leg to the
//!   recorder, and the recorder worker (`onair recorder`) that composites them.
//!
//! The in-process run loop (the call driver does the same with the relay
//! carrying the SDP and candidates):
//!
//! ```no_run
//! # async fn demo() -> onair_call::Result<()> {
//! use onair_call::{peer::{PeerEvent, PeerOptions}, send::SendConfig, session::MediaSession};
//! let opts = PeerOptions::default();
//! let (mut a, mut a_events) = MediaSession::new(&opts, SendConfig::default()).await?;
//! let (mut b, mut b_events) = MediaSession::new(&opts, SendConfig::default()).await?;
//! let offer = a.peer.offer(false).await?;          // → signaling → B
//! let answer = b.peer.answer(&offer).await?;       // → signaling → A
//! a.peer.accept_answer(&answer).await?;
//! loop {
//!     tokio::select! {
//!         Some(ev) = a_events.recv() => match ev {
//!             PeerEvent::Candidate(c) => b.peer.add_candidate(&c).await?,   // trickle ICE
//!             PeerEvent::State(s) if s.to_string() == "connected" => a.start_sending().await?,
//!             ev => a.on_peer_event(ev).await?,                             // remote tracks
//!         },
//!         // … the same for B, and once a second: a.tick().await (quality, bitrate)
//!     }
//! }
//! # }
//! ```

pub mod bwe;
pub mod cloud;
pub mod codecs;
pub mod congestion;
mod error;
pub mod feedback;
#[doc(hidden)]
pub mod fuzzing;
pub mod jitter;
pub mod opus;
pub mod peer;
pub mod presets;
pub mod quality;
pub mod record;
pub mod recv;
pub mod resend;
pub mod rungs;
pub mod send;
pub mod session;
pub mod state;
pub mod wire;
pub mod driver;
pub mod stamp;
pub mod tap;

pub use error::{CallError, Result};
