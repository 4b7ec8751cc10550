//! OnAir's chat client: an offline SQLite cache, an outbox, and sync with
//! the relay. History reads from the cache whether or not the relay is
//! reachable; messages written offline go out exactly once when it is.
//!
//! Run loop of a long-lived client ([`Client::listen`]), in outline:
//!
//! ```text
//! loop {
//!     conn = connect(relay, token)               // hello / welcome
//!     flush outbox, oldest first, one ack at a time
//!     for each conversation: fetch seq > cursor, apply in one transaction
//!     loop { event = conn.next(); apply to cache; show it;
//!            new outbox rows from other processes -> flush }
//!     on a network error: back off (250 ms doubling to 5 s), reconnect
//! }
//! ```
//!
//! A one-shot client (`onair chat send`, `onair chat sync`) runs one round
//! of the same steps with [`Client::sync`].

pub mod account;
pub mod cache;
mod client;
pub mod error;
pub mod net;
pub mod rooms;
pub mod sync;

pub use cache::{Cache, ConvSummary, Conversation, Message};
pub use client::{backoff, now_ms, Client, Command, Remote, Update};
pub use error::{CacheError, ChatError, NetError};
