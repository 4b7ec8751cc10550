//! Talking to the relay: a small HTTP/1.1 client for the account and RPC
//! endpoints, and the WebSocket connection for real-time traffic.

mod conn;
mod http;
mod link;
pub mod tls;

pub use conn::{ws_connect, Connection, Incoming, Ws};
pub use link::{copy_error, link_backoff, with_task, LinkEvent, LinkOptions, LinkTask, RelayLink, Subscription, Topic};
pub use http::{allow_insecure_http, decode as http_decode, is_loopback, Bytes, Http, Method, RelayUrl, StatusCode};
