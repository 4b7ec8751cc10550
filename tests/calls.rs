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
    // Alice encrypts her recordings at rest (issue 16): her call recording too.
    // ONAIR_KEYCHAIN=off: the master key in her 0600 secrets file (no keychain here).
    let onair = |args: &[&str]| {
        let out = std::process::Command::new(BIN).args(args).env("ONAIR_HOME", alice.home.path()).env("ONAIR_KEYCHAIN", "off").output().unwrap();
        assert!(out.status.success(), "onair {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    onair(&["recordings", "encrypt", "on"]);
    let file = alice.path("call.mp4");
    let mut b = bob.call(&["--answer", "--stats-json", bob.path("b.json").to_str().unwrap()]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call_env(&["bob", "--duration", "12", "--stats-json", alice.path("a.json").to_str().unwrap(), "--record", file.to_str().unwrap()], &[("ONAIR_KEYCHAIN", "off")]);
    a.wait_said(120, "connected");
    std::thread::sleep(std::time::Duration::from_secs(2));
    a.type_line("record start");
    b.wait_said(30, "alice is recording this call");
    // Bob and alice hear of the start at the same time; alice's recorder
    // opens after that, and a bookmark needs it running.
    a.wait_said(30, "recording to");
    a.type_line("b highlight");
    a.wait_said(30, "bookmark \"highlight\"");
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
    // On disk: no MP4 structure; the export is the plain file.
    let disk = std::fs::read(&file).unwrap();
    assert!(!disk.windows(4).any(|w| w == b"ftyp" || w == b"moov"), "the call recording is not encrypted at rest");
    let list = onair(&["recordings", "list", "--json"]);
    let rec: serde_json::Value = list.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|r| r["path"].as_str() == file.to_str()).unwrap_or_else(|| panic!("{list}"));
    assert_eq!(rec["encrypted"], true, "{rec}");
    let plain = alice.path("call-plain.mp4");
    onair(&["recordings", "export", &rec["id"].to_string(), "--out", plain.to_str().unwrap()]);
    let file = plain;
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

/// The in-call controls as the other side experiences them, from the live
/// `--stats-json` snapshots: mute silences alice's voice at bob (the audio
/// stream keeps flowing), camera off shows bob black pictures that keep
/// coming (not a frozen frame), screen share shows alice's white X screen,
/// a file share its blue picture, and bob's `hangup` ends both sides cleanly.
#[test]
fn in_call_controls_reach_the_other_side() {
    let _g = serial();
    let relay = RelayProc::start(&[]);
    let x = Xvfb::start();
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let blue = alice.path("blue.mp4");
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=blue:s=320x240:r=30", "-t", "4", "-pix_fmt", "yuv420p", "-c:v", "libx264"])
        .arg(&blue)
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    let (sa, sb) = (alice.path("a.json"), bob.path("b.json"));
    let mut b = bob.call(&["--answer", "--from", "alice", "--stats-json", sb.to_str().unwrap()]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call_env(&["bob", "--loop", "--stats-json", sa.to_str().unwrap()], &[("DISPLAY", x.display.as_str())]);

    // Media flows: bob sees alice's test pattern (stamped frames) and hears her tone.
    let s = wait_stats(&sb, 120, "bob to see and hear alice", |s| {
        num(s, "latency_samples") >= 30.0 && s["audio_level_dbfs"].as_f64().is_some_and(|d| d > -40.0)
    });
    let (y, _, _) = yuv(&s);
    assert!((30.0..220.0).contains(&y), "the test pattern is neither black nor white: {s}");

    // Mute: silence at bob while audio packets keep arriving.
    a.type_line("mute");
    let s = wait_stats(&sb, 60, "alice's voice to go silent at bob", |s| s["audio_level_dbfs"].as_f64().is_some_and(|d| d < -60.0));
    let packets = num(&s, "audio_packets_received");
    wait_stats(&sb, 60, "audio packets to keep flowing while muted", |s| num(s, "audio_packets_received") >= packets + 50.0);
    assert_eq!(wait_stats(&sa, 30, "alice's own stats to say muted", |s| s["muted"] == true)["muted"], true);
    a.type_line("unmute");
    wait_stats(&sb, 60, "alice's voice back at bob", |s| s["audio_level_dbfs"].as_f64().is_some_and(|d| d > -40.0));

    // Camera off: black pictures keep arriving (the decoded count grows), no stamps.
    a.type_line("camera off");
    let s = wait_stats(&sb, 60, "bob to see black", |s| {
        let (y, u, v) = yuv(s);
        y < 24.0 && (u - 128.0).abs() < 6.0 && (v - 128.0).abs() < 6.0
    });
    let (frames, stamps) = (num(&s, "video_frames_decoded"), num(&s, "latency_samples"));
    let s = wait_stats(&sb, 60, "black frames to keep coming", |s| num(s, "video_frames_decoded") >= frames + 30.0);
    assert!(yuv(&s).0 < 24.0, "still black: {s}");
    assert!(num(&s, "latency_samples") <= stamps + 3.0, "test-pattern frames arrived while the camera was off: {s}");
    assert_eq!(wait_stats(&sa, 30, "alice's stats to say camera off", |s| s["camera_off"] == true)["camera_off"], true);
    a.type_line("camera on");
    let stamps = num(&s, "latency_samples");
    wait_stats(&sb, 60, "alice's picture back at bob", |s| num(s, "latency_samples") >= stamps + 30.0 && yuv(s).0 > 30.0);

    // Screen share: alice's Xvfb screen (white root window).
    a.type_line("share screen");
    let s = wait_stats(&sb, 60, "bob to see alice's white screen", |s| yuv(s).0 > 200.0);
    let frames = num(&s, "video_frames_decoded");
    wait_stats(&sb, 60, "screen frames to keep coming", |s| num(s, "video_frames_decoded") >= frames + 20.0 && yuv(s).0 > 200.0);
    assert_eq!(wait_stats(&sa, 30, "alice's source to be the screen", |s| s["video_source"] == "screen")["video_source"], "screen");

    // A file: blue (Y ≈ 41, U ≈ 240, V ≈ 110 in BT.601 limited range).
    a.type_line(&format!("share file:{}", blue.display()));
    wait_stats(&sb, 60, "bob to see alice's blue file", |s| {
        let (y, u, _) = yuv(s);
        y < 80.0 && u > 190.0
    });

    // No camera on this machine: the switch is refused and the file stays.
    a.type_line("share camera");
    let s = wait_stats(&sa, 30, "alice to be told the camera could not open", |s| {
        s["notices"].as_array().is_some_and(|n| n.iter().any(|m| m.as_str().unwrap_or("").contains("switching video")))
    });
    assert!(s["video_source"].as_str().unwrap().starts_with("file:"), "{s}");
    let frames = num(&wait_stats(&sb, 5, "bob's stats", |_| true), "video_frames_decoded");
    wait_stats(&sb, 60, "the file to keep playing at bob", |s| num(s, "video_frames_decoded") >= frames + 20.0 && yuv(s).1 > 190.0);

    // Back to the test pattern, then bob hangs up: both sides end cleanly.
    a.type_line("share test");
    let stamps = num(&wait_stats(&sb, 5, "bob's stats", |_| true), "latency_samples");
    wait_stats(&sb, 60, "the test pattern back at bob", |s| num(s, "latency_samples") >= stamps + 30.0);
    b.type_line("hangup");
    assert_eq!(b.finish(60), 0, "bob's side failed");
    assert_eq!(a.finish(60), 0, "alice's side failed");
    let (fa, fb) = (stats(&sa), stats(&sb));
    assert_eq!(fb["ended"], "you hung up", "{fb}");
    assert_eq!(fa["ended"], "the other side hung up", "{fa}");
    assert!(a.said("call ended") && b.said("call ended"));
}

/// The relay crashes mid-call and comes back on the same port: media keeps
/// flowing peer to peer meanwhile, both clients reconnect and resume the
/// call (the restarted relay takes it back from its audit store, recording
/// state included), signaling works again (recording notices reach bob).
/// Then a graceful restart (SIGTERM) does not end the call either, and
/// hang-up ends both sides.
#[test]
fn the_call_survives_a_relay_restart() {
    let _g = serial();
    let mut relay = RelayProc::start(&[]);
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let (sa, sb) = (alice.path("a.json"), bob.path("b.json"));
    let file = alice.path("after.mp4");
    let mut b = bob.call(&["--answer", "--stats-json", sb.to_str().unwrap()]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call(&["bob", "--record", file.to_str().unwrap(), "--stats-json", sa.to_str().unwrap()]);
    for s in [&sa, &sb] {
        wait_stats(s, 120, "media both ways", |s| num(s, "video_frames_decoded") >= 30.0 && num(s, "audio_packets_received") >= 50.0);
    }
    a.type_line("record start");
    b.wait_said(60, "alice is recording this call");
    a.wait_said(60, "recording to");

    relay.kill();
    a.wait_said(30, "lost the relay connection");
    b.wait_said(30, "lost the relay connection");
    // While the relay is gone, pictures keep arriving on both sides.
    for s in [&sa, &sb] {
        let at = wait_stats(s, 30, "a snapshot without the relay", |s| s["relay_connected"] == false);
        let frames = num(&at, "video_frames_decoded");
        wait_stats(s, 60, "frames to keep coming without the relay", |s| s["relay_connected"] == false && num(s, "video_frames_decoded") >= frames + 30.0);
    }

    relay.restart();
    a.wait_said(60, "relay connection back");
    b.wait_said(60, "relay connection back");
    // Signaling through the restarted relay, which took the call back with
    // its recording state: alice stops recording and bob is told.
    a.type_line("record stop");
    b.wait_said(60, "recording stopped by alice");
    a.wait_said(60, "recording saved");
    let frames = num(&wait_stats(&sb, 5, "bob's stats", |_| true), "video_frames_decoded");
    wait_stats(&sb, 60, "frames after the restart", |s| num(s, "video_frames_decoded") >= frames + 30.0);

    // A graceful restart (SIGTERM, as for an upgrade) leaves the answered call alone too.
    relay.stop();
    for s in [&sa, &sb] {
        let at = wait_stats(s, 30, "a snapshot without the relay", |s| s["relay_connected"] == false);
        let frames = num(&at, "video_frames_decoded");
        wait_stats(s, 60, "frames to keep coming while the relay restarts", |s| num(s, "video_frames_decoded") >= frames + 30.0);
    }
    relay.restart();
    for s in [&sa, &sb] {
        wait_stats(s, 60, "both back on the relay", |s| s["relay_connected"] == true && num(s, "relay_reconnects") >= 2.0);
    }
    a.type_line("record start");
    b.wait_said(60, "alice is recording this call");
    a.type_line("hangup");
    assert_eq!(a.finish(60), 0, "alice's side failed");
    assert_eq!(b.finish(60), 0, "bob's side failed");
    let (fa, fb) = (stats(&sa), stats(&sb));
    assert_eq!(fa["ended"], "you hung up", "{fa}");
    assert_eq!(fb["ended"], "the other side hung up", "{fb}");
    assert!(n(&fa, "relay_reconnects") >= 1.0 && n(&fb, "relay_reconnects") >= 1.0);
    assert_eq!(fa["ice_restarts"], 0, "media never needed an ICE restart: {fa}");
    let ev = recording_events(&fb);
    assert!(ev.iter().filter(|e| e.0 == "start" && e.1 == "alice").count() >= 2 && ev.iter().any(|e| e.0 == "stop" && e.1 == "alice"), "{ev:?}");
    assert!(!a.said("refused"), "the restarted relay refused something");
    assert!(file.exists(), "the recording was saved");
}

#[test]
fn the_other_side_is_heard_on_the_speaker_and_mute_silences_it() {
    let _g = serial();
    let relay = RelayProc::start(&[]);
    let pulse = Pulse::start();
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    let sb = bob.path("b.json");
    // bob's speaker is the private PulseAudio's null sink; alice plays nothing.
    let mut b = bob.call_env(&["--answer", "--from", "alice", "--stats-json", sb.to_str().unwrap()], &[("PULSE_SERVER", pulse.server.as_str())]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call(&["bob", "--no-speaker"]);
    wait_stats(&sb, 120, "bob to hear alice's tone", |s| s["audio_level_dbfs"].as_f64().is_some_and(|d| d > -40.0));
    let s = stats(&sb);
    assert!(!s["notices"].to_string().contains("no speaker"), "bob's speaker did not open: {s}");

    // What bob's speaker plays is alice's 440 Hz tone (with its click each second).
    let heard = pulse.listen(2.0);
    let (level, tone, off) = (dbfs(&heard), tone_power(&heard, 440.0), tone_power(&heard, 1_000.0));
    eprintln!("speaker: {level:.1} dBFS, 440 Hz / 1 kHz power ratio {:.0}", tone / off.max(1e-9));
    assert!(level > -35.0, "the speaker is too quiet: {level:.1} dBFS");
    assert!(tone > 20.0 * off, "the speaker does not play a 440 Hz tone (440 Hz {tone:.3e}, 1 kHz {off:.3e})");

    // Mute: silence on bob's speaker.
    a.type_line("mute");
    wait_stats(&sb, 60, "silence at bob", |s| s["audio_level_dbfs"].as_f64().is_some_and(|d| d < -60.0));
    // The speaker's queue and PulseAudio's own buffers may still hold a moment
    // of tone from before the mute (longer on a loaded machine): wait for the
    // speaker itself to go quiet, and give it a few seconds at most.
    let mut quiet = 0.0;
    for _ in 0..12 {
        quiet = dbfs(&pulse.listen(0.5));
        if quiet < -60.0 {
            break;
        }
    }
    assert!(quiet < -60.0, "muted, yet the speaker plays {quiet:.1} dBFS");
    a.type_line("hangup");
    assert_eq!(a.finish(60), 0, "alice's call failed");
    assert_eq!(b.finish(60), 0, "bob's call failed");
}

/// What alice hears of bob's microphone while she talks: bob's speaker is
/// a private PulseAudio null sink, and a loopback module (100 ms late,
/// attenuated) carries what it plays into a second null sink whose monitor
/// is bob's microphone: the echo of alice's test tone. Levels are sampled
/// at alice (the loudest packet of each half second) after 3 s of
/// convergence. Then bob "speaks" (espeak-ng speech played into the room):
/// the microphone is live and near-end speech goes through. Returns the
/// median level of the echo and the loudest level during bob's speech, in dBFS.
fn echo_heard_by_alice(relay: &RelayProc, (an, bn): (&str, &str), speech: &std::path::Path, bob_extra: &[&str]) -> (f64, f64) {
    let pulse = Pulse::start();
    let pactl = |args: &[&str]| {
        let out = std::process::Command::new("pactl").args(["--server", &pulse.server]).args(args).output().expect("pactl");
        assert!(out.status.success(), "pactl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    pactl(&["load-module", "module-null-sink", "sink_name=room", "rate=48000"]);
    pactl(&["load-module", "module-loopback", "source=speaker.monitor", "sink=room", "latency_msec=100"]);
    pactl(&["set-sink-volume", "room", "60%"]);
    pactl(&["set-default-sink", "speaker"]);
    pactl(&["set-default-source", "room.monitor"]);
    let (alice, bob) = (Person::register(relay, an), Person::register(relay, bn));
    let (sa, sb) = (alice.path("a.json"), bob.path("b.json"));
    let mut b_args = vec!["--answer", "--from", an, "--stats-json", sb.to_str().unwrap()];
    b_args.extend_from_slice(bob_extra);
    let mut b = bob.call_with(&["--video", "none", "--audio", "mic"], &b_args, &[("PULSE_SERVER", pulse.server.as_str())]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call_with(&["--video", "none"], &[bn, "--no-speaker", "--stats-json", sa.to_str().unwrap()], &[]);
    wait_stats(&sa, 60, "alice to hear bob's microphone", |s| num(s, "audio_packets_received") > 50.0);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let mut levels: Vec<f64> = (0..16)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(250));
            stats(&sa)["audio_level_dbfs"].as_f64().unwrap_or(-100.0)
        })
        .collect();
    let mut talk = std::process::Command::new("paplay").args(["--server", &pulse.server, "--device=room"]).arg(speech).spawn().expect("paplay (pulseaudio-utils)");
    let mut near = -100.0f64;
    while talk.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(250));
        near = near.max(stats(&sa)["audio_level_dbfs"].as_f64().unwrap_or(-100.0));
    }
    a.type_line("hangup");
    assert_eq!(a.finish(60), 0);
    assert_eq!(b.finish(60), 0);
    let sbv = stats(&sb);
    assert!(!sbv["notices"].to_string().contains("no speaker"), "bob's speaker did not open: {sbv}");
    levels.sort_by(f64::total_cmp);
    eprintln!("alice heard (dBFS, sorted): {levels:?}; bob's speech at most {near:.1} dBFS");
    (levels[levels.len() / 2], near)
}

/// Echo end to end (issue 15): alice's sound played on bob's speaker comes
/// back through his microphone; with audio processing on (AEC3, then
/// RNNoise and AGC2) alice hears it attenuated while bob's own speech still
/// reaches her; with `--no-audio-processing` she hears the echo as the room
/// returned it.
#[test]
fn a_real_call_cancels_the_echo_of_the_far_end() {
    let _g = serial();
    let relay = RelayProc::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let speech = dir.path().join("bob.wav");
    let out = std::process::Command::new("espeak-ng").args(["-v", "en-us", "-s", "160", "-w"]).arg(&speech).arg("Hello Alice, can you hear me well today?").output().expect("espeak-ng (scripts/deps.sh test)");
    assert!(out.status.success());
    let (off, near_off) = echo_heard_by_alice(&relay, ("alice", "bob"), &speech, &["--no-audio-processing"]);
    let (on, near_on) = echo_heard_by_alice(&relay, ("carol", "dave"), &speech, &[]);
    eprintln!("echo heard by alice: {off:.1} dBFS unprocessed, {on:.1} dBFS processed: {:.1} dB less; bob's speech {near_off:.1} / {near_on:.1} dBFS", off - on);
    assert!(off > -45.0, "without processing alice hears her echo: {off:.1} dBFS");
    assert!(off - on >= 25.0, "processing took only {:.1} dB of echo off ({off:.1} → {on:.1} dBFS)", off - on);
    assert!(near_on > -45.0, "with processing bob's own speech must still reach alice: {near_on:.1} dBFS");
}
