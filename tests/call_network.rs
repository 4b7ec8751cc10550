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
