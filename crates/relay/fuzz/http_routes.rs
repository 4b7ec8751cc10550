//! Fuzz target bodies that go through the relay's real HTTP routes (with
//! `oneshot`, no port): shared by the cargo-fuzz targets (`#[path]` from
//! `fuzz_targets/`) and `crates/relay/tests/fuzz_replay.rs`, so they test
//! whatever serves the route, hand-written or tower-http's `ServeFile`.
//!
//! One relay per process: an account, a room and a replay file of known
//! bytes, made on first use.

// Each cargo-fuzz target uses one of the bodies.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use onair_relay::live::{routes::routes, Live};
use onair_relay::{app, AppState, Limits};
use tower::ServiceExt;

struct Relay {
    rt: tokio::runtime::Runtime,
    app: Router,
    token: String,
    replay_uri: String,
    replay: Vec<u8>,
}

fn relay() -> &'static Relay {
    static RELAY: OnceLock<Relay> = OnceLock::new();
    RELAY.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let dir = std::env::temp_dir().join(format!("onair-fuzz-relay-{}", std::process::id()));
        let state = AppState::in_memory(Limits::default());
        let live = Arc::new(Live::new(dir.join("live")));
        let replays = live.replays_dir();
        let app = app(state.clone()).merge(routes(state, live));
        let (token, room) = rt.block_on(async {
            let (s, v) = send(&app, "POST", "/v1/register", None, br#"{"user":"fuzzer","password":"long enough password"}"#.to_vec()).await;
            assert_eq!(s, StatusCode::CREATED, "register: {v:?}");
            let token = json(&v)["token"].as_str().expect("a token").to_string();
            let (s, v) = send(&app, "POST", "/v1/rooms", Some(&token), br#"{"title":"fuzz","category":"test"}"#.to_vec()).await;
            assert_eq!(s, StatusCode::CREATED, "create room: {v:?}");
            (token, json(&v)["id"].as_str().expect("a room id").to_string())
        });
        let replay: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::create_dir_all(replays.join(&room)).expect("the replay folder");
        std::fs::write(replays.join(&room).join("replay.mp4"), &replay).expect("the replay file");
        Relay { rt, app, token, replay_uri: format!("/replays/{room}/replay.mp4"), replay }
    })
}

fn json(b: &[u8]) -> serde_json::Value {
    serde_json::from_slice(b).unwrap_or(serde_json::Value::Null)
}

async fn send(app: &Router, method: &str, uri: &str, token: Option<&str>, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = app.clone().oneshot(req.body(Body::from(body)).expect("a request")).await.expect("the router answers");
    let status = res.status();
    (status, res.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default())
}

/// Any `Range` header on a replay: the whole file (200), exactly the bytes
/// the `Content-Range` names (206), or 416; never a panic or a 5xx.
pub fn http_range(data: &[u8]) {
    let r = relay();
    let Ok(range) = header::HeaderValue::from_bytes(data) else { return };
    let req = Request::get(&r.replay_uri).header(header::RANGE, range).body(Body::empty()).expect("a request");
    r.rt.block_on(async {
        let res = r.app.clone().oneshot(req).await.expect("the router answers");
        let status = res.status();
        let content_range = res.headers().get(header::CONTENT_RANGE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = res.into_body().collect().await.expect("the body").to_bytes();
        match status {
            StatusCode::OK => assert_eq!(&body[..], &r.replay[..], "200 carries the whole file"),
            StatusCode::PARTIAL_CONTENT => {
                let cr = content_range.expect("206 names its range");
                let (a, b, len) = parse_content_range(&cr).unwrap_or_else(|| panic!("Content-Range {cr:?}"));
                assert_eq!(len, r.replay.len(), "{cr}");
                assert!(a <= b && b < len, "{cr}");
                assert_eq!(&body[..], &r.replay[a..=b], "206 carries the bytes {cr} names");
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {}
            s => panic!("Range {:?} got {s}", String::from_utf8_lossy(data)),
        }
    });
}

fn parse_content_range(v: &str) -> Option<(usize, usize, usize)> {
    let (range, len) = v.strip_prefix("bytes ")?.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?, len.parse().ok()?))
}

/// Any body for `POST /v1/rooms` (a signed-in user): created or refused
/// with a 4xx, never a panic or a 5xx.
pub fn room_body(data: &[u8]) {
    let r = relay();
    let (status, body) = r.rt.block_on(send(&r.app, "POST", "/v1/rooms", Some(&r.token), data.to_vec()));
    assert!(status == StatusCode::CREATED || status.is_client_error(), "{status}: {}", String::from_utf8_lossy(&body));
}
