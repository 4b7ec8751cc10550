//! Interop: headless Chromium on the relay's `/call` page calls
//! `onair call --answer` (the Rust WebRTC session in `crates/call`), media
//! through coturn on 127.0.0.1 (relay-only ICE on both sides). Both sides
//! must decode: the page counts H.264 frames and Opus packets, the app
//! writes its counters to --stats-json.

mod call_support;
mod chat_support;
use call_support::chromium::Browser;
use call_support::*;
use chat_support::*;
use std::time::Duration;

#[test]
fn chromium_calls_onair_call_answer_and_both_decode() {
    let secret = "interop-turn-secret";
    let (_turn, port) = coturn(secret);
    let turn_url = format!("turn:127.0.0.1:{port}?transport=udp");
    let relay = Relay::start_with(&["--turn-url", &turn_url, "--turn-secret", secret, "--metrics-token", "ops"], false);
    let (alice, bob) = (User::register(&relay, "alice"), User::register(&relay, "bob"));
    let stats = bob.home_path().join("stats.json");
    let mut app = bob
        .cmd(&["call", "--answer", "--from", "alice", "--video", "test", "--audio", "test", "--duration", "15", "--ice-relay-only", "--stats-json", stats.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run onair call --answer");
    // bob's app is on the relay when the relay counts one connection.
    wait_for(90, "onair call --answer to connect to the relay", || {
        let (_, m) = http(&relay.addr, "GET", "/metrics", Some("ops"), None);
        m.lines().any(|l| l == "onair_relay_connections 1").then_some(())
    });
    let url = format!("{}/call?user=alice&password={}&relay_only=1&call=bob", relay.url(), PASSWORD.replace(' ', "%20"));
    let page = Browser::open("alice", &url);
    page.wait_line("call state=connected", 120);
    let (frames, audio, codec, pair) = page.wait_decoded(60, 120);
    println!("browser decoded {frames} frames ({codec}, {pair}), {audio} audio packets");
    assert_eq!(codec, "video/H264");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = app.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "onair call --answer did not end");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(status.success(), "onair call --answer failed: {status}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).expect("stats json")).unwrap();
    println!("app stats: {s}");
    assert!(s["video_frames_decoded"].as_u64().unwrap_or(0) >= 60, "the app decoded the browser's video: {s}");
    assert!(s["audio_packets_received"].as_u64().unwrap_or(0) > 0, "the app received the browser's audio: {s}");
    let _ = alice;
}
