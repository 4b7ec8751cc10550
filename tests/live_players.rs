//! The relay's own player page (`/watch/ROOM`, with `/static/live-player.js`)
//! in headless Chromium against a real `onair relay` with a quality ladder,
//! the FFmpeg CLI publishing: a viewer's quality choice plays that rung.

mod chat_support;

use chat_support::{wait_for, Relay, User};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

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

#[test]
fn the_watch_page_plays_the_quality_a_viewer_picks() {
    let relay = Relay::start_with(&["--ladder", "360p,audio"], false);
    let uma = User::register(&relay, "uma");
    let room: Value =
        serde_json::from_str(uma.ok(&["room", "create", "Quality", "--json"]).trim()).unwrap();
    let (id, rtmp) = (
        room["id"].as_str().unwrap().to_string(),
        room["rtmp_url"].as_str().unwrap().to_string(),
    );
    let _publisher = Kill(
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
                "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "aac", "-t", "120",
                "-f", "flv", &rtmp,
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
}
