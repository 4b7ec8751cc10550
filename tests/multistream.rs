//! Going live to several destinations from one encode (issue 17): two real
//! nginx-rtmp ingests; one is killed and comes back while the other and a
//! local recording carry on untouched. Files are checked with ffprobe.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::nginx::Nginx;
use support::*;

/// Capture times (s) of every video packet of a file, in order.
fn video_times(path: &Path) -> Vec<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let mut t: Vec<f64> = text(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    t.sort_by(f64::total_cmp);
    t
}

fn largest_gap(t: &[f64]) -> f64 {
    t.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn one_destination_going_down_stops_neither_the_other_nor_the_recording() {
    let (mut a, mut b) = (Nginx::start(), Nginx::start());
    let home = Home::new();
    let rec = home.path().join("local.mp4");
    let stats = home.path().join("stats.json");
    let secs = 18.0;
    let mut child = home
        .onair()
        .args([
            "live",
            "--to",
            &a.url("keyA"),
            "--to",
            &b.url("keyB"),
            "--video",
            "test",
            "--audio",
            "test",
            "--preset",
            "480p30",
        ])
        .args([
            "--duration",
            &secs.to_string(),
            "--record",
            rec.to_str().expect("utf-8"),
            "--stats-json",
            stats.to_str().expect("utf-8"),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("onair runs");
    let stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });

    wait_until(
        Duration::from_secs(30),
        "both ingests to receive the stream",
        || {
            [&a, &b]
                .iter()
                .all(|n| n.recordings().first().is_some_and(|f| size(f) > 20_000))
        },
    );
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    b.stop(); // ~5 s in
    std::thread::sleep(Duration::from_secs(7));
    b.restart(); // ~12 s in
    let back = Instant::now();
    wait_until(Duration::from_secs(20), "the stream to resume on B", || {
        b.recordings().get(1).is_some_and(|f| size(f) > 20_000)
    });
    eprintln!(
        "B resumed {:.2} s after it came back ({:.1} s after the first data)",
        back.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );

    let status = child.wait().expect("onair exits");
    let log = reader.join().expect("stderr reader").join("\n");
    assert!(status.success(), "onair live failed:\n{log}");
    assert!(
        !log.contains("keyA") && !log.contains("keyB"),
        "a stream key leaked:\n{log}"
    );
    assert!(
        log.contains("reconnected") && log.contains(&format!("127.0.0.1:{}", b.port)),
        "{log}"
    );
    assert!(
        log.contains("down: rtmp://127.0.0.1:") || log.contains("RECONNECTING"),
        "the status line says which is down:\n{log}"
    );
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stats).expect("stats written"))
            .expect("stats are JSON");
    let d = s["destinations"].as_array().expect("per-destination stats");
    assert_eq!(d.len(), 2, "{s}");
    let (sa, sb) = (&d[0], &d[1]);
    assert!(
        sa["name"]
            .as_str()
            .is_some_and(|n| n.contains(&a.port.to_string()) && n.ends_with("/live/****")),
        "{sa}"
    );
    assert_eq!(
        (
            sa["reconnects"].as_u64(),
            sa["video_frames_dropped"].as_u64()
        ),
        (Some(0), Some(0)),
        "A was never disturbed: {sa}"
    );
    assert!(
        sb["reconnects"].as_u64() >= Some(1) && sb["video_frames_dropped"].as_u64() > Some(30),
        "B went down and came back: {sb}"
    );
    assert_eq!(sa["state"], "live");
    assert!(
        sa["bytes_sent"].as_u64() > sb["bytes_sent"].as_u64(),
        "A sent more than B, which was down: {s}"
    );
    assert_eq!(
        s["reconnects"].as_u64(),
        sb["reconnects"].as_u64(),
        "totals sum the destinations: {s}"
    );
    let encoded = s["video_frames_encoded"].as_u64().expect("number");

    // A got every second: one session, no gap, (almost) every frame.
    a.stop();
    b.stop();
    let a_files = a.recordings();
    assert_eq!(a_files.len(), 1, "A saw one unbroken session: {a_files:?}");
    let ta = video_times(&a_files[0]);
    assert!(
        ta.len() as u64 + 3 >= encoded,
        "A got {} of {encoded} frames",
        ta.len()
    );
    assert!(
        largest_gap(&ta) < 0.2,
        "A's stream has a gap of {:.2} s",
        largest_gap(&ta)
    );
    assert!(
        ta.last().copied().unwrap_or(0.0) - ta[0] > secs - 1.5,
        "A's stream spans {:.1} s",
        ta.last().unwrap_or(&0.0) - ta[0]
    );

    // B: the first session ends at the kill, the second is a proper stream.
    let b_files = b.recordings();
    assert!(
        b_files.len() >= 2,
        "B has a session before and after: {b_files:?}"
    );
    let resumed = ffprobe(&b_files[1]);
    assert_eq!(
        stream(&resumed, "video").expect("video")["codec_name"],
        "h264"
    );
    assert_eq!(
        stream(&resumed, "audio").expect("audio")["codec_name"],
        "aac"
    );
    let tb = video_times(&b_files[1]);
    assert!(
        tb.len() > 60,
        "B's resumed session holds {} frames",
        tb.len()
    );

    // The recording never noticed: whole length, every encoded frame, clean.
    let p = ffprobe(&rec);
    let dur = duration_s(&p);
    assert!(
        (secs - 1.0..secs + 1.5).contains(&dur),
        "recording is {dur} s, expected about {secs}"
    );
    assert_eq!(
        count_packets(&rec),
        encoded,
        "every encoded frame is in the recording: {s}"
    );
    assert!(largest_gap(&video_times(&rec)) < 0.2);
    assert_eq!(decode_errors(&rec), "");
}

#[test]
fn several_destinations_refuse_a_shared_key_and_an_all_dead_start() {
    let home = Home::new();
    let dead = format!("rtmp://127.0.0.1:{}/live/k1", free_port());
    let dead2 = format!("rtmp://127.0.0.1:{}/live/k2", free_port());
    let o = home.run(&[
        "live",
        "--to",
        &dead,
        "--to",
        &dead2,
        "--key",
        "sekrit",
        "--video",
        "test",
        "--audio",
        "test",
        "--duration",
        "1",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("put each key at the end of its own --to URL")
            && !text(&o.stderr).contains("sekrit"),
        "{}",
        text(&o.stderr)
    );

    let o = home.run(&[
        "live",
        "--to",
        &dead,
        "--to",
        &dead,
        "--video",
        "test",
        "--audio",
        "test",
        "--duration",
        "1",
    ]);
    assert!(
        !o.status.success()
            && text(&o.stderr).contains("given twice")
            && !text(&o.stderr).contains("k1"),
        "{}",
        text(&o.stderr)
    );

    let o = home.run(&[
        "live",
        "--to",
        &dead,
        "--to",
        &dead2,
        "--video",
        "test",
        "--audio",
        "test",
        "--duration",
        "1",
    ]);
    let err = text(&o.stderr);
    assert!(
        !o.status.success(),
        "going live with every destination down succeeded"
    );
    assert!(
        err.contains("could not connect to any destination") && err.contains("Connection refused"),
        "{err}"
    );
    assert!(
        !err.contains("/k1") && !err.contains("/k2"),
        "a key leaked: {err}"
    );
}
