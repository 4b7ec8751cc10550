//! OnAir's chat client: an offline SQLite cache, an outbox, and sync with
//! the relay. History reads from the cache whether or not the relay is
//! reachable; messages written offline go out exactly once when it is.
//!
//! Run loop of a long-lived client ([`Client::listen`]), in outline:
//!
//! ```text
//! link = RelayLink(relay, token)                 // net::link: one socket per device,
//!                                                //   hello, reconnect with back-off
//! loop {
//!     on link Up: flush outbox, oldest first, one ack at a time;
//!                 for each conversation: fetch seq > cursor, apply in one transaction
//!     event = subscription.next(); apply to cache; show it;
//!     new outbox rows from other processes -> flush
//!     on link Down: show offline (250 ms doubling to 5 s until Up)
//! }
//! ```
//!
//! A one-shot client (`onair chat send`, `onair chat sync`) runs one round
//! of the same steps with [`Client::sync`].

pub mod account;
pub mod cache;
mod client;
pub mod cloud;
pub mod error;
pub mod net;
pub mod rooms;
pub mod sync;

pub use cache::{Cache, ConvSummary, Conversation, Message};
pub use client::{backoff, now_ms, Client, Command, Remote, Update};
pub use error::{CacheError, ChatError, NetError};
