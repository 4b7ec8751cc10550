//! Server-side call recording in the app (issue 16), on two real app
//! processes and a real `onair relay` with a recorder token: alice asks for
//! "Record on server" during a call, bob is asked and allows, both windows
//! show "Recorded by the server" from the relay's push (no polling), a real
//! `onair recorder` worker takes the job and both apps send it their media
//! (each app's call engine opens its leg on the push), alice bookmarks and
//! stops, both see it stopped. Then
//! Recordings → On the server: the recording is listed, plays through the
//! loopback server (which adds the token), seeks, and downloads into the
//! local library, where ffprobe reads it (video, audio, the bookmark as a
//! chapter). Screenshots in English and Chinese go to target/e2e-artifacts/.

mod support;

use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{secs, App, Launch};

const RECORDER_TOKEN: &str = "recorder-test-token-0123456789";

fn onair_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let p = target.join("debug").join("onair");
    assert!(p.exists(), "{} is missing: build it with `cargo build --bin onair`", p.display());
    p
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `onair relay` with recorder workers allowed, on a free port.
fn relay(dir: &Path) -> (Kill, String) {
    let port = support::free_port();
    let ready = dir.join("ready");
    let child = Command::new(onair_bin())
        .args(["relay", "--listen", &format!("127.0.0.1:{port}"), "--rtmp", "127.0.0.1:0", "--recorder-token", RECORDER_TOKEN, "--data"])
        .arg(dir.join("relay"))
        .arg("--ready-file")
        .arg(&ready)
        .env("ONAIR_HOME", dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("start onair relay");
    let start = Instant::now();
    while !std::fs::read_to_string(&ready).is_ok_and(|s| !s.is_empty()) {
        assert!(start.elapsed() < secs(60), "the relay did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Kill(child), format!("http://127.0.0.1:{port}"))
}

fn curl(url: &str, token: &str, args: &[&str]) -> (u16, Vec<u8>) {
    let o = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}", "-H", &format!("Authorization: Bearer {token}")])
        .args(args)
        .arg(url)
        .output()
        .expect("curl");
    let mut body = o.stdout;
    let cut = body.iter().rposition(|&b| b == b'\n').expect("curl wrote the status");
    let code = String::from_utf8_lossy(&body[cut + 1..]).trim().parse().unwrap_or(0);
    body.truncate(cut);
    (code, body)
}

/// A real `onair recorder` worker (killed when dropped); what it prints is kept.
struct Worker {
    _kill: Kill,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    fn start(relay: &str) -> Worker {
        let mut child = Command::new(onair_bin())
            .args(["recorder", "--relay", relay, "--ice-ip", "127.0.0.1", "--x264-preset", "ultrafast", "--fps", "15"])
            .env("ONAIR_RECORDER_TOKEN", RECORDER_TOKEN)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn onair recorder");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let (out, l) = (child.stdout.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("[recorder] {line}");
                l.lock().unwrap().push(line);
            }
        });
        Worker { _kill: Kill(child), lines }
    }

    fn wait_said(&self, within: Duration, needle: &str) {
        let start = Instant::now();
        while !self.lines.lock().unwrap().iter().any(|l| l.contains(needle)) {
            assert!(start.elapsed() < within, "the recorder never said {needle:?}; it said {:?}", self.lines.lock().unwrap());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn register(app: &App, user: &str) {
    app.click("[data-testid=nav-chat]");
    app.type_text("[data-testid=chat-user]", user);
    app.type_text("[data-testid=chat-password]", "correct horse battery");
    app.click("[data-testid=chat-register]");
    app.wait_text("[data-testid=chat-online]", "Online", secs(60));
}

fn server_state(app: &App, state: &str, who: &str) {
    app.wait_js(&format!("return document.querySelector('[data-testid=call-server-rec]')?.dataset.state === '{state}'"), secs(60), &format!("{who} to see the server recording {state}"));
}

/// Clicks from inside the page: the Calls screen redraws every second, and
/// on a loaded machine a WebDriver click keeps landing on a replaced twin.
fn press(app: &App, css: &str) {
    app.wait_js(&format!("const e = document.querySelector({}); if (!e || e.disabled) return false; e.click(); return true", json!(css)), secs(30), &format!("{css} to click"));
}

fn lang(app: &App, l: &str) {
    app.eval(&format!("localStorage.setItem('onair.lang', '{l}'); window.dispatchEvent(new CustomEvent('onair:language')); return true"));
}

#[test]
fn a_call_recorded_on_the_server_plays_and_downloads_in_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let (_relay, url) = relay(dir.path());
    let (home_a, home_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let launch = |home: &Path| {
        let mut l = Launch::new(home);
        l.relay_url = Some(url.clone());
        App::launch(l)
    };
    let (alice, bob) = (launch(home_a.path()), launch(home_b.path()));
    register(&alice, "alice");
    register(&bob, "bob");

    // A call (the server records whatever the worker sends).
    for app in [&alice, &bob] {
        app.click("[data-testid=nav-call]");
        app.select("[data-testid=call-video-source]", "none");
        app.select("[data-testid=call-audio-source]", "test");
        // The smallest pictures: two apps, FFmpeg and the relay share a loaded machine.
        app.select("[data-testid=call-preset]", "360p");
    }
    alice.type_text("[data-testid=call-to]", "bob\u{E007}");
    alice.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'outgoing'", secs(30), "alice's call to ring out");
    bob.click("[data-testid=call-answer]");
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        app.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'active'", secs(30), &format!("{who} in the call"));
    }

    // alice asks; bob's standing answer is "ask", so he is asked first.
    press(&alice, "[data-testid=call-cloud-record]");
    server_state(&alice, "pending", "alice");
    alice.wait_text("[data-testid=call-server-rec]", "Asking bob", secs(10));
    bob.wait_text("[data-testid=call-cloud-consent]", "alice wants the server to record this call", secs(30));
    bob.screenshot("cloud-call-b-asked");
    let worker = Worker::start(&url);
    press(&bob, "[data-testid=call-cloud-allow]");
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        server_state(app, "recording", who);
        app.wait_text("[data-testid=call-server-rec]", "Recorded by the server", secs(5));
    }
    bob.wait_text("[data-testid=call-cloud-record]", "Stop server recording", secs(5));
    // Both apps' media reach the worker (each engine opened its leg on the push).
    worker.wait_said(secs(60), "the caller's media arrives");
    worker.wait_said(secs(60), "the callee's media arrives");
    let legs = Instant::now();
    // The recording's length is what this waits for: at least 5 s of both sides.
    let recorded = |s: f64| std::thread::sleep(Duration::from_secs_f64((s - legs.elapsed().as_secs_f64()).max(0.0)));
    recorded(2.0);
    press(&alice, "[data-testid=call-bookmark]");
    alice.wait_text("[data-testid=call-notice]", "Bookmark added to the server recording", secs(60));
    alice.screenshot("cloud-call-a-recorded");
    lang(&bob, "zh");
    bob.wait_text("[data-testid=call-server-rec]", "服务器正在录制", secs(10));
    bob.screenshot("cloud-call-b-recorded-zh");
    lang(&bob, "en");
    recorded(5.0);
    press(&alice, "[data-testid=call-cloud-record]");
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        server_state(app, "done", who);
    }
    alice.wait_text("[data-testid=call-server-rec]", "Server recording stopped", secs(5));
    worker.wait_said(secs(60), ": stopped");
    press(&alice, "[data-testid=call-hangup]");

    // Recordings → On the server: listed with the other side, plays, seeks.
    alice.click("[data-testid=nav-recordings]");
    alice.click("[data-testid=rec-tab-cloud]");
    alice.wait_text("[data-testid=rec-list]", "with bob", secs(30));
    let list = alice.invoke("cloud_list", json!({})).expect("cloud_list");
    let id = list[0]["id"].as_str().expect("a recording").to_string();
    assert_eq!(list[0]["state"], "done", "{list}");
    alice.click(&format!("[data-testid=cloud-{id}]"));
    alice.wait_js("const v = document.querySelector('[data-testid=player]'); return !!v && v.readyState >= 1 && v.duration > 3", secs(60), "the server recording's metadata through the loopback server");
    alice.find("[data-testid=mark-1]");
    alice.click("[data-testid=play]");
    alice.wait_js("return document.querySelector('[data-testid=player]').currentTime > 0.3", secs(30), "the server recording to play");
    alice.click("[data-testid=seekbar]");
    alice.wait_js("const v = document.querySelector('[data-testid=player]'); return Math.abs(v.currentTime - v.duration / 2) < 1.5", secs(30), "a click on the seek bar's middle to seek there");
    alice.screenshot("cloud-recordings-a");
    // The page holds only the loopback URL: no relay address, no bearer token.
    let src = alice.eval("return document.querySelector('[data-testid=player]').src");
    let src = src.as_str().unwrap();
    assert!(src.starts_with("http://127.0.0.1:") && src.contains(&format!("/media/cloud/{id}?token=")) && !src.contains(url.trim_start_matches("http://")), "{src}");
    // Without the launch token the loopback server refuses.
    let bare = src.split('?').next().unwrap();
    assert_eq!(curl(bare, "x", &[]).0, 403, "the loopback route without its token");
    // A language change draws the screen anew (on its first tab).
    lang(&alice, "zh");
    alice.click("[data-testid=rec-tab-cloud]");
    alice.wait_text("[data-testid=rec-list]", "与 bob", secs(30));
    alice.click(&format!("[data-testid=cloud-{id}]"));
    alice.wait_text("[data-testid=cloud-download]", "下载到本机", secs(30));
    alice.screenshot("cloud-recordings-a-zh");
    lang(&alice, "en");
    alice.click("[data-testid=rec-tab-cloud]");
    alice.click(&format!("[data-testid=cloud-{id}]"));

    // Download into the library, which alice encrypts at rest: progress,
    // then it is in the local list, sealed as it arrived.
    alice.invoke("recordings_set_encryption", json!({"on": true})).expect("encryption on");
    alice.click("[data-testid=cloud-download]");
    alice.wait_js("return document.querySelector('[data-testid=cloud-progress]')?.dataset.done === '1'", secs(60), "the download to finish");
    alice.click("[data-testid=rec-tab-local]");
    alice.wait_text("[data-testid=rec-list]", "cloud-bob-", secs(30));
    let local = alice.invoke("recordings_list", json!({})).expect("recordings_list");
    let rec = local.as_array().unwrap().iter().find(|r| r["name"].as_str().is_some_and(|n| n.starts_with("cloud-bob-"))).unwrap_or_else(|| panic!("{local}")).clone();
    assert_eq!(rec["encrypted"], true, "{rec}");
    let disk = std::fs::read(rec["path"].as_str().unwrap()).unwrap();
    assert!(!disk.windows(4).any(|w| w == b"ftyp" || w == b"moov"), "the download is not encrypted at rest");
    // Its plain copy (the key is in alice's secrets file: ONAIR_KEYCHAIN=off, as the app runs here).
    let plain = home_a.path().join("plain.mp4");
    let out = Command::new(onair_bin())
        .args(["recordings", "export", &rec["id"].to_string(), "--out", plain.to_str().unwrap()])
        .env("ONAIR_HOME", home_a.path())
        .env("ONAIR_KEYCHAIN", "off")
        .output()
        .unwrap();
    assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type:format=duration", "-show_chapters", "-of", "json"])
        .arg(&plain)
        .output()
        .expect("ffprobe");
    assert!(probe.status.success(), "ffprobe: {}", String::from_utf8_lossy(&probe.stderr));
    let p: Value = serde_json::from_slice(&probe.stdout).unwrap();
    let kinds: Vec<&str> = p["streams"].as_array().unwrap().iter().filter_map(|s| s["codec_type"].as_str()).collect();
    assert!(kinds.contains(&"video") && kinds.contains(&"audio"), "{p}");
    // The relay's remux names the stretch before the first bookmark "Start".
    let titles: Vec<&str> = p["chapters"].as_array().unwrap().iter().filter_map(|c| c["tags"]["title"].as_str()).collect();
    assert!(titles.contains(&"Bookmark by alice"), "the bookmark is a chapter: {p}");
    assert_eq!(rec["bookmarks"].as_array().map(Vec::len), Some(1), "{rec}");
    let dur: f64 = p["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0);
    assert!(dur > 3.0, "the download lasts {dur} s: {p}");
    alice.screenshot("cloud-downloaded-a");
}
