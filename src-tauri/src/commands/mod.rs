//! Tauri commands, one module per screen. Each command adapts a library
//! crate; it returns `AppResult<T>` (errors reach the UI as `{code, message}`)
//! and is listed in `generate_handler!` in `lib.rs`.

pub mod app;
pub mod attach;
pub mod call;
pub mod chat;
pub mod cloud;
pub mod devices;
pub mod live;
pub mod recordings;
pub mod settings;
pub mod types;
pub mod watch;
