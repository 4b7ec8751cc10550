//! Headless Chromium driven by URL parameters; the `/call` page reports
//! progress as `ONAIR ...` console lines, which `--enable-logging=stderr`
//! writes to the log file we read. Fake camera and microphone, no
//! downloads, a fresh profile each time.

use super::Proc;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Browser {
    _proc: Proc,
    pub log: PathBuf,
    pub name: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub fn open(name: &str, url: &str) -> Browser {
        Self::open_with(name, url, &[])
    }

    /// [`Browser::open`] with extra Chromium flags.
    pub fn open_with(name: &str, url: &str, extra: &[String]) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let log = profile.path().join("chromium.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
            .arg(url)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("run chromium (Debian package chromium)");
        Browser { _proc: Proc(child, None), log, name: name.into(), _profile: profile }
    }

    /// The page's `ONAIR ...` lines so far (the text after `ONAIR `).
    pub fn lines(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().filter_map(|l| l.split("\"ONAIR ").nth(1)).map(|l| l.split("\", source:").next().unwrap_or(l).to_string()).collect()
    }

    /// Waits (up to `secs`) for a line containing `what`.
    pub fn wait_line(&self, what: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(l) = self.lines().into_iter().find(|l| l.contains(what)) {
                return l;
            }
            assert!(Instant::now() < deadline, "{}: no {what:?} within {secs} s; page said:\n{}", self.name, self.lines().join("\n"));
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The newest `stats` line's `key=value` value.
    pub fn stat(&self, key: &str) -> Option<String> {
        let l = self.lines().into_iter().rev().find(|l| l.starts_with("stats "))?;
        l.split(' ').find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
    }

    /// Waits until the page has decoded at least `n` video frames and
    /// received audio; returns the newest stats line's fields.
    pub fn wait_decoded(&self, n: u64, secs: u64) -> (u64, u64, String, String) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let frames: u64 = self.stat("frames_decoded").and_then(|v| v.parse().ok()).unwrap_or(0);
            let audio: u64 = self.stat("audio_packets_received").and_then(|v| v.parse().ok()).unwrap_or(0);
            if frames >= n && audio > 0 {
                return (frames, audio, self.stat("codec").unwrap_or_default(), self.stat("pair").unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "{}: decoded {frames} frames, {audio} audio packets after {secs} s; page said:\n{}", self.name, self.lines().join("\n"));
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}
