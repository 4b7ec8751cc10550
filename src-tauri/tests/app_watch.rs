//! The Watch screen of the real app (WebKitWebDriver + Xvfb) against a real
//! `onair relay` with a quality ladder, the FFmpeg CLI publishing: the
//! viewer picks "Smooth 360p" and the picture becomes 640×360; then the
//! live's replay plays, the relay is stopped for 5 s and started again on
//! the same port, and the replay resumes where it was.

mod support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{secs, App, Launch};

/// The `onair` binary `cargo test --workspace` builds beside the app.
fn onair_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let p = target.join("debug").join("onair");
    assert!(
        p.exists(),
        "{} is missing: build it with `cargo build --bin onair` (cargo test --workspace does)",
        p.display()
    );
    p
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `onair relay --ladder 360p,audio` on `port`, on the data in `dir`.
fn relay(dir: &Path, port: u16) -> Kill {
    let ready = dir.join("ready");
    let _ = std::fs::remove_file(&ready);
    let start = Instant::now();
    loop {
        let mut child = Command::new(onair_bin())
            .args([
                "relay",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--rtmp",
                "127.0.0.1:0",
                "--ladder",
                "360p,audio",
                "--data",
            ])
            .arg(dir.join("relay"))
            .arg("--ready-file")
            .arg(&ready)
            .env("ONAIR_HOME", dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("start onair relay");
        // A restart may find the port not yet free: the relay exits, and is started again.
        while start.elapsed() < secs(60) {
            if std::fs::read_to_string(&ready).is_ok_and(|s| !s.is_empty()) {
                return Kill(child);
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            start.elapsed() < secs(60),
            "the relay did not start on port {port}"
        );
    }
}

/// A userspace TCP forwarder from a free port to `to` (the relay), with a
/// rate limit on what flows back that the test sets as it goes (bytes/s; 0:
/// none): the kernel here has no netem. A relay that is down closes the
/// viewer's connection, as a network drop does.
struct Throttle {
    port: u16,
    rate: Arc<AtomicU64>,
    /// The network is down: open connections drop what they hold and close, new ones are closed.
    cut: Arc<AtomicBool>,
}

fn throttle(to: u16) -> Throttle {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let rate = Arc::new(AtomicU64::new(0));
    let cut = Arc::new(AtomicBool::new(false));
    let c = cut.clone();
    let next = Arc::new(Mutex::new(Instant::now()));
    let r = rate.clone();
    std::thread::spawn(move || {
        for down in l.incoming().map_while(Result::ok) {
            if c.load(Ordering::SeqCst) {
                continue;
            }
            let Ok(up) = TcpStream::connect(("127.0.0.1", to)) else {
                continue;
            };
            let (mut d2, mut u2) = (down.try_clone().unwrap(), up.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut d2, &mut u2);
                let _ = u2.shutdown(Shutdown::Write);
            });
            let (rate, next, cut) = (r.clone(), next.clone(), c.clone());
            std::thread::spawn(move || pace(up, down, &rate, &next, &cut));
        }
    });
    Throttle { port, rate, cut }
}

