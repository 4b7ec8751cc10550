//! Calls on real networks (issue 15): mute and camera state reach the other
//! side, a camera that cannot open joins with video off. Two `onair call`
//! processes through a real `onair relay` on 127.0.0.1 with test sources.

mod cli_call_support;
use cli_call_support::*;

/// This machine has no camera: alice joins with her camera off and is told
/// why; bob is told her state, then each mute, unmute and camera change.
#[test]
fn mute_and_camera_state_reach_the_other_side() {
    let _g = serial();
    let relay = RelayProc::start(&[]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let (sa, sb) = (alice.path("a.json"), bob.path("b.json"));
    let mut b = bob.call(&["--answer", "--from", "alice", "--stats-json", sb.to_str().unwrap()]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call_with(&["--video", "camera", "--size", "320x240"], &["bob", "--stats-json", sa.to_str().unwrap()], &[]);
    a.wait_said(60, "the camera could not open");
    b.wait_said(60, "alice's camera is off");
    let s = wait_stats(&sb, 30, "bob's stats to show alice's camera off", |s| s["peer_camera_off"] == true);
    assert_eq!(s["peer_muted"], false, "{s}");
    // Her black frames still arrive: the call goes on without her camera.
    wait_stats(&sb, 60, "black frames from alice", |s| num(s, "video_frames_decoded") >= 30.0 && yuv(s).0 < 24.0);

    a.type_line("mute");
    b.wait_said(30, "alice muted");
    wait_stats(&sb, 30, "peer_muted at bob", |s| s["peer_muted"] == true);
    a.type_line("unmute");
    b.wait_said(30, "alice unmuted");
    wait_stats(&sb, 30, "peer_muted cleared at bob", |s| s["peer_muted"] == false);
    // Still no camera: turning it on fails, she is told, bob still sees it off.
    a.type_line("camera on");
    wait_stats(&sa, 30, "alice to be told the camera failed again", |s| {
        s["notices"].as_array().is_some_and(|n| n.iter().any(|m| m.as_str().unwrap_or("").contains("turning the camera back on")))
    });
    assert!(!b.said("alice turned the camera on"));

    b.type_line("camera off");
    a.wait_said(30, "bob turned the camera off");
    b.type_line("camera on");
    a.wait_said(30, "bob turned the camera on");
    wait_stats(&sa, 30, "bob's camera back on at alice", |s| s["peer_camera_off"] == false);
    b.type_line("hangup");
    assert_eq!(b.finish(60), 0);
    assert_eq!(a.finish(60), 0);
    assert!(!b.said("bob muted") && !a.said("you muted"), "nobody hears their own state as the other's");
}

fn probe(path: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new("ffprobe").args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"]).arg(path).output().expect("ffprobe");
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `--preset 720p`: both sides decode 1280×720 from the other, and the
/// call recorded from the start is both pictures side by side, 2560×720.
#[test]
fn a_720p_call_is_1280x720_both_ways_and_records_2560x720() {
    let _g = serial();
    let relay = RelayProc::start(&[]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let (sa, sb, file) = (alice.path("a.json"), bob.path("b.json"), alice.path("call.mp4"));
    let hd = ["--video", "test", "--preset", "720p"];
    let mut b = bob.call_with(&hd, &["--answer", "--from", "alice", "--stats-json", sb.to_str().unwrap()], &[]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call_with(&hd, &["bob", "--stats-json", sa.to_str().unwrap(), "--record", file.to_str().unwrap(), "--record-now"], &[]);
    for (who, s) in [("bob", &sb), ("alice", &sa)] {
        wait_stats(s, 90, &format!("{who} to decode 20 HD frames"), |s| num(s, "video_frames_decoded") >= 20.0);
    }
    a.type_line("hangup");
    assert_eq!(a.finish(60), 0);
    assert_eq!(b.finish(60), 0);
    let (fa, fb) = (stats(&sa), stats(&sb));
    eprintln!("alice: {fa}\nbob: {fb}");
    for s in [&fa, &fb] {
        assert_eq!((s["video_width"].as_u64(), s["video_height"].as_u64()), (Some(1280), Some(720)), "{s}");
    }
    let p = probe(&file);
    let v = p["streams"].as_array().unwrap().iter().find(|s| s["codec_type"] == "video").expect("a video stream");
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(2560), Some(720)), "{v}");
}

/// `onair netem` in front of coturn: what clients send through it is impaired.
struct Netem {
    child: std::process::Child,
    port: u16,
    stats: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Netem {
    fn start(to_port: u16, impair: &[&str]) -> Netem {
        let dir = tempfile::tempdir().unwrap();
        let (ready, stats) = (dir.path().join("ready"), dir.path().join("netem.json"));
        let child = std::process::Command::new(BIN)
            .args(["netem", "--to", &format!("127.0.0.1:{to_port}"), "--seed", "15"])
            .args(impair)
            .arg("--ready-file")
            .arg(&ready)
            .arg("--stats-json")
            .arg(&stats)
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("spawn onair netem");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let addr = loop {
            if let Some(a) = std::fs::read_to_string(&ready).ok().filter(|s| !s.is_empty()) {
                break a;
            }
            assert!(std::time::Instant::now() < deadline, "onair netem did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Netem { child, port, stats, _dir: dir }
    }

    fn counters(&self) -> serde_json::Value {
        std::fs::read(&self.stats).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(serde_json::Value::Null)
    }
}

impl Drop for Netem {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Alice sends through the impairment tool (relay-only ICE: her media goes
/// to coturn through it, then to bob): 5 % loss, a 1 Mbit/s cap with 200 ms
/// of queue, and 5 s with nothing passing. What she sends stays within
/// 1.3× her target (resends capped), bob's picture keeps coming (freezes
/// counted), comes back within 1 s of the outage's end and, outside the
/// outage, freezes for well under the seconds it did before the jitter buffer.
#[test]
fn a_call_through_loss_a_cap_and_an_outage() {
    let _g = serial();
    let secret = "netem-turn-secret";
    let turn = Turn::start(secret);
    // The outage starts 9 s after alice's first packet (her TURN allocation).
    let netem = Netem::start(turn.port, &["--loss", "0.05", "--rate-kbps", "1000", "--outage", "9+5"]);
    let relay = RelayProc::start(&["--turn-url", &format!("turn:127.0.0.1:{}", netem.port), "--turn-secret", secret]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let (sa, sb) = (alice.path("a.json"), bob.path("b.json"));
    // 360p on this 2-core machine (two 720p encoders and decoders in debug
    // builds starve each other); it starts below the cap and probes above it.
    let video = ["--video", "test", "--preset", "360p"];
    let mut b = bob.call_with(&video, &["--answer", "--from", "alice", "--stats-json", sb.to_str().unwrap()], &[]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call_with(&video, &["bob", "--ice-relay-only", "--stats-json", sa.to_str().unwrap()], &[]);
    a.wait_said(60, "connected");

    // Once a second: what alice sent through the tool against the target
    // her encoder had during that second (set at the previous sample).
    let (mut sent_bytes, mut target_bytes, mut last_in, mut last_target) = (0.0, 0.0, None::<f64>, None::<f64>);
    let t0 = std::time::Instant::now();
    let mut last = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(1000));
        let (c, s) = (netem.counters(), stats(&sa));
        let bytes_in = c["up"]["bytes_in"].as_f64().unwrap_or(0.0);
        let dt = last.elapsed().as_secs_f64();
        last = std::time::Instant::now();
        if let (Some(prev), Some(target)) = (last_in, last_target) {
            sent_bytes += bytes_in - prev;
            target_bytes += (target + 48.0) * 1000.0 / 8.0 * dt;
            eprintln!("sent {:.0} kbit/s, target {target} kbit/s · {}", (bytes_in - prev) * 8.0 / dt / 1000.0, c["up"]);
        }
        last_in = Some(bytes_in);
        last_target = s["target_kbps"].as_f64();
    }
    a.type_line("hangup");
    assert_eq!(a.finish(60), 0);
    assert_eq!(b.finish(60), 0);
    let (fa, fb, c) = (stats(&sa), stats(&sb), netem.counters());
    eprintln!("alice: {fa}\nbob: {fb}\nnetem: {c}");
    let ratio = sent_bytes / target_bytes;
    eprintln!("alice sent {:.2}× her target (with audio and packet overhead)", ratio);
    assert!(num(&c["up"], "dropped_loss") > 50.0 && num(&c["up"], "dropped_outage") > 50.0, "the tool impaired: {c}");
    assert!(ratio <= 1.3, "alice sent {ratio:.2}× her target");
    assert!(fa["gcc_kbps"].as_u64().is_some_and(|k| k < 1500), "GCC estimated alice's capped link from bob's TWCC feedback: {fa}");
    // The picture kept coming, with freezes counted, and came back after the outage.
    assert!(num(&fb, "video_frames_decoded") >= 150.0, "{fb}");
    assert!(num(&fb, "freezes") >= 1.0, "the outage is a freeze: {fb}");
    // The first packet after the outage asks for a keyframe at once, and
    // nothing sent before that request is resent ahead of it: measured, the
    // picture back 90–150 ms after the link (longest gap 5.11–5.21 s; it was
    // 0.5–1.4 s, 6.2 s once, while resends of the outage's last 600 ms
    // filled the capped link's queue ahead of the keyframe).
    assert!(num(&fb, "longest_gap_ms") <= 6000.0, "video came back more than 1 s after the 5 s outage: {fb}");
    // Outside the outage the 5 % loss hardly freezes the picture: the jitter
    // buffer waits for resends (freezes counted as WebRTC's stats count them).
    // Measured on the shared 2-core machine: 1.4–2.6 s (3–4 s before the jitter
    // buffer); over 3 s once, at a load average of 23.
    let frozen_outside = num(&fb, "freeze_ms") - num(&fb, "longest_gap_ms");
    assert!(frozen_outside < 3000.0, "{frozen_outside} ms frozen besides the outage: {fb}");
}

/// 10 % loss both ways, and the DTLS client's last handshake flight lost
/// twice on the way to alice: webrtc-rs's DTLS client stops retransmitting
/// it once the server repeats its own flight, so that handshake never ends.
/// Alice starts the call again on fresh connections (bob follows her new
/// offer) and the pictures come.
#[test]
fn a_call_connects_through_10_percent_loss_and_a_lost_handshake_flight() {
    let _g = serial();
    let secret = "netem-turn-secret";
    let turn = Turn::start(secret);
    let netem = Netem::start(turn.port, &["--loss", "0.10", "--both", "--drop-key-exchange", "2"]);
    let relay = RelayProc::start(&["--turn-url", &format!("turn:127.0.0.1:{}", netem.port), "--turn-secret", secret]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let (sa, sb) = (alice.path("a.json"), bob.path("b.json"));
    let video = ["--video", "test", "--preset", "360p"];
    let mut b = bob.call_with(&video, &["--answer", "--from", "alice", "--stats-json", sb.to_str().unwrap()], &[]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call_with(&video, &["bob", "--ice-relay-only", "--stats-json", sa.to_str().unwrap()], &[]);
    // Which flights the tool drops decides the path: a lost last flight
    // sticks webrtc-rs's DTLS client, and the call starts again on fresh
    // peer connections ("trying again on a fresh one"); an earlier one is
    // resent by DTLS itself. Either way the call connects.
    a.wait_said(120, "connected");
    let retried = a.said("trying again on a fresh one");
    wait_stats(&sb, 60, "30 of alice's pictures at bob through 10 % loss", |s| num(s, "video_frames_decoded") >= 30.0);
    a.type_line("hangup");
    assert_eq!(a.finish(60), 0);
    assert_eq!(b.finish(60), 0);
    let (fa, c) = (stats(&sa), netem.counters());
    eprintln!("alice: {fa}\nnetem: {c}");
    eprintln!("connect retries: {} ({})", num(&fa, "connect_retries"), if retried { "started again" } else { "DTLS resent the lost flights itself" });
    assert_eq!(num(&c["up"], "dropped_handshake") + num(&c["down"], "dropped_handshake"), 2.0, "{c}");
    assert!(num(&c["down"], "dropped_loss") > 5.0 && num(&c["up"], "dropped_loss") > 5.0, "{c}");
}

/// A 720p call through a 500 kbit/s cap that is lifted after 10 s: alice's
/// picture steps down a rung at a time (720p → 480p → 360p) while the
/// estimate stays under each rung's floor, bob decodes the smaller
/// pictures, and once the cap is gone it steps back up. Each step is in
/// `--stats-json`'s `size_steps`.
#[test]
fn the_picture_steps_down_with_a_capped_link_and_back_up_when_it_lifts() {
    let _g = serial();
    let secret = "netem-turn-secret";
    let turn = Turn::start(secret);
    let netem = Netem::start(turn.port, &["--rate-kbps", "500", "--cap-secs", "10"]);
    let relay = RelayProc::start(&["--turn-url", &format!("turn:127.0.0.1:{}", netem.port), "--turn-secret", secret]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let (sa, sb) = (alice.path("a.json"), bob.path("b.json"));
    // Bob sends 360p: only alice's picture is under test (CPU on 2 cores).
    let mut b = bob.call_with(&["--video", "test", "--preset", "360p"], &["--answer", "--from", "alice", "--stats-json", sb.to_str().unwrap()], &[]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call_with(&["--video", "test", "--preset", "720p"], &["bob", "--ice-relay-only", "--stats-json", sa.to_str().unwrap()], &[]);
    wait_stats(&sb, 60, "bob to decode alice's 360p rung", |s| s["video_width"] == 640 && s["video_height"] == 360);
    let up = wait_stats(&sa, 60, "alice back at 720p after the cap lifted", |s| s["send_height"] == 720 && s["size_steps"].as_array().is_some_and(|v| v.len() >= 3));
    wait_stats(&sb, 30, "bob to decode 1280x720 again", |s| s["video_width"] == 1280);
    a.type_line("hangup");
    assert_eq!(a.finish(60), 0);
    assert_eq!(b.finish(60), 0);
    eprintln!("alice: {up}\nnetem: {}", netem.counters());
    let steps: Vec<(u64, u64)> = up["size_steps"].as_array().unwrap().iter().map(|s| (s["height"].as_u64().unwrap(), s["target_kbps"].as_u64().unwrap())).collect();
    assert_eq!(steps[0].0, 480, "one rung at a time: {steps:?}");
    assert_eq!(steps[1].0, 360, "{steps:?}");
    assert!(steps[0].1 < 900 && steps[1].1 < 450, "down below each rung's floor: {steps:?}");
    assert!(steps[2..].iter().all(|s| s.1 > 560), "up only well above the next floor: {steps:?}");
}
