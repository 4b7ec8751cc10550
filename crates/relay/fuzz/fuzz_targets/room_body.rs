//! Any JSON body for `POST /v1/rooms`, through the relay's real route:
//! created or a 4xx, never a panic or a 5xx.
#![no_main]

#[path = "../http_routes.rs"]
mod http_routes;

libfuzzer_sys::fuzz_target!(|data: &[u8]| http_routes::room_body(data));
