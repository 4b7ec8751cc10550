//! Server-side call recording (issue 16) end to end: two `onair call`s
//! through a real `onair relay`; the relay's consent rules; a recorder
//! worker (here FFmpeg's CLI compositing two test streams with hstack +
//! amix, posting fragmented MP4 to the relay's job API, as a worker does);
//! the encrypted file on the relay's disk; the download checked by ffprobe;
//! a third user and crafted requests refused.

mod cli_call_support;
use cli_call_support::*;
use serde_json::Value;
use std::io::Read;
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

/// The recorder worker's part: claims the job, then streams what FFmpeg
/// composites (two 640x360 test pictures side by side = the 720p tier's
/// layout at half size is not enough: the tier is 2560x720) as fragmented
/// MP4 to the relay, in real time, for `secs` seconds.
fn recorder(relay: &str, secs: u32) -> std::thread::JoinHandle<()> {
    recorder_until(relay, secs, None)
}

/// [`recorder`], reporting the bytes the relay accepted so far in `sent`.
fn recorder_until(relay: &str, secs: u32, sent: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>) -> std::thread::JoinHandle<()> {
    let relay = relay.to_string();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let job: Value = loop {
            let (code, body) = curl(&format!("{relay}/v1/recorder/claim"), RECORDER_TOKEN, &["-X", "POST"]);
            if code == 200 {
                break serde_json::from_slice(&body).unwrap();
            }
            assert_eq!(code, 204, "claim: {}", String::from_utf8_lossy(&body));
            assert!(Instant::now() < deadline, "no job to claim");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(job["tier"], "720p");
        let id = job["id"].as_str().unwrap().to_string();
        let t = secs.to_string();
        let mut ff = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-re"])
            .args(["-f", "lavfi", "-i", &format!("testsrc2=size=1280x720:rate=15:duration={t}")])
            .args(["-f", "lavfi", "-i", &format!("smptebars=size=1280x720:rate=15:duration={t}")])
            .args(["-f", "lavfi", "-i", &format!("sine=frequency=440:sample_rate=48000:duration={t}")])
            .args(["-f", "lavfi", "-i", &format!("sine=frequency=660:sample_rate=48000:duration={t}")])
            .args(["-filter_complex", "[0:v][1:v]hstack=inputs=2[v];[2:a][3:a]amix=inputs=2[a]", "-map", "[v]", "-map", "[a]"])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-b:v", "1500k", "-c:a", "aac", "-b:a", "64k"])
            .args(["-f", "mp4", "-movflags", "frag_keyframe+empty_moov+default_base_moof", "pipe:1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("ffmpeg");
        let mut out = ff.stdout.take().unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let media = format!("{relay}/v1/recorder/jobs/{id}/media");
        loop {
            let n = out.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            let chunk = std::env::temp_dir().join(format!("cloud-rec-{id}.bin"));
            std::fs::write(&chunk, &buf[..n]).unwrap();
            let (code, body) = curl(&media, RECORDER_TOKEN, &["-X", "POST", "--data-binary", &format!("@{}", chunk.display())]);
            let _ = std::fs::remove_file(&chunk);
            if code == 204 {
                if let Some(s) = &sent {
                    s.fetch_add(n as u64, std::sync::atomic::Ordering::SeqCst);
                }
            }
            if code != 204 {
                // Stopped by a participant: the job is gone.
                eprintln!("recorder: media answered {code}: {}", String::from_utf8_lossy(&body));
                break;
            }
        }
        let _ = ff.kill();
        let _ = ff.wait();
    })
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
    let worker = recorder(&url, 6);
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
    std::thread::sleep(Duration::from_secs(2));
    a.type_line("b the intro");
    a.wait_said(20, "server bookmark \"the intro\" added");
    // The recording runs until the worker has sent most of its 6 s.
    std::thread::sleep(Duration::from_secs(3));
    a.type_line("record cloud stop");
    a.wait_said(60, "stopped");
    b.wait_said(60, "stopped");
    worker.join().unwrap();
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
    assert!((2.0..8.0).contains(&dur), "duration {dur}");
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

#[test]
fn a_relay_killed_mid_recording_keeps_it_up_to_its_last_chunk_and_the_callers_are_told() {
    let _g = serial();
    let mut relay = RelayProc::start(&["--recorder-token", RECORDER_TOKEN, "--cloud-min-free-mb", "20"]);
    let url = relay.url();
    let (alice, bob) = (Person::register(&relay, "alice"), Person::register(&relay, "bob"));
    cli_ok(&bob, &["recordings", "cloud", "consent", "allow"]);
    let mut b = bob.call(&["--answer", "--from", "alice"]);
    b.wait_said(60, "waiting for a call");
    // --record-cloud: the relay records as soon as the call is answered.
    let mut a = alice.call(&["bob", "--duration", "90", "--record-cloud"]);
    a.wait_said(60, "Recorded by the server");
    b.wait_said(20, "Recorded by the server");
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let worker = recorder_until(&url, 30, Some(sent.clone()));
    let deadline = Instant::now() + Duration::from_secs(60);
    // Past a few chunks of 64 KiB: then the crash.
    while sent.load(std::sync::atomic::Ordering::SeqCst) < 600_000 {
        assert!(Instant::now() < deadline, "the recorder sent too little");
        std::thread::sleep(Duration::from_millis(50));
    }
    relay.restart();
    worker.join().unwrap();
    a.wait_said(60, "recording stopped");
    b.wait_said(60, "recording stopped");
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
