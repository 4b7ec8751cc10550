//! Wire types between the OnAir app and the relay, shared by both ends.
//!
//! Everything real-time travels over one WebSocket as JSON text frames; the
//! same [`Request`]/[`Response`] pair is also accepted over HTTP at
//! `POST /v1/rpc`, so scripts need no WebSocket. `docs/protocol.md` documents
//! every frame and error code for people writing other clients.
//!
//! This crate does no IO. A client's run loop, in outline:
//!
//! ```text
//! send  ClientFrame::Hello { v: PROTOCOL_VERSION, token }
//! recv  ServerFrame::Welcome { .. }
//! loop {
//!     send ClientFrame::Req { id, body: Request::Send { .. } }   // any request
//!     recv ServerFrame::Res { id, .. } | ServerFrame::Event { .. } | ServerFrame::Error { .. }
//! }
//! ```
//!
//! The relay decodes every inbound frame with [`decode_client_frame`], which
//! never panics and classifies bad input so the relay can answer with an
//! [`ErrorCode`] instead of dropping the peer.

mod account;
mod calls;
pub mod cloud;
pub mod recorder;
mod decode;
mod frames;
mod ids;
mod rooms;
#[doc(hidden)]
pub mod fuzzing;

pub use account::*;
pub use calls::*;
pub use decode::{decode_client_frame, DecodeError};
pub use frames::*;
pub use rooms::*;
pub use ids::{dm_conv_id, dm_peer, is_group_conv, valid_client_id, valid_conv_id, valid_username};

/// The protocol version this crate speaks; `Hello.v` must equal it.
pub const PROTOCOL_VERSION: u32 = 1;
