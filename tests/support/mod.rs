//! Helpers for the behaviour tests: the real `onair` binary with an isolated
//! `ONAIR_HOME`, a real nginx-rtmp on 127.0.0.1, and ffprobe.
#![allow(dead_code)]

pub mod nginx;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A test's own data directory; dropped with the test.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Home { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `onair` with ONAIR_HOME pointing here and no inherited stdin.
    pub fn onair(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_onair"));
        c.env("ONAIR_HOME", self.path()).env_remove("ONAIR_STREAM_KEY").stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.onair().args(args).output().expect("run onair")
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts a command failed cleanly: non-zero exit, an error message, no panic.
pub fn assert_clean_failure(out: &Output, must_mention: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "expected failure, got success; stderr:\n{err}");
    assert!(!err.contains("panicked"), "panicked:\n{err}");
    assert!(
        err.to_lowercase().contains(&must_mention.to_lowercase()),
        "stderr should mention {must_mention:?}:\n{err}"
    );
}

/// Polls `cond` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// ffprobe's JSON for a file or URL: format, streams and chapters.
pub fn ffprobe(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-show_chapters"])
        .arg(path)
        .output()
        .expect("ffprobe is installed (scripts/deps.sh test)");
    assert!(out.status.success(), "ffprobe {} failed: {}", path.display(), text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

pub fn stream<'a>(probe: &'a serde_json::Value, kind: &str) -> Option<&'a serde_json::Value> {
    probe["streams"].as_array()?.iter().find(|s| s["codec_type"] == kind)
}

pub fn duration_s(probe: &serde_json::Value) -> f64 {
    probe["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0)
}

/// Counts the video frames of a file by decoding it.
pub fn count_frames(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    text(&out.stdout).trim().trim_end_matches(',').parse().unwrap_or(0)
}

/// Counts the video packets of a file (no decoding).
pub fn count_packets(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    text(&out.stdout).trim().trim_end_matches(',').parse().unwrap_or(0)
}

/// Decodes the whole file and returns FFmpeg's error output (empty when clean).
pub fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "ffmpeg could not decode {}: {}", path.display(), text(&out.stderr));
    text(&out.stderr)
}

/// Makes a small media file with FFmpeg's own generators.
pub fn make_clip(path: &Path, secs: u32, video: &str) -> PathBuf {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i"])
        .arg(format!("{video}:duration={secs}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=1000:duration={secs}"))
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        .arg(path)
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "making {}: {}", path.display(), text(&out.stderr));
    path.to_owned()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}
