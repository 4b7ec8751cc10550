//! Server-side call recording (issue 16) end to end: two `onair call`s
//! through a real `onair relay`; the relay's consent rules; a real
//! `onair recorder` worker that joins the call as a receive-only third
//! participant (each caller's media leg signalled through the relay) and
//! streams the composite to the relay's job API; the encrypted file on the
//! relay's disk; the download checked by ffprobe (size, both pictures,
//! audio, chapters, A/V sync); a third user and crafted requests refused;
//! the worker or the relay killed mid-recording.

mod cli_call_support;
use cli_call_support::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RECORDER_TOKEN: &str = "recorder-test-token-0123456789";

fn token(p: &Person) -> String {
    let v: Value = serde_json::from_slice(&std::fs::read(p.path("secrets.json")).unwrap()).unwrap();
    v["relay-token"].as_str().unwrap().to_string()
}

/// `curl` with a bearer token: (HTTP status, body).
fn curl(url: &str, token: &str, args: &[&str]) -> (u16, Vec<u8>) {
    let o = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}", "-H", &format!("Authorization: Bearer {token}")])
        .args(args)
        .arg(url)
        .output()
        .expect("curl");
    let mut body = o.stdout;
    let cut = body.iter().rposition(|&b| b == b'\n').expect("curl wrote the status");
    let code = String::from_utf8_lossy(&body[cut + 1..]).trim().parse().unwrap_or(0);
    body.truncate(cut);
    (code, body)
}

fn cli(p: &Person, args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).env("ONAIR_HOME", p.home.path()).output().unwrap()
}

