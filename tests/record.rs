//! Recording to MP4: bookmarks as chapters, crash recovery, A/V sync, limits.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::*;

/// Spawns `onair` with piped stdin/stderr; stderr lines arrive on the channel.
fn spawn(home: &Home, args: &[&str]) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = home.onair().args(args).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    (child, rx)
}

/// Waits for a stderr line containing `pat` and returns it.
fn expect_line(rx: &mpsc::Receiver<String>, pat: &str, seen: &mut Vec<String>) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                seen.push(l.clone());
                if l.contains(pat) {
                    return l;
                }
            }
            Err(_) => panic!("no line with {pat:?}; got:\n{}", seen.join("\n")),
        }
    }
}

/// "bookmark at 2.3 s: label" → 2.3
fn bookmark_secs(line: &str) -> f64 {
    line.split("bookmark at ").nth(1).and_then(|r| r.split(' ').next()).and_then(|s| s.parse().ok()).unwrap()
}

fn chapters(p: &serde_json::Value) -> Vec<(f64, String)> {
    p["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["start_time"].as_str().unwrap().parse().unwrap(), c["tags"]["title"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn bookmarks_typed_on_stdin_become_chapters() {
    let home = Home::new();
    let out = home.path().join("talk.mp4");
    let stats = home.path().join("s.json");
    let (mut child, rx) = spawn(&home, &[
        "record", "--out", out.to_str().unwrap(), "--video", "test", "--audio", "test", "--preset", "480p30",
        "--duration", "8", "--stats-json", stats.to_str().unwrap(),
    ]);
    let mut seen = Vec::new();
    expect_line(&rx, "recording to", &mut seen);
    std::thread::sleep(Duration::from_millis(1500));
    let stdin = child.stdin.as_mut().unwrap();
    writeln!(stdin, "b intro").unwrap();
    let first = bookmark_secs(&expect_line(&rx, "bookmark at", &mut seen));
    std::thread::sleep(Duration::from_millis(2000));
    writeln!(child.stdin.as_mut().unwrap(), "b").unwrap();
    let second = bookmark_secs(&expect_line(&rx, "bookmark at", &mut seen));
    let status = child.wait().unwrap();
    seen.extend(rx.try_iter());
    assert!(status.success(), "{}", seen.join("\n"));
    let p = ffprobe(&out);
    let ch = chapters(&p);
    // MP4 chapters start at zero: a "Start" chapter covers the time before the first bookmark.
    assert_eq!(ch.len(), 3, "{p}");
    assert_eq!((ch[0].0, ch[0].1.as_str()), (0.0, "Start"));
    assert_eq!(ch[1].1, "intro");
    assert_eq!(ch[2].1, "Bookmark 2");
    assert!((ch[1].0 - first).abs() < 0.11, "chapter at {} vs bookmark at {first}", ch[1].0);
    assert!((ch[2].0 - second).abs() < 0.11, "chapter at {} vs bookmark at {second}", ch[2].0);
    assert!(second > first + 1.0);
    let d = duration_s(&p);
    assert!((7.0..9.0).contains(&d), "duration {d}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(s["bookmarks"], 2);
    // The library knows it, with its bookmarks.
    let list = home.run(&["recordings", "list", "--json"]);
    let line = text(&list.stdout);
    let r: serde_json::Value = serde_json::from_str(line.lines().next().expect("one recording")).unwrap();
    assert_eq!(r["state"], "done");
    assert_eq!(r["bookmarks"].as_array().unwrap().len(), 2);
    assert!(!out.with_extension("mp4.part").exists());
}

#[test]
fn a_recording_killed_mid_way_is_recovered_with_its_bookmarks() {
    let home = Home::new();
    let out = home.path().join("crash.mp4");
    let (mut child, rx) = spawn(&home, &[
        "record", "--out", out.to_str().unwrap(), "--video", "test", "--audio", "test", "--preset", "480p30",
    ]);
    let mut seen = Vec::new();
    expect_line(&rx, "recording to", &mut seen);
    std::thread::sleep(Duration::from_secs(1));
    writeln!(child.stdin.as_mut().unwrap(), "b before crash").unwrap();
    expect_line(&rx, "bookmark at", &mut seen);
    std::thread::sleep(Duration::from_secs(1));
    writeln!(child.stdin.as_mut().unwrap(), "b last words").unwrap();
    expect_line(&rx, "bookmark at", &mut seen);
    // Let a few fragments reach the disk, then crash hard.
    let part = home.path().join("crash.mp4.part");
    wait_until(Duration::from_secs(30), "fragments on disk", || {
        std::fs::metadata(&part).map(|m| m.len() > 200_000).unwrap_or(false)
    });
    std::thread::sleep(Duration::from_secs(1));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!out.exists(), "not finalised yet");

    let rec = home.run(&["recordings", "recover"]);
    let said = text(&rec.stdout);
    assert!(rec.status.success(), "{said}{}", text(&rec.stderr));
    assert!(said.contains("recovered recording"), "{said}");
    let p = ffprobe(&out);
    let titles: Vec<String> = chapters(&p).into_iter().map(|c| c.1).collect();
    assert_eq!(titles, vec!["Start", "before crash", "last words"]);
    assert!(duration_s(&p) >= 2.5, "{p}");
    assert!(stream(&p, "video").is_some() && stream(&p, "audio").is_some());
    assert_eq!(decode_errors(&out), "");
    assert!(!part.exists());
    // Recovering again finds nothing.
    let again = home.run(&["recordings", "recover"]);
    assert!(text(&again.stdout).contains("nothing to recover"));
}

#[test]
fn opening_the_library_recovers_automatically() {
    let home = Home::new();
    let out = home.path().join("auto.mp4");
    let (mut child, rx) = spawn(&home, &["record", "--out", out.to_str().unwrap(), "--video", "test", "--audio", "none", "--preset", "480p30"]);
    let mut seen = Vec::new();
    expect_line(&rx, "recording to", &mut seen);
    let part = home.path().join("auto.mp4.part");
    wait_until(Duration::from_secs(30), "fragments on disk", || {
        std::fs::metadata(&part).map(|m| m.len() > 100_000).unwrap_or(false)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let list = home.run(&["recordings", "list"]);
    assert!(list.status.success());
    assert!(text(&list.stderr).contains("recovered recording"), "{}", text(&list.stderr));
    assert!(text(&list.stdout).contains("recovered"));
    assert!(out.exists());
}

/// Times of the white flashes (video) and clicks (audio) in a recording.
fn flashes_and_clicks(path: &Path) -> (Vec<f64>, Vec<f64>) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg(format!("movie={},signalstats", path.display()))
        .args(["-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut flashes = Vec::new();
    for l in text(&out.stdout).lines() {
        let mut it = l.split(',');
        let (Some(t), Some(y)) = (it.next(), it.next()) else { continue };
        if let (Ok(t), Ok(y)) = (t.parse::<f64>(), y.parse::<f64>()) {
            if y > 200.0 {
                flashes.push(t);
            }
        }
    }
    let p = ffprobe(path);
    let a_start: f64 = stream(&p, "audio").unwrap()["start_time"].as_str().unwrap().parse().unwrap();
    let pcm = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:a", "-ac", "1", "-f", "f32le", "-"])
        .output()
        .unwrap();
    assert!(pcm.status.success());
    let samples: Vec<f32> = pcm.stdout.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let mut clicks = Vec::new();
    let mut quiet_until = 0usize;
    for (i, s) in samples.iter().enumerate() {
        if i >= quiet_until && s.abs() > 0.5 {
            clicks.push(a_start + i as f64 / 48_000.0);
            quiet_until = i + 24_000; // one click per half second at most
        }
    }
    (flashes, clicks)
}

#[test]
fn flash_and_click_stay_within_one_frame_over_60_seconds() {
    let home = Home::new();
    let out = home.path().join("sync.mp4");
    let r = home.run(&[
        "record", "--out", out.to_str().unwrap(), "--video", "test", "--audio", "test", "--preset", "480p30",
        "--duration", "60",
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let (flashes, clicks) = flashes_and_clicks(&out);
    assert!(flashes.len() >= 58, "flashes: {flashes:?}");
    assert!(clicks.len() >= 58, "clicks: {clicks:?}");
    let frame = 1.0 / 30.0;
    let mut worst: f64 = 0.0;
    for f in &flashes {
        let nearest = clicks.iter().map(|c| c - f).min_by(|a, b| a.abs().total_cmp(&b.abs())).unwrap();
        worst = worst.max(nearest.abs());
        assert!(nearest.abs() <= frame + 1e-3, "flash at {f:.3} s: nearest click {nearest:+.3} s away");
    }
    eprintln!("A/V sync: worst offset {:.1} ms over {} flashes", worst * 1000.0, flashes.len());
}

#[test]
fn stops_cleanly_on_sigterm_and_finalises() {
    let home = Home::new();
    let out = home.path().join("term.mp4");
    let (child, rx) = spawn(&home, &["record", "--out", out.to_str().unwrap(), "--video", "test", "--audio", "test", "--preset", "480p30"]);
    let mut seen = Vec::new();
    expect_line(&rx, "recording to", &mut seen);
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out_ = child.wait_with_output().unwrap();
    seen.extend(rx.try_iter());
    assert!(out_.status.success(), "{}", seen.join("\n"));
    let p = ffprobe(&out);
    assert!(duration_s(&p) >= 2.0);
    assert_eq!(decode_errors(&out), "");
}

#[test]
fn audio_only_recording() {
    let home = Home::new();
    let out = home.path().join("voice.mp4");
    let r = home.run(&["record", "--out", out.to_str().unwrap(), "--video", "none", "--audio", "test", "--duration", "3"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let p = ffprobe(&out);
    assert!(stream(&p, "video").is_none());
    assert_eq!(stream(&p, "audio").unwrap()["codec_name"], "aac");
    assert!((2.5..3.8).contains(&duration_s(&p)));
}

#[test]
fn low_disk_space_stops_cleanly_and_says_why() {
    let home = Home::new();
    let out = home.path().join("full.mp4");
    let r = home.run(&[
        "record", "--out", out.to_str().unwrap(), "--video", "test", "--audio", "test", "--duration", "10",
        "--min-free-mb", "999999999",
    ]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(3), "{err}");
    assert!(err.contains("MB free"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn file_sources_loop_and_default_output_goes_to_the_library() {
    let home = Home::new();
    let clip = make_clip(&home.path().join("clip.mp4"), 2, "testsrc2=size=640x360:rate=25");
    let file = format!("file:{}", clip.display());
    let r = home.run(&["record", "--video", &file, "--audio", &file, "--loop", "--preset", "480p30", "--duration", "5"]);
    let err = text(&r.stderr);
    assert!(r.status.success(), "{err}");
    let list = home.run(&["recordings", "list", "--json"]);
    let rec: serde_json::Value = serde_json::from_str(text(&list.stdout).lines().next().unwrap()).unwrap();
    let path = std::path::PathBuf::from(rec["path"].as_str().unwrap());
    assert!(path.starts_with(home.path().join("recordings")), "{path:?}");
    assert!(err.contains(path.to_str().unwrap()), "says where the file is: {err}");
    let p = ffprobe(&path);
    let d = duration_s(&p);
    assert!((4.3..5.8).contains(&d), "looped 2 s clip for 5 s, got {d}");
    assert_eq!(stream(&p, "video").unwrap()["width"], 854);
}

#[test]
fn overlay_goes_in_the_chosen_corner() {
    let home = Home::new();
    let red = make_clip(&home.path().join("red.mp4"), 3, "color=c=red:size=640x360:rate=30");
    let blue = make_clip(&home.path().join("blue.mp4"), 3, "color=c=blue:size=640x360:rate=30");
    let out = home.path().join("pip.mp4");
    let r = home.run(&[
        "record", "--out", out.to_str().unwrap(), "--video", &format!("file:{}", red.display()),
        "--overlay", &format!("file:{}", blue.display()), "--overlay-corner", "top-left", "--overlay-size", "30",
        "--audio", "none", "--preset", "480p30", "--duration", "2",
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    // One decoded frame as RGB: top-left is blue, bottom-right is red.
    let f = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-ss", "1", "-i"])
        .arg(&out)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(f.status.success());
    let px = |x: usize, y: usize| {
        let i = (y * 854 + x) * 3;
        (f.stdout[i], f.stdout[i + 1], f.stdout[i + 2])
    };
    let (r1, _, b1) = px(60, 40);
    assert!(b1 > 180 && r1 < 80, "top-left should be blue, got {:?}", px(60, 40));
    let (r2, _, b2) = px(700, 400);
    assert!(r2 > 180 && b2 < 80, "bottom-right should be red, got {:?}", px(700, 400));
}

#[test]
fn the_maximum_recording_length_stops_cleanly() {
    let home = Home::new();
    let out = home.path().join("max.mp4");
    let r = home.run(&[
        "record", "--out", out.to_str().unwrap(), "--video", "test", "--audio", "test", "--preset", "480p30",
        "--max-length", "2", "--duration", "30",
    ]);
    let err = text(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(err.contains("maximum recording length"), "{err}");
    let d = duration_s(&ffprobe(&out));
    assert!((1.5..3.5).contains(&d), "stopped at {d} s");
}
