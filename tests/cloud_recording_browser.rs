//! A browser guest (the relay's `/call` page in headless Chromium) in a
//! call the relay records: `onair call --answer --record-cloud` starts the
//! server recording, the guest's standing answer allows it, the page shows
//! "Recorded by the server" (its log says so) and opens its own media leg
//! to a real `onair recorder` (a second, send-only RTCPeerConnection whose
//! offer it posts to the relay). Both sides' media reach the worker; then
//! the worker is killed, the recording fails with what it has, and the
//! guest's banner goes.

mod call_support;
mod chat_support;
use call_support::chromium::Browser;
use call_support::*;
use chat_support::*;
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RECORDER_TOKEN: &str = "browser-recorder-token-0123456789";

#[test]
fn a_browser_guest_sends_its_media_to_the_server_recorder() {
    let secret = "cloud-browser-turn-secret";
    let (_turn, port) = coturn(secret);
    let turn_url = format!("turn:127.0.0.1:{port}?transport=udp");
    let relay = Relay::start_with(
        &["--turn-url", &turn_url, "--turn-secret", secret, "--metrics-token", "ops", "--cloud-min-free-mb", "20", "--recorder-token", RECORDER_TOKEN, "--cloud-tier", "360p"],
        false,
    );
    let mut worker = std::process::Command::new(BIN)
        .args(["recorder", "--relay", &relay.url(), "--ice-ip", "127.0.0.1", "--x264-preset", "ultrafast", "--fps", "15"])
        .env("ONAIR_RECORDER_TOKEN", RECORDER_TOKEN)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn onair recorder");
    let said: Arc<Mutex<Vec<String>>> = Arc::default();
    let (out, s) = (worker.stdout.take().unwrap(), said.clone());
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            eprintln!("[recorder] {l}");
            s.lock().unwrap().push(l);
        }
    });
    let worker_said = |needle: &str, secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !said.lock().unwrap().iter().any(|l| l.contains(needle)) {
            assert!(Instant::now() < deadline, "the recorder did not say {needle:?}: {:?}", said.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (alice, bob) = (User::register(&relay, "alice"), User::register(&relay, "bob"));
    alice.ok(&["recordings", "cloud", "consent", "allow"]);
    let mut app = bob
        .cmd(&["call", "--answer", "--from", "alice", "--video", "test", "--audio", "test", "--duration", "60", "--ice-relay-only", "--record-cloud"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run onair call --answer");
    wait_for(90, "onair call --answer to connect to the relay", || {
        let (_, m) = http(&relay.addr, "GET", "/metrics", Some("ops"), None);
        m.lines().any(|l| l == "onair_relay_connections 1").then_some(())
    });
    let url = format!("{}/call?user=alice&password={}&relay_only=1&call=bob", relay.url(), PASSWORD.replace(' ', "%20"));
    let page = Browser::open("alice", &url);
    page.wait_line("call state=connected", 120);
    let line = page.wait_line("cloud recording=start", 60);
    let at = line.find("id=").expect("the recording's id") + 3;
    let id: String = line[at..].chars().take(17).collect();
    // The guest (the caller) and bob (the callee) both reach the worker.
    page.wait_line("cloud leg=connected", 60);
    worker_said("the caller's media arrives", 60);
    worker_said("the callee's media arrives", 60);
    std::thread::sleep(Duration::from_secs(3));
    // The worker dies: the relay fails the job once it goes silent, and
    // the guest's banner goes.
    let _ = worker.kill();
    let _ = worker.wait();
    page.wait_line("cloud recording=stop", 40);
    let (st, body) = http(&relay.addr, "GET", &format!("/v1/cloud/recordings/{id}"), Some(&bob.token()), None);
    assert_eq!(st, 200);
    let r: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["state"], "failed", "{r}");
    assert!(r["duration_ms"].as_i64().unwrap_or(0) >= 1000, "what the worker sent is kept: {r}");
    let _ = app.kill();
    let _ = app.wait();
}