fn cli_ok(p: &Person, args: &[&str]) -> String {
    let o = cli(p, args);
    assert!(o.status.success(), "onair {args:?} as {}: {}", p.name, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn list(p: &Person) -> Vec<Value> {
    serde_json::from_str(cli_ok(p, &["recordings", "cloud", "list", "--json"]).trim()).unwrap()
}

/// A real `onair recorder` worker; its stdout collected line by line.
/// Killed with SIGKILL when dropped.
struct Worker {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Worker {
    fn start(relay: &str, extra: &[&str]) -> Worker {
        let mut child = Command::new(BIN)
            .args(["recorder", "--relay", relay, "--ice-ip", "127.0.0.1", "--x264-preset", "ultrafast"])
            .args(if extra.contains(&"--fps") { &[][..] } else { &["--fps", "15"][..] })
            .args(extra)
            .env("ONAIR_RECORDER_TOKEN", RECORDER_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn onair recorder");
        let lines: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
        let (out, l) = (child.stdout.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("[recorder] {line}");
                l.lock().unwrap().push(line);
            }
        });
        Worker { child, lines }
    }

    fn said(&self, needle: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    fn wait_said(&self, secs: u64, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.said(needle) {
            assert!(Instant::now() < deadline, "timed out after {secs}s waiting for the recorder to say {needle:?}; it said: {:?}", self.lines.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Both callers' media reach the worker.
    fn wait_both_legs(&self) {
        self.wait_said(60, "the caller's media arrives");
        self.wait_said(60, "the callee's media arrives");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Mean luma of the left and right halves of the recording's pictures
/// from `from` seconds on.
fn half_lumas(path: &std::path::Path, from: f64) -> (f64, f64) {
    let mean = |crop: &str| -> f64 {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-f", "lavfi", "-i"])
            .arg(format!("movie={},{crop},signalstats", path.display()))
            .args(["-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"])
            .output()
            .unwrap();
        let v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut it = l.split(',');
                let t: f64 = it.next()?.parse().ok()?;
                let y: f64 = it.next()?.parse().ok()?;
                (t >= from).then_some(y)
            })
            .collect();
        assert!(!v.is_empty(), "no frames after {from} s");
        v.iter().sum::<f64>() / v.len() as f64
    };
    (mean("crop=iw/2:ih:0:0"), mean("crop=iw/2:ih:iw/2:0"))
}

fn entropy(b: &[u8]) -> f64 {
    let mut h = [0u64; 256];
    b.iter().for_each(|&x| h[x as usize] += 1);
    let n = b.len() as f64;
    h.iter().filter(|&&c| c > 0).map(|&c| -(c as f64 / n) * (c as f64 / n).log2()).sum()
}

#[test]
fn both_agree_the_relay_records_encrypted_and_only_they_get_it() {
    let _g = serial();
    let relay = RelayProc::start(&["--recorder-token", RECORDER_TOKEN, "--cloud-min-free-mb", "20"]);
    let url = relay.url();
    let worker = Worker::start(&url, &[]);
    let (alice, bob, mallory) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"), Person::register(&relay, "mallory"));
    let mut b = bob.call(&["--answer", "--from", "alice"]);
    b.wait_said(60, "waiting for a call");
    let mut a = alice.call(&["bob", "--duration", "90"]);
    a.wait_said(120, "connected");

    // Bob's standing answer is "ask" (the default): he is asked, says no.
    a.type_line("record cloud start");
    a.wait_said(20, "waiting for the other side's answer");
    b.wait_said(20, "alice asks to record this call on the server");
    b.type_line("record cloud no");
    a.wait_said(20, "declined");
    let declined = list(&alice);
    assert_eq!(declined.len(), 1);
    assert_eq!(declined[0]["state"], "declined");
    let call_id = declined[0]["call_id"].as_str().unwrap().to_string();

    // "never": refused, from the CLI and from a crafted request naming the call.
    cli_ok(&bob, &["recordings", "cloud", "consent", "never"]);
    a.type_line("record cloud start");
    a.wait_said(20, "bob does not agree to server recording");
    let body = format!("{{\"call_id\":\"{call_id}\",\"tier\":\"1080p\"}}");
    let (code, _) = curl(&format!("{url}/v1/cloud/recordings"), &token(&alice), &["-X", "POST", "-H", "content-type: application/json", "--data", &body]);
    assert_eq!(code, 409, "a crafted start past bob's \"never\" is refused");
    // Mallory cannot start a recording of their call either.
    let (code, _) = curl(&format!("{url}/v1/cloud/recordings"), &token(&mallory), &["-X", "POST", "--data", &body]);
    assert_eq!(code, 404);
    assert_eq!(list(&alice).len(), 1, "nothing was recorded");

    // "allow": recording starts at once; both see it.
    cli_ok(&bob, &["recordings", "cloud", "consent", "allow"]);
    assert_eq!(cli_ok(&bob, &["recordings", "cloud", "consent"]).trim(), "allow");
    a.type_line("record cloud start");
    a.wait_said(20, "Recorded by the server");
    b.wait_said(20, "Recorded by the server");
    // The worker claims the job; both callers' legs reach it.
    worker.wait_said(30, "recording call");
    worker.wait_both_legs();
    // While it runs: mallory can neither stop nor bookmark it, bob cannot
    // "answer" a request that was never made, a forged job id gets nothing.
    let (_, live) = curl(&format!("{url}/v1/cloud/live"), &token(&alice), &[]);
    let live: Value = serde_json::from_slice(&live).unwrap();
    let rid = live[0]["id"].as_str().unwrap().to_string();
    for path in ["stop", "bookmarks"] {
        let (code, _) = curl(&format!("{url}/v1/cloud/recordings/{rid}/{path}"), &token(&mallory), &["-X", "POST", "--data", "{}"]);
        assert_eq!(code, 404, "mallory's {path}");
    }
    let (code, _) = curl(&format!("{url}/v1/cloud/recordings/{rid}/consent"), &token(&bob), &["-X", "POST", "--data", "{\"accept\":true}"]);
    assert_eq!(code, 409);
    let (code, _) = curl(&format!("{url}/v1/recorder/jobs/r0000000000000000/media"), RECORDER_TOKEN, &["-X", "POST", "--data", "x"]);
    assert_eq!(code, 404);
    let (code, _) = curl(&format!("{url}/v1/recorder/jobs/{rid}/media"), &token(&alice), &["-X", "POST", "--data", "x"]);
    assert_eq!(code, 401, "a participant is no recorder");
    // Media legs: only the two participants may post one; the worker's
    // side of the signalling needs the recorder token.
    let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
    let (code, _) = curl(&format!("{url}/v1/cloud/recordings/{rid}/leg"), &token(&mallory), &["-X", "POST", "-H", "content-type: application/sdp", "--data-binary", offer]);
    assert_eq!(code, 404, "mallory's leg (someone else's recording reads as none)");
    let (code, _) = curl(&format!("{url}/v1/cloud/recordings/r0000000000000000/leg"), &token(&alice), &["-X", "POST", "--data-binary", offer]);
    assert_eq!(code, 404, "a leg for a recording that is not running");
    let (code, _) = curl(&format!("{url}/v1/cloud/recordings/{rid}/leg"), &token(&bob), &["-X", "POST", "--data-binary", "not sdp"]);
    assert_eq!(code, 400, "a leg that is no SDP offer");
    let (code, _) = curl(&format!("{url}/v1/recorder/jobs/{rid}/legs"), &token(&alice), &[]);
    assert_eq!(code, 401, "a participant cannot take legs");
    let (code, _) = curl(&format!("{url}/v1/recorder/jobs/{rid}/legs/l0000000000000000"), "guess", &["-X", "POST", "--data-binary", offer]);
    assert_eq!(code, 401, "nor answer one without the token");
    let (code, _) = curl(&format!("{url}/v1/recorder/jobs/{rid}/fail"), &token(&bob), &["-X", "POST"]);
    assert_eq!(code, 401, "nor fail the job");
    a.type_line("b the intro");
    a.wait_said(20, "server bookmark \"the intro\" added");
    std::thread::sleep(Duration::from_secs(3));
    a.type_line("record cloud stop");
    a.wait_said(60, "stopped");
    b.wait_said(60, "stopped");
    worker.wait_said(30, "stopped");
    a.wait_said(20, "stopped sending media to the server's recorder");
    b.wait_said(20, "stopped sending media to the server's recorder");
    a.type_line("hangup");
    let _ = a.finish(60);
    let _ = b.finish(60);

    // Both lists show it; mallory's is empty.
    let (la, lb) = (list(&alice), list(&bob));
    let rec = la.iter().find(|r| r["state"] == "done").unwrap_or_else(|| panic!("{la:?}")).clone();
    let id = rec["id"].as_str().unwrap().to_string();
    assert!(lb.iter().any(|r| r["id"] == rec["id"]));
    assert_eq!(rec["tier"], "720p");
    assert_eq!(rec["bookmarks"][0]["label"], "the intro");
    assert!(list(&mallory).is_empty());

    // The download is a plain MP4 at the tier with the bookmark as a chapter.
    let out = alice.path("rec.mp4");
    cli_ok(&alice, &["recordings", "cloud", "download", &id, "--out", out.to_str().unwrap()]);
    let probe = Command::new("ffprobe").args(["-v", "error", "-show_streams", "-show_chapters", "-show_format", "-of", "json"]).arg(&out).output().unwrap();
    let p: Value = serde_json::from_slice(&probe.stdout).unwrap();
    let streams = p["streams"].as_array().unwrap();
    let v = streams.iter().find(|s| s["codec_type"] == "video").expect("video");
    assert_eq!((v["width"].as_i64(), v["height"].as_i64()), (Some(2560), Some(720)));
    assert!(streams.iter().any(|s| s["codec_type"] == "audio"), "audio");
    let dur: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((3.0..90.0).contains(&dur), "duration {dur}");
    // Both pictures are there: the test pattern on each side, not black.
    let (left, right) = half_lumas(&out, dur - 2.5);
    assert!(left > 40.0 && right > 40.0, "mean luma left {left:.0}, right {right:.0}: a side is missing");
    let chapters = p["chapters"].as_array().unwrap();
    assert!(chapters.iter().any(|c| c["tags"]["title"] == "the intro"), "{chapters:?}");

    // Range: the bytes asked for, decrypted, equal the download's.
    let plain = std::fs::read(&out).unwrap();
    let (code, part) = curl(&format!("{url}/v1/cloud/recordings/{id}/file"), &token(&bob), &["-H", "Range: bytes=70000-200009"]);
    assert_eq!(code, 206);
    assert_eq!(part, plain[70000..200010]);

    // Mallory: refused by the CLI and by crafted requests (another user's id).
    let o = cli(&mallory, &["recordings", "cloud", "download", &id, "--out", mallory.path("x.mp4").to_str().unwrap()]);
    assert!(!o.status.success() && !mallory.path("x.mp4").exists());
    for path in ["/file", "", "/pin"] {
        let (code, _) = curl(&format!("{url}/v1/cloud/recordings/{id}{path}"), &token(&mallory), &[]);
        assert!(code == 404 || code == 405, "{path}: {code}");
    }
    let (code, _) = curl(&format!("{url}/v1/cloud/recordings/{id}"), &token(&mallory), &["-X", "DELETE"]);
    assert_eq!(code, 404);
    // A revoked token is refused.
    let old = token(&bob);
    cli_ok(&bob, &["account", "logout"]);
    let (code, _) = curl(&format!("{url}/v1/cloud/recordings/{id}/file"), &old, &[]);
    assert_eq!(code, 401);
    // A recorder without the token gets no job and writes nothing.
    let (code, _) = curl(&format!("{url}/v1/recorder/claim"), "guess", &["-X", "POST"]);
    assert_eq!(code, 401);

    // The audit shows the accesses, mallory's refusals included.
    let show: Value = serde_json::from_str(cli_ok(&alice, &["recordings", "cloud", "show", &id, "--json"]).trim()).unwrap();
    let audit: Vec<(String, String)> = show["audit"].as_array().unwrap().iter().map(|a| (a["user"].as_str().unwrap().into(), a["action"].as_str().unwrap().into())).collect();
    for want in [("alice", "started"), ("alice", "download"), ("bob", "download"), ("mallory", "refused")] {
        assert!(audit.iter().any(|(u, a)| u == want.0 && a.starts_with(want.1)), "{want:?} in {audit:?}");
    }

    // On the relay's disk: no MP4 structure, and bytes that look random.
    let disk = std::fs::read(relay_dir(&relay).join("cloud").join(format!("{id}.vault"))).unwrap();
    assert!(!disk.windows(4).any(|w| w == b"ftyp" || w == b"moov" || w == b"mdat"));
    let e = entropy(&disk);
    assert!(e > 7.99, "entropy {e} bits per byte");
    assert!(disk.len() as u64 >= plain.len() as u64);

    // The call's audit shows each step, in order.
    let (code, body) = curl(&format!("{url}/v1/calls/{call_id}/audit"), &token(&alice), &[]);
    assert_eq!(code, 200);
    let a: Value = serde_json::from_slice(&body).unwrap();
    let steps: Vec<String> = a["events"].as_array().unwrap().iter().map(|e| format!("{} {}", e["event"].as_str().unwrap(), e["by"].as_str().unwrap())).collect();
    let want = ["cloud_requested alice", "cloud_declined bob", "cloud_refused alice", "cloud_refused alice", "cloud_start alice", "cloud_stop alice"];
    assert_eq!(steps, want, "the call's audit");

    // Pin and delete, by a participant.
    cli_ok(&alice, &["recordings", "cloud", "pin", &id]);
    assert_eq!(list(&alice).iter().find(|r| r["id"] == id.as_str()).unwrap()["pinned"], true);
    cli_ok(&alice, &["recordings", "cloud", "delete", &id]);
    assert!(!list(&alice).iter().any(|r| r["id"] == id.as_str()));
    assert!(!relay_dir(&relay).join("cloud").join(format!("{id}.vault")).exists());
}

fn relay_dir(r: &RelayProc) -> std::path::PathBuf {
    r.data_dir()
}

/// A call recorded by the server with `--record-cloud` and a worker:
/// returns the callers once both legs reach the worker.
fn recorded_call(relay: &RelayProc, worker: &Worker, alice_media: &[&str], bob_media: &[&str], alice_args: &[&str]) -> (Person, Person, CallProc, CallProc) {
    let (alice, bob) = (Person::register(relay, "alice"), Person::register(relay, "bob"));
    cli_ok(&bob, &["recordings", "cloud", "consent", "allow"]);
    let b = bob.call_with(bob_media, &["--answer", "--from", "alice"], &[]);
    b.wait_said(60, "waiting for a call");
    let mut args = vec!["bob", "--duration", "900", "--record-cloud"];
    args.extend_from_slice(alice_args);
    let a = alice.call_with(alice_media, &args, &[]);
    a.wait_said(60, "Recorded by the server");
    b.wait_said(20, "Recorded by the server");
    worker.wait_both_legs();
    (alice, bob, a, b)
}

const SMALL: &[&str] = &["--video", "test", "--size", "320x240", "--video-bitrate", "400"];

#[test]
fn a_relay_killed_mid_recording_keeps_it_up_to_its_last_chunk_and_the_callers_are_told() {
    let _g = serial();
    let mut relay = RelayProc::start(&["--recorder-token", RECORDER_TOKEN, "--cloud-min-free-mb", "20"]);
    let worker = Worker::start(&relay.url(), &[]);
    let (_alice, bob, mut a, mut b) = recorded_call(&relay, &worker, SMALL, SMALL, &[]);
    // A few fragments (about one a second) reach the relay: then the crash.
    std::thread::sleep(Duration::from_secs(4));
    relay.restart();
    a.wait_said(60, "recording stopped");
    b.wait_said(60, "recording stopped");
    // The worker hears it at its next media post and gives the job up:
    // "failed" when the post found the relay down, "stopped" when the
    // restarted relay answered that the job is over (which comes first is
    // the machine's timing).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(worker.said(": failed") || worker.said(": stopped")) {
        assert!(Instant::now() < deadline, "the recorder never gave the job up: {:?}", worker.lines.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    a.type_line("hangup");
    let _ = a.finish(60);
    let _ = b.finish(60);
    let l = list(&bob);
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0]["state"], "failed");
    let id = l[0]["id"].as_str().unwrap();
    let out = bob.path("crash.mp4");
    cli_ok(&bob, &["recordings", "cloud", "download", id, "--out", out.to_str().unwrap()]);
    let probe = Command::new("ffprobe").args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"]).arg(&out).output().unwrap();
    let dur: f64 = String::from_utf8_lossy(&probe.stdout).trim().parse().unwrap_or(0.0);
    assert!(dur >= 1.0, "recovered {dur} s");
}

#[test]
fn a_recorder_killed_mid_call_fails_the_recording_at_once_and_keeps_what_it_sent() {
    let _g = serial();
    let relay = RelayProc::start(&["--recorder-token", RECORDER_TOKEN, "--cloud-min-free-mb", "20"]);
    let mut worker = Worker::start(&relay.url(), &[]);
    let (_alice, bob, mut a, mut b) = recorded_call(&relay, &worker, SMALL, SMALL, &[]);
    std::thread::sleep(Duration::from_secs(4));
    let killed = Instant::now();
    let _ = worker.child.kill(); // SIGKILL
    let _ = worker.child.wait();
    // The relay fails a job whose worker went silent (10 s): both are told.
    a.wait_said(40, "failed: recording stopped");
    b.wait_said(40, "failed: recording stopped");
    let told = killed.elapsed();
    a.wait_said(20, "stopped sending media to the server's recorder");
    a.type_line("hangup");
    let _ = a.finish(60);
    let _ = b.finish(60);
    let l = list(&bob);
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0]["state"], "failed");
    let id = l[0]["id"].as_str().unwrap();
    let out = bob.path("killed.mp4");
    cli_ok(&bob, &["recordings", "cloud", "download", id, "--out", out.to_str().unwrap()]);
    let probe = Command::new("ffprobe").args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"]).arg(&out).output().unwrap();
    let dur: f64 = String::from_utf8_lossy(&probe.stdout).trim().parse().unwrap_or(0.0);
    assert!(dur >= 2.0, "recovered {dur} s");
    eprintln!("recorder killed: callers told after {:.1} s; {dur:.1} s recovered", told.as_secs_f64());
}

/// Times of the left picture's white flashes and of the clicks in the
/// sound (only alice sends sound here, so every click is hers).
fn flashes_and_clicks(path: &std::path::Path) -> (Vec<f64>, Vec<f64>) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg(format!("movie={},crop=iw/2:ih:0:0,signalstats", path.display()))
        .args(["-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"])
        .output()
        .unwrap();
    let mut flashes = Vec::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let mut it = l.split(',');
        if let (Some(Ok(t)), Some(Ok(y))) = (it.next().map(str::parse::<f64>), it.next().map(str::parse::<f64>)) {
            if y > 170.0 {
                flashes.push(t);
            }
        }
    }
    let probe = Command::new("ffprobe").args(["-v", "error", "-select_streams", "a", "-show_entries", "stream=start_time", "-of", "csv=p=0"]).arg(path).output().unwrap();
    let a_start: f64 = String::from_utf8_lossy(&probe.stdout).trim().parse().unwrap_or(0.0);
    let pcm = Command::new("ffmpeg").args(["-v", "error", "-nostdin", "-i"]).arg(path).args(["-map", "0:a", "-ac", "1", "-f", "f32le", "-"]).output().unwrap();
    let samples: Vec<f32> = pcm.stdout.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let mut clicks = Vec::new();
    let mut quiet_until = 0usize;
    for (i, s) in samples.iter().enumerate() {
        if i >= quiet_until && s.abs() > 0.3 {
            clicks.push(a_start + i as f64 / 48_000.0);
            quiet_until = i + 24_000;
        }
    }
    (flashes, clicks)
}

/// Alice's flash (left picture) and click (the only sound) land within
/// one composite frame of each other for `secs` of recording (two in the
/// first 2 s, before her first sender report).
fn sync_for(secs: u64) {
    let _g = serial();
    let relay = RelayProc::start(&["--recorder-token", RECORDER_TOKEN, "--cloud-min-free-mb", "20", "--cloud-tier", "360p"]);
    let worker = Worker::start(&relay.url(), &["--fps", "30"]);
    let alice_media = ["--video", "test", "--size", "320x240", "--video-bitrate", "400", "--no-audio-processing"];
    let bob_media = ["--video", "test", "--size", "320x240", "--video-bitrate", "400", "--audio", "none"];
    let (alice, _bob, mut a, mut b) = recorded_call(&relay, &worker, &alice_media, &bob_media, &[]);
    std::thread::sleep(Duration::from_secs(secs));
    a.type_line("record cloud stop");
    a.wait_said(60, "server recording");
    worker.wait_said(30, "stopped");
    a.type_line("hangup");
    let _ = a.finish(60);
    let _ = b.finish(60);
    let l = list(&alice);
    let id = l[0]["id"].as_str().unwrap();
    let out = alice.path("sync.mp4");
    cli_ok(&alice, &["recordings", "cloud", "download", id, "--out", out.to_str().unwrap()]);
    let (flashes, clicks) = flashes_and_clicks(&out);
    let want = secs as usize * 2 / 3;
    assert!(flashes.len() >= want, "{} flashes in {secs} s: {flashes:?}", flashes.len());
    assert!(clicks.len() >= want, "{} clicks in {secs} s: {clicks:?}", clicks.len());
    let frame = 1.0 / 30.0;
    let mut worst: f64 = 0.0;
    let mut offsets = Vec::new();
    // Until a sender's first RTCP sender report (about a second in), each
    // of its streams runs on its own RTP clock and the picture's extra
    // encode/decode time shows (measured up to 32 ms): within two frames
    // there, within one from then on.
    let mut worst_start: f64 = 0.0;
    for f in &flashes {
        let nearest = clicks.iter().map(|c| c - f).min_by(|a, b| a.abs().total_cmp(&b.abs())).unwrap();
        if *f < 2.0 {
            worst_start = worst_start.max(nearest.abs());
        } else {
            worst = worst.max(nearest.abs());
        }
        offsets.push(nearest);
    }
    assert!(worst_start <= 2.0 * frame, "in the first 2 s a flash {:.1} ms from its click", worst_start * 1000.0);
    eprintln!("server recording A/V sync over {secs} s: worst {:.1} ms over {} flashes; offsets (click - flash, ms): {:?}", worst * 1000.0, flashes.len(), offsets.iter().map(|o| (o * 1000.0).round()).collect::<Vec<_>>());
    eprintln!("first flashes at {:?} s, first clicks at {:?} s", &flashes[..flashes.len().min(3)], &clicks[..clicks.len().min(3)]);
    assert!(worst <= frame + 1e-3, "a flash {:.1} ms from its click (one frame is {:.1} ms)", worst * 1000.0, frame * 1000.0);
}

#[test]
fn the_server_recording_keeps_flash_and_click_within_one_frame() {
    sync_for(12);
}

/// The 10-minute version (issue 16): `cargo test --test cloud_recording -- --ignored`.
#[test]
#[ignore]
fn the_server_recording_keeps_flash_and_click_within_one_frame_for_10_minutes() {
    sync_for(600);
}
