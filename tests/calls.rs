//! 1:1 calls end to end: two `onair call` processes through a real
//! `onair relay` on 127.0.0.1 (test sources, 320x240), with coturn for the
//! relay-only ICE test, and ffprobe on the recordings.

mod cli_call_support;
use cli_call_support::*;

const SECS: &str = "20";

/// Each side decoded at least 90 % of what the other sent.
fn assert_media_both_ways(a: &serde_json::Value, b: &serde_json::Value) {
    for (name, tx, rx) in [("alice→bob", a, b), ("bob→alice", b, a)] {
        let sent = n(tx, "video_frames_sent");
        let decoded = n(rx, "video_frames_decoded");
        assert!(sent >= 100.0, "{name}: only {sent} frames sent");
        assert!(decoded >= 0.9 * sent, "{name}: decoded {decoded} of {sent} frames");
        assert!(n(rx, "audio_packets_received") >= 0.5 * n(tx, "audio_packets_sent").max(100.0), "{name}: audio: {rx}");
        assert!(n(rx, "audio_samples_decoded") > 0.0, "{name}: no audio decoded");
        assert_eq!(rx["video_width"], 320, "{name}");
    }
}

#[test]
fn two_cli_peers_call_through_the_relay() {
    let _g = serial();
    let relay = RelayProc::start(&[]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let mut b = bob.call(&["--answer", "--from", "alice", "--stats-json", bob.path("b.json").to_str().unwrap()]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call(&["bob", "--duration", SECS, "--stats-json", alice.path("a.json").to_str().unwrap()]);
    assert_eq!(a.finish(180), 0, "alice's call failed");
    assert_eq!(b.finish(60), 0, "bob's call failed");
    let (sa, sb) = (stats(&alice.path("a.json")), stats(&bob.path("b.json")));
    eprintln!("alice: {sa}\nbob: {sb}");
    assert_media_both_ways(&sa, &sb);
    for s in [&sa, &sb] {
        assert!(n(s, "latency_ms_p50") > 0.0 && n(s, "latency_ms_p95") >= n(s, "latency_ms_p50"), "{s}");
        assert!(s["rtt_ms"].is_number(), "no RTT: {s}");
        assert!((0.0..=100.0).contains(&n(s, "quality_score")), "{s}");
        assert!(s["recording_events"].as_array().unwrap().is_empty());
    }
}

#[test]
fn relay_only_ice_through_coturn() {
    let _g = serial();
    let secret = "turn-test-secret";
    let turn = Turn::start(secret);
    let url = format!("turn:127.0.0.1:{}", turn.port);
    let relay = RelayProc::start(&["--turn-url", &url, "--turn-secret", secret]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let mut b = bob.call(&["--answer", "--ice-relay-only", "--stats-json", bob.path("b.json").to_str().unwrap()]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call(&["bob", "--ice-relay-only", "--duration", "12", "--stats-json", alice.path("a.json").to_str().unwrap()]);
    assert_eq!(a.finish(180), 0, "alice's call failed");
    assert_eq!(b.finish(60), 0, "bob's call failed");
    let (sa, sb) = (stats(&alice.path("a.json")), stats(&bob.path("b.json")));
    eprintln!("alice: {sa}\nbob: {sb}");
    for (name, tx, rx) in [("alice→bob", &sa, &sb), ("bob→alice", &sb, &sa)] {
        let sent = n(tx, "video_frames_sent");
        assert!(sent >= 60.0, "{name}: {sent} sent");
        assert!(n(rx, "video_frames_decoded") >= 0.9 * sent, "{name}: {rx}");
        assert!(n(rx, "audio_packets_received") > 0.0, "{name}");
        // Relay-only policy: TURN relay candidates were the only ones gathered,
        // so media that arrived went through coturn.
    }
}

fn recording_events(s: &serde_json::Value) -> Vec<(String, String, i64)> {
    s["recording_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_str().unwrap().to_string(), e["by"].as_str().unwrap().to_string(), e["at"].as_i64().unwrap()))
        .collect()
}

#[test]
fn recording_both_sides_know_and_the_file_has_both_pictures() {
    let _g = serial();
    let relay = RelayProc::start(&[]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let file = alice.path("call.mp4");
    let mut b = bob.call(&["--answer", "--stats-json", bob.path("b.json").to_str().unwrap()]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call(&["bob", "--duration", "12", "--stats-json", alice.path("a.json").to_str().unwrap(), "--record", file.to_str().unwrap()]);
    a.wait_said(120, "connected");
    std::thread::sleep(std::time::Duration::from_secs(2));
    a.type_line("record start");
    b.wait_said(30, "alice is recording this call");
    a.type_line("b highlight");
    assert_eq!(a.finish(180), 0);
    assert_eq!(b.finish(60), 0);
    let (sa, sb) = (stats(&alice.path("a.json")), stats(&bob.path("b.json")));
    let (ea, eb) = (recording_events(&sa), recording_events(&sb));
    eprintln!("alice events {ea:?}\nbob events {eb:?}");
    let a_start = ea.iter().find(|e| e.0 == "start").expect("alice recorded a start");
    let b_start = eb.iter().find(|e| e.0 == "start").expect("bob saw the start");
    assert_eq!(b_start.1, "alice");
    assert!((b_start.2 - a_start.2).abs() <= 1000, "bob learnt {} ms after alice started", b_start.2 - a_start.2);
    assert!(eb.iter().any(|e| e.0 == "stop" && e.1 == "alice"), "bob saw the stop: {eb:?}");
    let probe = support_probe(&file);
    let v = probe["streams"].as_array().unwrap().iter().find(|s| s["codec_type"] == "video").expect("video stream");
    assert_eq!(v["width"], 640, "both pictures side by side: {v}");
    assert_eq!(v["height"], 240);
    assert!(probe["streams"].as_array().unwrap().iter().any(|s| s["codec_type"] == "audio"), "audio stream");
    let dur: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!(dur > 3.0, "recording of {dur} s");
    assert_eq!(probe["chapters"].as_array().map(|c| c.len()).unwrap_or(0), 2, "start + one bookmark as chapters");
}

#[test]
fn consent_required_records_only_after_yes_and_never_after_no() {
    let _g = serial();
    let relay = RelayProc::start(&["--require-recording-consent"]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));

    // 1. Bob is asked, says nothing for a while (no file), then yes.
    let file = alice.path("yes.mp4");
    let part = alice.path("yes.mp4.part");
    let mut b = bob.call(&["--answer", "--stats-json", bob.path("b1.json").to_str().unwrap()]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call(&["bob", "--duration", "14", "--record", file.to_str().unwrap(), "--record-now", "--stats-json", alice.path("a1.json").to_str().unwrap()]);
    b.wait_said(120, "asks to record");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(!file.exists() && !part.exists(), "recording began before consent");
    b.type_line("consent yes");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !part.exists() && !file.exists() {
        assert!(std::time::Instant::now() < deadline, "no recording after consent");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(a.finish(180), 0);
    assert_eq!(b.finish(60), 0);
    assert!(file.exists());
    let probe = support_probe(&file);
    assert!(probe["streams"].as_array().unwrap().iter().any(|s| s["codec_type"] == "video" && s["width"] == 640));
    let eb = recording_events(&stats(&bob.path("b1.json")));
    assert!(eb.iter().any(|e| e.0 == "start" && e.1 == "alice"), "{eb:?}");

    // 2. Bob declines: alice is told, and no file appears.
    let file = alice.path("no.mp4");
    let mut b = bob.call(&["--answer", "--accept-recording", "no", "--stats-json", bob.path("b2.json").to_str().unwrap()]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call(&["bob", "--duration", "8", "--record", file.to_str().unwrap(), "--record-now", "--stats-json", alice.path("a2.json").to_str().unwrap()]);
    a.wait_said(120, "declined to be recorded");
    assert_eq!(a.finish(180), 0);
    assert_eq!(b.finish(60), 0);
    assert!(!file.exists() && !alice.path("no.mp4.part").exists(), "a declined recording left a file");
    let ea = recording_events(&stats(&alice.path("a2.json")));
    assert!(ea.iter().any(|e| e.0 == "declined" && e.1 == "bob"), "{ea:?}");
    assert!(!ea.iter().any(|e| e.0 == "start"), "{ea:?}");
}

fn support_probe(path: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-show_chapters"])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}
