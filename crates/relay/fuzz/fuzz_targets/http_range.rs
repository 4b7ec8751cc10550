//! Any `Range` header on a replay, through the relay's real route: 200, 206
//! with exactly the bytes it names, or 416; never a panic or a 5xx.
#![no_main]

#[path = "../http_routes.rs"]
mod http_routes;

libfuzzer_sys::fuzz_target!(|data: &[u8]| http_routes::http_range(data));
