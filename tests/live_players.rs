//! The relay's own player page (`/watch/ROOM`, with `/static/live-player.js`)
//! in headless Chromium against a real `onair relay` with a quality ladder,
//! the FFmpeg CLI publishing: a viewer's quality choice plays that rung, and
//! the live's replay resumes where it was after the relay was away for 5 s.

mod chat_support;

use chat_support::{wait_for, Relay, User};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Headless Chromium on `url`; its `console.log` lines (stderr) collected.
fn chromium(url: &str, profile: &std::path::Path) -> (Kill, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--autoplay-policy=no-user-gesture-required",
            url,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium is installed (scripts/deps.sh test)");
    let err = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            l.lock().unwrap().push(line);
        }
    });
    (Kill(child), lines)
}

/// `key=value` from the newest progress line that has it.
fn last_field(lines: &Mutex<Vec<String>>, key: &str) -> Option<String> {
    let lines = lines.lock().unwrap();
    lines
        .iter()
        .rev()
        .filter(|l| l.contains("ONAIR player frames="))
        .find_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .map(|v| v.trim_end_matches(['"', ',']).to_string())
        })
}

/// A userspace TCP forwarder to `to` that sends what comes back at most
/// `rate` bytes/s (the kernel here has no netem), so the browser reads only
/// a few seconds of a replay ahead; while `cut` is set the network is down:
/// open connections drop what they hold and close, new ones are closed.
fn throttle(to: String, rate: f64, cut: Arc<AtomicBool>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let next = Arc::new(Mutex::new(Instant::now()));
    std::thread::spawn(move || {
        for down in l.incoming().map_while(Result::ok) {
            if cut.load(Ordering::SeqCst) {
                continue;
            }
            let Ok(up) = TcpStream::connect(&to) else {
                continue;
            };
            let cut = cut.clone();
            let (mut d2, mut u2) = (down.try_clone().unwrap(), up.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut d2, &mut u2);
                let _ = u2.shutdown(Shutdown::Write);
            });
            let next = next.clone();
            std::thread::spawn(move || {
                let (mut from, mut to) = (up, down);
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = from.read(&mut buf) {
                    let at = {
                        let mut g = next.lock().unwrap();
                        let at = (*g).max(Instant::now());
                        *g = at + Duration::from_secs_f64(n as f64 / rate);
                        at
                    };
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                    if cut.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

/// `at=` of the page's first `ONAIR replay STATE` line.
fn replay_at(lines: &Mutex<Vec<String>>, state: &str) -> Option<f64> {
    let needle = format!("ONAIR replay {state} at=");
    let lines = lines.lock().unwrap();
    lines.iter().find_map(|l| {
        l.split(&needle)
            .nth(1)?
            .split(|c: char| c == '"' || c.is_whitespace())
            .next()?
            .parse()
            .ok()
    })
}

/// The newest `currentTime=` the page logged.
fn last_progress(lines: &Mutex<Vec<String>>) -> Option<f64> {
    let lines = lines.lock().unwrap();
    lines.iter().rev().find_map(|l| {
        l.split("ONAIR replay progress currentTime=")
            .nth(1)?
            .split(|c: char| c == '"' || c.is_whitespace())
            .next()?
            .parse()
            .ok()
    })
}

#[test]
fn the_watch_page_plays_the_quality_a_viewer_picks() {
    let mut relay = Relay::start_with(&["--ladder", "360p,audio"], false);
    let uma = User::register(&relay, "uma");
    let room: Value =
        serde_json::from_str(uma.ok(&["room", "create", "Quality", "--json"]).trim()).unwrap();
    let (id, rtmp) = (
        room["id"].as_str().unwrap().to_string(),
        room["rtmp_url"].as_str().unwrap().to_string(),
    );
    // 15 s at a constant 1.5 Mbit/s: a replay whose rate is known.
    let mut publisher = Kill(
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
                "-c:a",
                "aac",
                "-t",
                "15",
                "-f",
                "flv",
                &rtmp,
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("ffmpeg is installed"),
    );
    // The page opens at the quality its link names (the menu's choice).
    let profile = tempfile::tempdir().unwrap();
    let (_browser, lines) = chromium(
        &format!("{}/watch/{id}?quality=360p", relay.url()),
        profile.path(),
    );
    let first: u64 = wait_for(120, "the 360p rung playing at 640x360", || {
        (last_field(&lines, "rung=").as_deref() == Some("360p")
            && last_field(&lines, "size=").as_deref() == Some("640x360"))
        .then(|| last_field(&lines, "frames=")?.parse().ok())?
    });
    wait_for(60, "frames decoded at 360p", || {
        let errors: Vec<String> = lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("ONAIR player error"))
            .cloned()
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        (last_field(&lines, "frames=")?.parse::<u64>().ok()? >= first + 30).then_some(())
    });
    // Its latency, as the page shows it ("360p · 0.8 s behind").
    let behind: f64 = last_field(&lines, "behind=")
        .and_then(|b| b.parse().ok())
        .unwrap();
    eprintln!("the /watch page at 360p: {behind:.2} s behind the newest media received");
    assert!(behind < 5.0, "{behind}");

    drop(_browser);

    // The live ends; its replay plays on the page through a link of 1.5
    // times its rate, and the relay goes away for 5 s.
    let _ = publisher.0.wait();
    wait_for(60, "the replay listed", || {
        uma.json_lines(&["room", "replays", &id, "--json"])
            .first()
            .cloned()
    });
    let cut = Arc::new(AtomicBool::new(false));
    let port = throttle(relay.addr.clone(), 300_000.0, cut.clone());
    let profile = tempfile::tempdir().unwrap();
    let (_browser, lines) = chromium(
        &format!("http://127.0.0.1:{port}/watch/{id}?replay=latest"),
        profile.path(),
    );
    wait_for(60, "the replay playing 3 s", || {
        (last_progress(&lines)? > 3.0).then_some(())
    });
    cut.store(true, Ordering::SeqCst);
    relay.kill9();
    let away = Instant::now();
    let stopped = wait_for(30, "the page reconnecting", || {
        replay_at(&lines, "reconnecting")
    });
    std::thread::sleep(Duration::from_secs(5).saturating_sub(away.elapsed()));
    relay.start_again();
    cut.store(false, Ordering::SeqCst);
    let resumed = wait_for(60, "the replay resuming", || replay_at(&lines, "playing"));
    eprintln!("the /watch page's replay stalled at {stopped:.1} s and resumed at {resumed:.1} s");
    assert!(
        (resumed - stopped).abs() <= 2.0 && stopped > 2.0,
        "stalled at {stopped:.1} s, resumed at {resumed:.1} s"
    );
    drop(_browser);

    // The replay's renditions, made after the live (again after the relay's
    // restart, if it cut them short): a `?quality=360p` link plays 640×360.
    wait_for(120, "the replay's 360p and audio renditions", || {
        let r = uma.json_lines(&["room", "replays", &id, "--json"]).into_iter().next()?;
        (r["renditions"].as_array()?.len() == 3).then_some(())
    });
    let profile = tempfile::tempdir().unwrap();
    let (_browser, lines) = chromium(&format!("{}/watch/{id}?replay=latest&quality=360p", relay.url()), profile.path());
    wait_for(60, "the replay's 360p rendition playing", || {
        lines.lock().unwrap().iter().any(|l| l.contains("ONAIR replay progress") && l.contains("size=640x360 rendition=360p")).then_some(())
    });
}
