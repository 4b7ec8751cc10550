//! One module per job of the `onair` command line.

pub mod audio;
pub mod beauty;
pub mod bench;
pub mod call;
pub mod cloud;
pub mod devices;
pub mod live;
mod llhls_client;
pub mod netem;
pub mod recorder;
pub mod recordings;
pub mod account;
pub mod bench_chat;
pub mod bench_relay;
pub mod chat;
mod chat_common;
pub mod follow;
pub mod friends;
pub mod group;
pub mod relay;
pub mod room;
mod room_chat;
pub mod watch;