/// Copies `from` to `to`, in 16 KiB pieces spaced to the current rate.
fn pace(
    mut from: TcpStream,
    mut to: TcpStream,
    rate: &AtomicU64,
    next: &Mutex<Instant>,
    cut: &AtomicBool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let r = rate.load(Ordering::Relaxed);
        if r > 0 {
            let at = {
                let mut g = next.lock().unwrap();
                let at = (*g).max(Instant::now());
                *g = at + Duration::from_secs_f64(n as f64 / r as f64);
                at
            };
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
        }
        if cut.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

fn wait(mut cond: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < secs(90), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_watch_screen_picks_a_quality_and_a_replay_survives_the_relay_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut server = relay(dir.path(), port);
    let url = format!("http://127.0.0.1:{port}");
    // A streamer's room, made with the CLI.
    let cli = |args: &[&str]| {
        let o = Command::new(onair_bin())
            .args(args)
            .env("ONAIR_HOME", dir.path())
            .env("ONAIR_PASSWORD", "correct horse battery")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "onair {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    cli(&["account", "register", "--relay", &url, "--user", "sam"]);
    let room: Value =
        serde_json::from_str(cli(&["room", "create", "Ladder show", "--json"]).trim()).unwrap();
    let (id, rtmp) = (
        room["id"].as_str().unwrap().to_string(),
        room["rtmp_url"].as_str().unwrap().to_string(),
    );

    let home = tempfile::tempdir().unwrap();
    let mut l = Launch::new(home.path());
    // The app reaches the relay through the throttle (unlimited while live).
    let net = throttle(port);
    l.relay_url = Some(format!("http://127.0.0.1:{}", net.port));
    let app = App::launch(l);

    // 30 s of 854×480 at a constant 1.5 Mbit/s (about 200 KB/s with audio):
    // the replay's size is known, so the throttle can keep the player's
    // read-ahead short and stopping the relay really cuts it off.
    let publisher = Kill(
        Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-v",
                "error",
                "-re",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=854x480:rate=30",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440",
            ])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-g",
                "30",
                "-b:v",
                "1500k",
                "-maxrate",
                "1500k",
                "-bufsize",
                "1M",
                "-x264-params",
                "nal-hrd=cbr",
            ])
            .args(["-c:a", "aac", "-t", "30", "-f", "flv", &rtmp])
            .stdout(Stdio::null())
            .spawn()
            .expect("ffmpeg is installed"),
    );
    wait(
        || {
            app.invoke("watch_rooms", json!({"all": false, "search": null}))
                .is_ok_and(|r| {
                    r.as_array().is_some_and(|r| {
                        r.iter().any(|x| {
                            x["id"] == json!(id)
                                && x["ladder"].as_array().is_some_and(|l| l.len() == 3)
                        })
                    })
                })
        },
        "the live room with its ladder (source, 360p, audio)",
    );

    app.eval("localStorage.setItem('onair.lang', 'en'); window.dispatchEvent(new CustomEvent('onair:language')); return true");
    app.click("[data-testid=nav-watch]");
    open_room(&app, &id);
    app.wait_js("return Number(document.querySelector('[data-testid=watch-status]').dataset.frames || 0) > 10", secs(90), "the source playing");
    let offered = app.eval("return [...document.querySelectorAll('[data-testid=watch-quality] option')].map(o => o.textContent)");
    assert_eq!(
        offered,
        json!(["Auto", "Source", "Smooth 360p", "Audio only"]),
        "the menu offers what the room has"
    );
    // Auto (the default) on a link that cannot carry the source (1 Mbit/s
    // against its 1.5): the player falls behind and steps down to 360p.
    assert_eq!(
        app.eval("return document.querySelector('[data-testid=watch-quality]').value"),
        json!("auto")
    );
    net.rate.store(125_000, Ordering::Relaxed);
    let throttled = Instant::now();
    app.wait_js(
        "const v = document.querySelector('[data-testid=watch-video]'); return document.querySelector('[data-testid=watch-status]').dataset.rung === '360p' && v.videoHeight === 360",
        secs(90),
        "Auto to step down to 360p on a 1 Mbit/s link",
    );
    eprintln!(
        "Auto stepped down to 360p {:.1} s after the link dropped to 1 Mbit/s",
        throttled.elapsed().as_secs_f64()
    );
    // The directory's row and the room's own line tell the same audience.
    app.wait_js(
        "const row = document.querySelector('[data-testid=watch-rooms] .room.active .room-when'); const line = document.querySelector('[data-testid=watch-room-line]'); return !!row && !!line && /viewer/.test(line.textContent) && line.textContent.endsWith(row.textContent.split(' · ').pop())",
        secs(30),
        "the directory's row and the room's line to agree on the viewer count",
    );
    app.screenshot("watch-auto-stepped-down");
    net.rate.store(0, Ordering::Relaxed);
    app.select("[data-testid=watch-quality]", "360p");
    app.wait_js(
        "const v = document.querySelector('[data-testid=watch-video]'); return v.videoWidth === 640 && v.videoHeight === 360 && document.querySelector('[data-testid=watch-status]').dataset.rung === '360p'",
        secs(90),
        "the picture at 640x360",
    );
    app.wait_text("[data-testid=watch-status]", "360p ·", secs(30));
    app.screenshot("watch-quality-360p");

    // The live runs its 30 s and ends; its replay plays.
    let mut publisher = publisher;
    let _ = publisher.0.wait();
    app.wait_js(
        "return document.querySelector('[data-testid=watch-ended-replay]')?.hidden === false",
        secs(90),
        "the replay offered",
    );
    // The replay comes at 1.5 times its rate: a few seconds read ahead.
    net.rate.store(300_000, Ordering::Relaxed);
    app.click("[data-testid=watch-ended-replay]");
    let diag = "const v = document.querySelector('[data-testid=watch-video]'); return JSON.stringify({ t: v.currentTime, src: v.currentSrc, rs: v.readyState, ns: v.networkState, err: v.error && v.error.message, paused: v.paused, status: document.querySelector('[data-testid=watch-status]').textContent })";
    let start = Instant::now();
    while app.eval("return document.querySelector('[data-testid=watch-video]').currentTime > 3")
        != json!(true)
    {
        assert!(
            start.elapsed() < secs(60),
            "the replay to play 3 s: {}",
            app.eval(diag)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let at = |app: &App| {
        app.eval("return document.querySelector('[data-testid=watch-video]').currentTime")
            .as_f64()
            .unwrap_or(0.0)
    };

    // The relay goes away for 5 s: the screen says it is reconnecting.
    let playing_at = at(&app);
    net.cut.store(true, Ordering::SeqCst);
    drop(server);
    let cut = Instant::now();
    let start = Instant::now();
    while app.eval("return document.querySelector('[data-testid=watch-status]').dataset.replay === 'reconnecting'") != json!(true) {
        assert!(start.elapsed() < secs(30), "\"Reconnecting…\" while the relay is away: {}", app.eval(diag));
        std::thread::sleep(Duration::from_millis(250));
    }
    app.wait_text("[data-testid=watch-status]", "Reconnecting", secs(5));
    // Where the player stopped (it plays on what it had read, then stalls).
    let before: f64 = app
        .eval("return document.querySelector('[data-testid=watch-status]').dataset.resumeAt")
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    assert!(
        before >= playing_at - 0.5,
        "the position kept ({before:.1} s) is where it was playing ({playing_at:.1} s) or later"
    );
    app.screenshot("watch-replay-reconnecting");
    // Away for 5 s in all (a scenario, not a wait for a condition).
    std::thread::sleep(secs(5).saturating_sub(cut.elapsed()));
    server = relay(dir.path(), port);
    net.cut.store(false, Ordering::SeqCst);
    // Back: playing again from where it was (±2 s), not from the start.
    app.wait_js(
        "return document.querySelector('[data-testid=watch-status]').dataset.replay === 'playing'",
        secs(60),
        "the replay to resume",
    );
    let resumed = at(&app);
    assert!(
        (resumed - before).abs() <= 2.0,
        "stopped at {before:.1} s, resumed at {resumed:.1} s"
    );
    app.wait_js(
        &format!(
            "return document.querySelector('[data-testid=watch-video]').currentTime > {}",
            resumed + 1.0
        ),
        secs(30),
        "the replay to play on",
    );
    eprintln!(
        "replay: the relay went away at {before:.1} s into it, playback resumed at {resumed:.1} s"
    );

    // The replay's renditions (made by the relay after the live): the menu
    // offers them, and 360p plays the same moment at 640×360.
    net.rate.store(0, Ordering::Relaxed);
    app.wait_js(
        "return !!document.querySelector('[data-testid=watch-replays] button.replay[data-renditions=\"3\"]')",
        secs(90),
        "the replay listed with its 360p and audio renditions",
    );
    app.click("[data-testid=watch-replays] button.replay");
    app.wait_js(
        "const s = document.querySelector('[data-testid=watch-quality]'); return !s.hidden && [...s.options].map(o => o.value).join() === 'source,360p,audio'",
        secs(30),
        "the replay's quality menu",
    );
    app.wait_js("return document.querySelector('[data-testid=watch-video]').currentTime > 2", secs(60), "the replay to play 2 s");
    let was = at(&app);
    app.select("[data-testid=watch-quality]", "360p");
    app.wait_js(
        "const v = document.querySelector('[data-testid=watch-video]'); return v.videoHeight === 360 && v.currentSrc.includes('.360p.mp4')",
        secs(60),
        "the 360p rendition of the replay",
    );
    let now = at(&app);
    assert!(now >= was - 1.0, "the 360p rendition went on from {was:.1} s, not from the start ({now:.1} s)");
    drop(server);
}

/// Opens a room from the Watch directory (it redraws every 10 s: a click
/// that lands as its row is replaced opens nothing, so click again).
fn open_room(app: &App, room: &str) {
    let row = format!("[data-room=\"{room}\"]");
    for _ in 0..6 {
        app.click(&row);
        let start = Instant::now();
        while start.elapsed() < secs(5) {
            if app.eval("return !!document.querySelector('[data-testid=watch-video]')")
                == json!(true)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    app.screenshot("watch-not-opened");
}

/// Followers (issue 17): a viewer follows a streamer from the Watch screen;
/// when the streamer goes live (FFmpeg publishing into the room) the app
/// shows "sam is live: TITLE" at once, and the followed room under "Live
/// now from people you follow".
#[test]
fn following_a_streamer_in_watch_brings_a_go_live_notice() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let _server = relay(dir.path(), port);
    let url = format!("http://127.0.0.1:{port}");
    let cli = |args: &[&str]| {
        let o = Command::new(onair_bin())
            .args(args)
            .env("ONAIR_HOME", dir.path())
            .env("ONAIR_PASSWORD", "correct horse battery")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(o.status.success(), "onair {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    cli(&["account", "register", "--relay", &url, "--user", "sam"]);
    let room: Value = serde_json::from_str(cli(&["room", "create", "Sam's studio", "--category", "music", "--json"]).trim()).unwrap();
    let (id, rtmp) = (room["id"].as_str().unwrap().to_string(), room["rtmp_url"].as_str().unwrap().to_string());

    let home = tempfile::tempdir().unwrap();
    let mut l = Launch::new(home.path());
    l.relay_url = Some(url.clone());
    let app = App::launch(l);
    app.invoke("chat_sign_in", json!({"user": "viv", "password": "correct horse battery", "register": true})).expect("viv signs up");
    wait(|| app.invoke("chat_status", json!({})).ok().is_some_and(|s| s["online"] == true), "the app's relay link");

    // Watch, with offline rooms shown: open sam's room and follow him.
    app.click("[data-testid=nav-watch]");
    app.eval("document.querySelector('[data-testid=screen-watch] aside input[type=checkbox]').click()");
    app.find(&format!("[data-room=\"{id}\"]"));
    open_room(&app, &id);
    app.wait_text("[data-testid=watch-follow]", "Follow sam", secs(30));
    app.click("[data-testid=watch-follow]");
    app.wait_js("return document.querySelector('[data-testid=watch-follow]')?.dataset.following === 'true'", secs(30), "the Follow button to say followed");
    app.wait_text("[data-testid=watch-rooms]", "1 follower", secs(30));
    // The room itself too (issue 17: a streamer or a room): still one notice per go-live.
    app.wait_text("[data-testid=watch-follow-room]", "Follow this room", secs(30));
    app.click("[data-testid=watch-follow-room]");
    app.wait_js("return document.querySelector('[data-testid=watch-follow-room]')?.dataset.following === 'true'", secs(30), "the room's Follow button to say followed");
    let follows = app.invoke("watch_following", json!({})).expect("watch_following");
    let follows = follows["follows"].to_string();
    assert!(follows.contains(&format!("room:{id}")) && follows.contains("user:sam"), "{follows}");

    // sam goes live: the notice comes once, in plain words.
    let _publisher = Kill(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440"])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-t", "40", "-f", "flv", &rtmp])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg is installed"),
    );
    app.wait_text("[data-testid=live-notice]", "sam is live: Sam's studio", secs(30));
    app.wait_text("[data-testid=watch-following]", "sam: Sam's studio", secs(30));
    // The room open while offline starts playing on the notice.
    app.wait_js("return Number(document.querySelector('[data-testid=watch-status]')?.dataset.frames ?? 0) > 10", secs(40), "the open room to play once live");
    app.screenshot("watch-follow-notice");
    let n = app.eval("return document.querySelectorAll('[data-testid=live-notice]').length");
    assert_eq!(n, json!(1), "one notice for one go-live");
    // Its Watch button opens the room.
    app.click("[data-testid=live-notice-watch]");
    app.wait_text("[data-testid=watch-title]", "Sam's studio", secs(30));

    // Go live's room details (room_studio): viv sets her own room's
    // category and cover; sam's room is not hers to change.
    let png = dir.path().join("cover.png");
    let ok = Command::new("ffmpeg").args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=orange:s=320x180", "-frames:v", "1"]).arg(&png).status().unwrap();
    assert!(ok.success());
    let bytes: Vec<u8> = std::fs::read(&png).unwrap();
    let mine = app.invoke("live_room_create", json!({"title": "Viv's corner", "category": null, "private": false})).expect("viv's room");
    let mine = mine["id"].as_str().unwrap().to_string();
    let info = app.invoke("room_studio", json!({"room": mine, "category": "talk", "cover": bytes})).expect("viv sets her room's cover");
    assert_eq!((info["category"].as_str(), info["has_cover"].as_bool()), (Some("talk"), Some(true)), "{info}");
    let refused = app.invoke("room_studio", json!({"room": id, "category": "spam", "cover": null})).expect_err("another user's room");
    assert!(refused.to_string().contains("owner"), "{refused}");
    let not_a_picture = app.invoke("room_studio", json!({"room": mine, "category": null, "cover": b"<svg onload=alert(1)>".to_vec()})).expect_err("not a picture");
    assert!(not_a_picture.to_string().contains("PNG, JPEG or WebP"), "{not_a_picture}");
}
