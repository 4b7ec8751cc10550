//! Talking to the relay: a small HTTP/1.1 client for the account and RPC
//! endpoints, and the WebSocket connection for real-time traffic.

mod conn;
mod http;

pub use conn::{Connection, Incoming};
pub use http::{decode as http_decode, Http, RelayUrl};
