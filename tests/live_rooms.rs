//! Live rooms on the relay: a real `onair relay` (RTMP ingest on a free
//! port), the FFmpeg CLI and `onair live` as publishers, ffprobe and
//! `onair watch` as viewers.

mod chat_support;
mod throttle_support;

use chat_support::{wait_for, Relay, User};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A plain HTTP GET on the relay: (status, body).
fn get(relay: &Relay, path: &str) -> (u16, Vec<u8>) {
    let Ok(mut s) = TcpStream::connect(&relay.addr) else { return (0, Vec::new()) };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.write_all(format!("GET {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", relay.addr).as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let Some(split) = out.windows(4).position(|w| w == b"\r\n\r\n") else { return (0, Vec::new()) };
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out[split + 4..].to_vec())
}

/// A GET with extra header lines: (status, response head, body).
fn get_with(relay: &Relay, path: &str, headers: &str) -> (u16, String, Vec<u8>) {
    let Ok(mut s) = TcpStream::connect(&relay.addr) else { return (0, String::new(), Vec::new()) };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.write_all(format!("GET {path} HTTP/1.1\r\nhost: {}\r\n{headers}connection: close\r\n\r\n", relay.addr).as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let Some(split) = out.windows(4).position(|w| w == b"\r\n\r\n") else { return (0, String::new(), Vec::new()) };
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head, out[split + 4..].to_vec())
}

fn room_info(relay: &Relay, id: &str) -> Value {
    let (st, body) = get(relay, &format!("/v1/rooms/{id}"));
    assert_eq!(st, 200, "room {id}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// The MPEG-TS playlist's segment names, once it exists.
fn segments(relay: &Relay, id: &str) -> Option<Vec<String>> {
    let (st, body) = get(relay, &format!("/live/{id}/ts.m3u8"));
    (st == 200).then(|| String::from_utf8_lossy(&body).lines().filter(|l| l.ends_with(".ts")).map(String::from).collect())
}

fn create_room(u: &User, title: &str) -> Value {
    serde_json::from_str(u.ok(&["room", "create", title, "--category", "test", "--json"]).trim()).unwrap()
}

/// The FFmpeg CLI publishing test patterns with a 1 s GOP.
fn ffmpeg_publish(url: &str, secs: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30", "-f", "lavfi", "-i", "sine=frequency=440"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "aac", "-t", &secs.to_string(), "-f", "flv", url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg is installed (scripts/deps.sh test)")
}

fn stderr_of(mut c: Child) -> (bool, String) {
    let st = c.wait().unwrap();
    let mut err = String::new();
    if let Some(mut e) = c.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (st.success(), err)
}

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ffmpeg_publishes_hls_plays_wrong_key_and_second_publisher_are_refused() {
    let relay = Relay::start();
    let ann = User::register(&relay, "ann");
    let room = create_room(&ann, "Pattern hour");
    let (id, rtmp) = (room["id"].as_str().unwrap().to_string(), room["rtmp_url"].as_str().unwrap().to_string());
    assert!(rtmp.starts_with("rtmp://127.0.0.1:") && rtmp.ends_with(room["stream_key"].as_str().unwrap()), "{room}");
    assert_eq!(room_info(&relay, &id)["live"], false);

    // A wrong key is refused with a message the publisher shows.
    let (ok, err) = stderr_of(ffmpeg_publish(&format!("{}/live/live_wrong", rtmp.rsplitn(3, '/').nth(2).unwrap()), 3));
    assert!(!ok && err.contains("invalid stream key"), "wrong key: {err}");

    let first = KillOnDrop(ffmpeg_publish(&rtmp, 30));
    let segs = wait_for(60, "two HLS segments", || segments(&relay, &id).filter(|s| s.len() >= 2));
    // Live segments are served from disk like replays (ServeFile): Range
    // gets exactly the bytes asked, a range past the end 416, and a client
    // that has the segment gets 304.
    let seg = format!("/live/{id}/{}", segs[0]);
    let (st, head, whole) = get_with(&relay, &seg, "");
    assert!(st == 200 && whole.len() > 400 && head.to_lowercase().contains("content-type: video/mp2t"), "{head}");
    let (st, head, part) = get_with(&relay, &seg, "range: bytes=100-399\r\n");
    assert_eq!((st, part.as_slice()), (206, &whole[100..400]), "{head}");
    assert_eq!(get_with(&relay, &seg, &format!("range: bytes={}-\r\n", whole.len())).0, 416);
    let modified = head.lines().find_map(|l| l.strip_prefix("last-modified: ").or_else(|| l.strip_prefix("Last-Modified: "))).expect("last-modified").to_string();
    assert_eq!(get_with(&relay, &seg, &format!("if-modified-since: {modified}\r\n")).0, 304);
    let info = room_info(&relay, &id);
    assert_eq!(info["live"], true, "{info}");
    let listed = ann.ok(&["room", "list", "--json"]);
    assert!(listed.contains(&id), "the directory lists the live room: {listed}");

    // ffprobe reads the live playlist: H.264 + AAC.
    let url = format!("{}/live/{id}/index.m3u8", relay.url());
    let out = Command::new("ffprobe").args(["-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "json", &url]).output().unwrap();
    let probe: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let codecs: Vec<String> = probe["streams"].as_array().into_iter().flatten().map(|s| format!("{}:{}", s["codec_type"].as_str().unwrap_or(""), s["codec_name"].as_str().unwrap_or(""))).collect();
    assert!(codecs.contains(&"video:h264".to_string()) && codecs.contains(&"audio:aac".to_string()), "{codecs:?} {}", String::from_utf8_lossy(&out.stderr));

    // Low-latency HLS: the multivariant playlist names the rung; parts of
    // ~200 ms; a blocking reload returns once the hinted part exists, and
    // the hinted part itself is answered when it is done.
    let (st, mv) = get(&relay, &format!("/live/{id}/index.m3u8"));
    let mv = String::from_utf8_lossy(&mv);
    assert!(st == 200 && mv.contains("#EXT-X-STREAM-INF:BANDWIDTH=") && mv.contains("RESOLUTION=854x480") && mv.contains("CODECS=\"avc1.") && mv.contains("\nll.m3u8"), "{mv}");
    let (st, head, ll) = get_with(&relay, &format!("/live/{id}/ll.m3u8"), "");
    let ll = String::from_utf8_lossy(&ll).to_string();
    assert!(st == 200 && ll.contains("#EXT-X-PART-INF:PART-TARGET=0.250") && ll.contains("CAN-BLOCK-RELOAD=YES") && ll.contains("#EXT-X-MAP:URI=\"init.mp4\""), "{ll}");
    assert!(head.to_lowercase().contains("cache-control: public, max-age=1"), "{head}");
    let hint = ll.lines().find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"")).and_then(|u| u.strip_suffix('"')).expect("a preload hint").to_string();
    let (msn, n) = hint.trim_start_matches("part.").trim_end_matches(".m4s").split_once('.').unwrap();
    let t = std::time::Instant::now();
    let (st, blocked) = get(&relay, &format!("/live/{id}/ll.m3u8?_HLS_msn={msn}&_HLS_part={n}"));
    let blocked = String::from_utf8_lossy(&blocked);
    assert!(st == 200 && blocked.contains(&format!("URI=\"{hint}\"")) && !blocked.contains(&format!("PRELOAD-HINT:TYPE=PART,URI=\"{hint}")), "blocked until {hint}: {blocked}");
    assert!(t.elapsed() < Duration::from_secs(3), "a part is ~200 ms: {:?}", t.elapsed());
    let (st, head, part) = get_with(&relay, &format!("/live/{id}/{hint}"), "");
    assert!(st == 200 && part.windows(4).any(|w| w == b"moof") && head.to_lowercase().contains("immutable"), "{head}");
    let (st, _, init) = get_with(&relay, &format!("/live/{id}/init.mp4"), "");
    assert!(st == 200 && init.windows(4).any(|w| w == b"moov"));
    let far: u64 = msn.parse::<u64>().unwrap() + 10;
    assert_eq!(get(&relay, &format!("/live/{id}/ll.m3u8?_HLS_msn={far}")).0, 400, "too far ahead");

    // A second publisher on the live key is refused; the first goes on.
    let (ok, err) = stderr_of(ffmpeg_publish(&rtmp, 3));
    assert!(!ok && err.contains("already live"), "second publisher: {err}");
    let last = segs.last().cloned();
    wait_for(30, "a new segment from the first publisher", || segments(&relay, &id).filter(|s| s.last() != last.as_ref() && !s.is_empty()));
    assert_eq!(room_info(&relay, &id)["live"], true);
    let mut first = first;
    assert!(first.0.try_wait().unwrap().is_none(), "the first publisher must still be streaming");
}

#[test]
fn onair_live_to_a_room_and_watch_decodes_it_with_latency() {
    let relay = Relay::start();
    let bob = User::register(&relay, "bob");
    let room = create_room(&bob, "Test card");
    let id = room["id"].as_str().unwrap().to_string();
    let live_stats = bob.home.path().join("live.json");
    let mut live = KillOnDrop(
        bob.cmd(&["live", "--to", &format!("relay://{id}"), "--video", "test", "--audio", "test", "--preset", "480p30", "--duration", "40", "--stats-json", live_stats.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(60, "the room to go live", || (room_info(&relay, &id)["live"] == true).then_some(()));
    let stats = bob.home.path().join("watch.json");
    let saved = bob.home.path().join("got.ts");
    let s = stats.to_str().unwrap();
    // A low-latency (HTTP-FLV) viewer at the same time as the HLS one.
    let ll_stats = bob.home.path().join("watch-ll.json");
    let ll = bob.cmd(&["watch", &id, "--low-latency", "--duration", "10", "--stats-json", ll_stats.to_str().unwrap()]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // And a part-aware low-latency HLS viewer.
    let parts_stats = bob.home.path().join("watch-parts.json");
    let parts = bob.cmd(&["watch", &id, "--ll-hls", "--duration", "10", "--stats-json", parts_stats.to_str().unwrap()]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let out = bob.run(&["watch", &id, "--duration", "10", "--stats-json", s, "--out", saved.to_str().unwrap()]);
    assert!(out.status.success(), "watch: {}", String::from_utf8_lossy(&out.stderr));
    let (ok, err) = stderr_of(ll);
    assert!(ok, "low-latency watch: {err}");
    let (ok, err) = stderr_of(parts);
    assert!(ok, "watch --ll-hls: {err}");
    // SIGTERM: the publisher stops cleanly and writes its counters.
    unsafe { libc::kill(live.0.id() as i32, libc::SIGTERM) };
    let _ = live.0.wait();
    let pv: Value = serde_json::from_slice(&std::fs::read(&live_stats).unwrap()).unwrap();
    let v: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} missing: {v}"));
    // Of the frames the publisher sent in the span watched, ≥ 90% decoded.
    // A starved encoder on a loaded machine drops frames before they are
    // sent (counted by `onair live`): those the relay never saw.
    let sent_ratio = pv["video_frames_encoded"].as_f64().unwrap() / pv["video_frames_captured"].as_f64().unwrap().max(1.0);
    assert!(n("video_frames_expected") >= 150, "{v}");
    assert!(n("video_frames_received") as f64 >= 100.0 * sent_ratio, "watch {v}\npublisher {pv}");
    assert!(n("video_frames_stamped") as f64 >= 0.9 * sent_ratio * n("video_frames_expected") as f64, "watch {v}\npublisher {pv}");
    assert!(n("video_frames_decoded") >= n("video_frames_stamped"), "{v}");
    let (p50, p95) = (v["latency_ms_p50"].as_i64().expect("p50"), v["latency_ms_p95"].as_i64().expect("p95"));
    assert!(p50 > 0 && p95 >= p50 && p95 < 15_000, "{v}");
    let l: Value = serde_json::from_slice(&std::fs::read(&ll_stats).unwrap()).unwrap();
    let m = |k: &str| l[k].as_u64().unwrap_or_else(|| panic!("{k} missing: {l}"));
    assert!(m("video_frames_expected") >= 150, "{l}");
    assert!(m("video_frames_stamped") as f64 >= 0.9 * sent_ratio * m("video_frames_expected") as f64, "low latency {l}\npublisher {pv}");
    let ll50 = l["latency_ms_p50"].as_i64().expect("low-latency p50");
    assert!(ll50 > 0 && ll50 < 15_000, "{l}");
    // Low-latency HLS part by part: every frame, sooner than whole segments.
    let h: Value = serde_json::from_slice(&std::fs::read(&parts_stats).unwrap()).unwrap();
    let k = |key: &str| h[key].as_u64().unwrap_or_else(|| panic!("{key} missing: {h}"));
    assert!(k("video_frames_expected") >= 150 && k("video_frames_stamped") as f64 >= 0.9 * sent_ratio * k("video_frames_expected") as f64, "--ll-hls {h}\npublisher {pv}");
    let parts50 = h["latency_ms_p50"].as_i64().expect("--ll-hls p50");
    eprintln!("latency p50: HTTP-FLV {ll50} ms, LL-HLS parts {parts50} ms, HLS segments {p50} ms");
    assert!(parts50 > 0 && parts50 < p50, "LL-HLS by parts ({parts50} ms) is sooner than by whole segments ({p50} ms): {h}");
    let probe = Command::new("ffprobe").args(["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0"]).arg(&saved).output().unwrap();
    let codecs = String::from_utf8_lossy(&probe.stdout);
    assert!(codecs.contains("h264") && codecs.contains("aac"), "--out saved {codecs}");
}

#[test]
fn malformed_rtmp_never_takes_the_relay_down() {
    let relay = Relay::start();
    let cy = User::register(&relay, "cy");
    let room = create_room(&cy, "Robust");
    let (id, rtmp) = (room["id"].as_str().unwrap().to_string(), room["rtmp_url"].as_str().unwrap().to_string());
    let addr = rtmp.trim_start_matches("rtmp://").split('/').next().unwrap().to_string();
    // Garbage, a wrong version, truncated handshakes, and a valid handshake
    // followed by garbage chunks.
    let mut junk: Vec<Vec<u8>> = vec![b"GET / HTTP/1.1\r\n\r\n".to_vec(), vec![0xff; 5000], vec![3], vec![3; 700]];
    let mut c0c1 = vec![3u8];
    c0c1.extend((0..1536u32).map(|i| (i * 7) as u8));
    let mut after = c0c1.clone();
    after.extend((0..1536u32).map(|i| (i * 13) as u8)); // C2
    after.extend((0..4000u32).map(|i| (i * 31 + 5) as u8)); // chunk garbage
    junk.push(after);
    // One connection stays open mid-handshake while another publishes.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(&c0c1[..100]).unwrap();
    for j in &junk {
        let mut s = TcpStream::connect(&addr).unwrap();
        let _ = s.write_all(j);
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut sink = [0u8; 8192];
        let _ = s.read(&mut sink);
    }
    // Another codec (Sorenson H.263 + MP3) is refused; the room is free again after.
    let bad = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine"])
        .args(["-c:v", "flv1", "-c:a", "libmp3lame", "-t", "4", "-f", "flv", &rtmp])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (ok, err) = stderr_of(bad);
    assert!(!ok, "a non-H.264 publisher must be cut off: {err}");
    wait_for(30, "the room to be free again", || (room_info(&relay, &id)["live"] == false).then_some(()));
    let publisher = KillOnDrop(ffmpeg_publish(&rtmp, 8));
    wait_for(60, "a segment from a good publisher", || segments(&relay, &id).filter(|s| !s.is_empty()));
    assert!(relay.healthz());
    drop(publisher);
    drop(idle);
}

#[test]
fn a_live_becomes_a_replay_with_its_duration() {
    let relay = Relay::start();
    let dee = User::register(&relay, "dee");
    // With a ladder: the replay gets its renditions too, once it is finished.
    let room: Value = serde_json::from_str(dee.ok(&["room", "create", "Recorded", "--ladder", "source,360p,audio", "--json"]).trim()).unwrap();
    let (id, rtmp) = (room["id"].as_str().unwrap().to_string(), room["rtmp_url"].as_str().unwrap().to_string());
    let (ok, err) = stderr_of(ffmpeg_publish(&rtmp, 6));
    assert!(ok, "publisher: {err}");
    let replays = wait_for(60, "the replay to be listed", || {
        let l = dee.json_lines(&["room", "replays", &id, "--json"]);
        (!l.is_empty()).then_some(l)
    });
    let url = replays[0]["url"].as_str().unwrap().to_string();
    let out = Command::new("ffprobe").args(["-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "json", &url]).output().unwrap();
    let probe: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let dur: f64 = probe["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0);
    assert!((5.0..=7.0).contains(&dur), "replay lasts {dur}s, the live 6 s: {probe} {}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<&str> = probe["streams"].as_array().unwrap().iter().filter_map(|s| s["codec_name"].as_str()).collect();
    assert!(names.contains(&"h264") && names.contains(&"aac"), "{probe}");
    // Seeking over HTTP: a ranged request is answered 206.
    let path = replays[0]["path"].as_str().unwrap();
    let mut s = TcpStream::connect(&relay.addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nrange: bytes=100-199\r\nconnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    assert!(resp.starts_with(b"HTTP/1.1 206"), "{}", String::from_utf8_lossy(&resp[..resp.len().min(200)]));
    // The renditions, made in the background from the finished replay.
    let replay = wait_for(90, "the replay's 360p and audio renditions", || {
        let r = dee.json_lines(&["room", "replays", &id, "--json"]).into_iter().next()?;
        (r["renditions"].as_array()?.len() == 3).then_some(r)
    });
    let names: Vec<&str> = replay["renditions"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["source", "360p", "audio"]);
    let probe = |path: &str| {
        let o = Command::new("ffprobe").args(["-v", "error", "-show_entries", "format=duration:stream=codec_name,width,height", "-of", "json", &format!("{}{path}", relay.url())]).output().unwrap();
        serde_json::from_slice::<Value>(&o.stdout).unwrap_or_default()
    };
    let small = probe(replay["renditions"][1]["path"].as_str().unwrap());
    let v = small["streams"].as_array().unwrap().iter().find(|s| s["codec_name"] == "h264").cloned().unwrap_or_default();
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(640), Some(360)), "{small}");
    let d: f64 = small["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0);
    assert!((dur - d).abs() < 0.6, "the 360p replay lasts {d}s, the source {dur}s");
    let sound = probe(replay["renditions"][2]["path"].as_str().unwrap());
    let codecs: Vec<&str> = sound["streams"].as_array().unwrap().iter().filter_map(|s| s["codec_name"].as_str()).collect();
    assert_eq!(codecs, ["aac"], "{sound}");
}


/// Headless Chromium with a fresh profile, its stderr (where `console.log`
/// lands with `--enable-logging=stderr`) collected line by line.
struct Chromium {
    child: Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    fn open(url: &str) -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--enable-logging=stderr", "--v=0", "--autoplay-policy=no-user-gesture-required", url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium is installed (scripts/deps.sh test)");
        let err = child.stderr.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let l = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        });
        Chromium { child, lines, _profile: profile }
    }

    /// (frames, currentTime) of each `ONAIR player` progress line so far.
    fn progress(&self) -> Vec<(u64, f64)> {
        let field = |l: &str, k: &str| l.split_whitespace().find_map(|w| w.strip_prefix(k)).map(|v| v.trim_end_matches('"').to_string());
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("ONAIR player frames="))
            .filter_map(|l| Some((field(l, "frames=")?.parse().ok()?, field(l, "currentTime=")?.parse().ok()?)))
            .collect()
    }

    fn player_errors(&self) -> Vec<String> {
        self.lines.lock().unwrap().iter().filter(|l| l.contains("ONAIR player error")).cloned().collect()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn chromium_plays_the_low_latency_fmp4_with_media_source_extensions() {
    let relay = Relay::start();
    let eve = User::register(&relay, "eve");
    let room = create_room(&eve, "In the browser");
    let (id, rtmp) = (room["id"].as_str().unwrap().to_string(), room["rtmp_url"].as_str().unwrap().to_string());
    let _publisher = KillOnDrop(ffmpeg_publish(&rtmp, 120));
    let info = wait_for(60, "the MSE codec string", || {
        let i = room_info(&relay, &id);
        i["mse_type"].as_str().is_some().then_some(i)
    });
    let mse = info["mse_type"].as_str().unwrap();
    assert!(mse.starts_with("video/mp4; codecs=\"avc1.") && mse.ends_with(",mp4a.40.2\""), "{mse}");
    assert_eq!(info["mp4_path"], format!("/live/{id}/live.mp4"));

    // An independent parser reads both low-latency formats: H.264 + AAC.
    for f in ["live.mp4", "live.flv"] {
        let url = format!("{}/live/{id}/{f}", relay.url());
        let out = Command::new("ffprobe").args(["-v", "error", "-rw_timeout", "20000000", "-show_entries", "stream=codec_name", "-of", "csv=p=0", &url]).output().unwrap();
        let codecs = String::from_utf8_lossy(&out.stdout);
        assert!(codecs.contains("h264") && codecs.contains("aac"), "{f}: {codecs} {}", String::from_utf8_lossy(&out.stderr));
    }
    let (st, js) = get(&relay, "/static/live-player.js");
    assert!(st == 200 && String::from_utf8_lossy(&js).contains("export function playLive"));

    // The relay's player page in a real browser: MediaSource + SourceBuffer.
    let browser = Chromium::open(&format!("{}/watch/{id}", relay.url()));
    let first = wait_for(90, "the player's first progress line", || browser.progress().first().copied());
    wait_for(90, "video frames decoded and time advancing", || {
        assert!(browser.player_errors().is_empty(), "{:?}", browser.player_errors());
        let last = *browser.progress().last().unwrap();
        (last.0 >= first.0 + 60 && last.1 >= first.1 + 2.0).then_some(())
    });
    // The directory counts the browser as a low-latency viewer.
    let info = room_info(&relay, &id);
    assert!(info["stream_viewers"].as_u64().unwrap() >= 1 && info["viewers"].as_u64().unwrap() >= 1, "{info}");
}

/// hls.js (from the UI's npm packages) in low-latency mode on the room's
/// multivariant playlist: it plays, and its own latency figure (live edge
/// minus playhead) stays under 1.5 s.
#[test]
fn hls_js_plays_low_latency_hls_under_a_second_and_a_half_and_steps_down_when_throttled() {
    let hls_js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/node_modules/hls.js/dist/hls.min.js");
    assert!(hls_js.exists(), "hls.js is installed with the UI's packages (cd ui && npm install)");
    let relay = Relay::start();
    let hal = User::register(&relay, "hal");
    let room: Value = serde_json::from_str(hal.ok(&["room", "create", "LL-HLS", "--ladder", "source,360p", "--json"]).trim()).unwrap();
    let (id, rtmp) = (room["id"].as_str().unwrap().to_string(), room["rtmp_url"].as_str().unwrap().to_string());
    let _publisher = KillOnDrop(ffmpeg_publish(&rtmp, 120));
    wait_for(60, "the first low-latency segment", || (get(&relay, &format!("/live/{id}/ll.m3u8")).0 == 200).then_some(()));
    // hls.js fetches through a link the test can throttle.
    let port: u16 = relay.addr.rsplit(':').next().unwrap().parse().unwrap();
    let link = throttle_support::Throttle::start(port, throttle_support::Way::Down);
    let page = hal.home.path().join("ll.html");
    std::fs::write(
        &page,
        format!(
            r#"<!doctype html><video id=v muted autoplay playsinline></video>
<script src="file://{js}"></script>
<script>
const v = document.getElementById('v');
const hls = new Hls({{ lowLatencyMode: true, liveSyncDuration: 0.6, maxLiveSyncPlaybackRate: 1.5, abrEwmaDefaultEstimate: 5e6 }});
hls.on(Hls.Events.ERROR, (_, d) => {{ if (d.fatal) console.log('ONAIR player error ' + d.type + ' ' + d.details); }});
hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => console.log('ONAIR level height=' + hls.levels[d.level].height));
hls.loadSource('{url}/live/{id}/index.m3u8');
hls.attachMedia(v);
setInterval(() => {{
  const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
  console.log('ONAIR player frames=' + q + ' currentTime=' + v.currentTime.toFixed(3) + ' latency=' + (hls.latency || 0).toFixed(3) + ' parts=' + (hls.levels[0] && hls.levels[0].details && hls.levels[0].details.partList ? hls.levels[0].details.partList.length : 0));
}}, 500);
</script>"#,
            js = hls_js.display(),
            url = format!("http://127.0.0.1:{}", link.port)
        ),
    )
    .unwrap();
    let browser = Chromium::open(&format!("file://{}", page.display()));
    let first = wait_for(90, "hls.js's first progress line", || browser.progress().first().copied());
    wait_for(90, "video frames decoded and time advancing", || {
        assert!(browser.player_errors().is_empty(), "{:?}", browser.player_errors());
        let last = *browser.progress().last().unwrap();
        (last.0 >= first.0 + 120 && last.1 >= first.1 + 6.0).then_some(())
    });
    let latencies: Vec<f64> = browser
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("ONAIR player frames="))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("latency=")).and_then(|v| v.trim_end_matches('"').parse().ok()))
        .filter(|l: &f64| *l > 0.0)
        .collect();
    let recent = &latencies[latencies.len().saturating_sub(6)..];
    let mut sorted = recent.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    eprintln!("hls.js low-latency mode: latency {recent:?} s (median {median:.3})");
    assert!(median > 0.0 && median < 1.5, "hls.js latency {recent:?}");
    // hls.js's own adaptive rule on a link throttled below the source
    // (~1.3 Mbit/s) but above the 360p rung: it switches down to 360p.
    let levels = || -> Vec<u32> { browser.lines.lock().unwrap().iter().filter_map(|l| l.split("ONAIR level height=").nth(1)).filter_map(|h| h.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()).collect() };
    assert_eq!(levels().last(), Some(&480), "hls.js plays the source first: {:?}", levels());
    link.limit(1_000_000);
    wait_for(60, "hls.js to switch down to the 360p rung", || (levels().last() == Some(&360)).then_some(()));
    eprintln!("hls.js levels: {:?}", levels());
}

/// CPU seconds (user + system) a process has used.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0) + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

/// The relay's CPU over `secs` seconds.
fn cpu_over(pid: u32, secs: u64) -> f64 {
    let c0 = cpu_secs(pid);
    std::thread::sleep(Duration::from_secs(secs));
    cpu_secs(pid) - c0
}

/// A relay with a ladder under a 1280×720 source from `onair live`: the
/// multivariant playlist lists the source, 480p, 360p and audio (not 720p:
/// no rung at the source's height); `onair watch --quality 480p` decodes
/// 854×480, ffprobe reads 360p at 640×360; a rung costs nothing while
/// nobody watches it.
#[test]
fn a_ladder_rung_plays_at_its_size_and_costs_nothing_unwatched() {
    let relay = Relay::start_with(&["--ladder", "360p,720p,480p,audio"], false);
    let lee = User::register(&relay, "lee");
    let room = create_room(&lee, "Ladder");
    let id = room["id"].as_str().unwrap().to_string();
    let _publisher = KillOnDrop(
        lee.cmd(&["live", "--to", &format!("relay://{id}"), "--video", "test", "--audio", "test", "--preset", "720p30", "--duration", "120"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(60, "the source's first segment", || (get(&relay, &format!("/live/{id}/ll.m3u8")).0 == 200).then_some(()));
    let mv = wait_for(30, "the source's size in the multivariant playlist", || {
        let mv = String::from_utf8_lossy(&get(&relay, &format!("/live/{id}/index.m3u8")).1).to_string();
        mv.contains("RESOLUTION=1280x720").then_some(mv)
    });
    assert!(mv.contains("RESOLUTION=640x360") && mv.contains("\n360p/ll.m3u8"), "{mv}");
    assert!(mv.contains("RESOLUTION=854x480") && mv.contains("\n480p/ll.m3u8"), "{mv}");
    assert!(!mv.contains("720p/"), "no rung at or above the source: {mv}");
    assert!(mv.contains("CODECS=\"mp4a.40.2\",NAME=\"audio\"\naudio/ll.m3u8"), "the audio-only rung: {mv}");
    // Nobody has asked for the rung yet: the relay only passes through.
    let idle = cpu_over(relay.pid().unwrap(), 4);

    let out_ts = lee.home.path().join("rung.ts");
    let stats = lee.home.path().join("rung.json");
    let w = lee.run(&["watch", &id, "--quality", "480p", "--duration", "6", "--out", out_ts.to_str().unwrap(), "--stats-json", stats.to_str().unwrap()]);
    assert!(w.status.success(), "watch --quality 480p: {}", String::from_utf8_lossy(&w.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert!(v["video_frames_decoded"].as_u64().unwrap_or(0) >= 60, "{v}");
    let probe = |url: &str| {
        let o = Command::new("ffprobe").args(["-v", "error", "-rw_timeout", "20000000", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", url]).output().unwrap();
        // One line per program and per stream: the first says it.
        String::from_utf8_lossy(&o.stdout).lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string()
    };
    assert_eq!(probe(out_ts.to_str().unwrap()), "854,480", "what onair watch --quality 480p saved");
    // The same rung as the low-latency fMP4 stream, while it is being made.
    let busy = std::thread::scope(|s| {
        let cpu = s.spawn(|| cpu_over(relay.pid().unwrap(), 4));
        assert_eq!(probe(&format!("{}/live/{id}/360p/live.mp4", relay.url())), "640,360");
        cpu.join().unwrap()
    });
    // The audio-only rung: the source's AAC and nothing else.
    let o = Command::new("ffprobe").args(["-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "csv=p=0", &format!("{}/live/{id}/audio/ll.m3u8", relay.url())]).output().unwrap();
    let streams = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(streams.contains("aac,audio") && !streams.contains("video"), "audio rung: {streams} {}", String::from_utf8_lossy(&o.stderr));

    // Everyone left: after the idle time the rung is not encoded any more.
    std::thread::sleep(Duration::from_secs(10));
    let after = cpu_over(relay.pid().unwrap(), 4);
    eprintln!("relay CPU over 4 s: before any rung viewer {idle:.2} s, while 480p and 360p are watched {busy:.2} s, after they left {after:.2} s");
    assert!(after <= idle * 1.5 + 0.3, "an unwatched rung costs nothing: idle {idle:.2}, after {after:.2} (busy {busy:.2})");
}

/// A ladder chosen for one room at its creation (the relay has none): the
/// room offers source, 360p and audio, another room only its source, a
/// made-up rung is refused. `onair watch --quality audio` plays sound only;
/// `--quality auto` behind a viewer link throttled below the source steps
/// down, and back up once the throttle is lifted, each switch in its stats.
#[test]
fn a_room_ladder_from_creation_and_auto_quality_that_follows_the_link() {
    let relay = Relay::start();
    let ivy = User::register(&relay, "ivy");
    let bad = ivy.run(&["room", "create", "Nope", "--ladder", "source,4k"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unknown rung \"4k\""), "{}", String::from_utf8_lossy(&bad.stderr));
    let room: Value = serde_json::from_str(ivy.ok(&["room", "create", "Laddered", "--ladder", "audio, 360p,source,1080p", "--json"]).trim()).unwrap();
    assert_eq!(room["ladder"], serde_json::json!(["source", "1080p", "360p", "audio"]), "{room}");
    let plain = create_room(&ivy, "Plain");
    assert_eq!(room_info(&relay, plain["id"].as_str().unwrap())["ladder"], serde_json::json!(["source"]));
    let (id, rtmp) = (room["id"].as_str().unwrap().to_string(), room["rtmp_url"].as_str().unwrap().to_string());
    let _publisher = KillOnDrop(ffmpeg_publish(&rtmp, 120));
    // Once the source (854×480) is known, no rung above it is offered.
    wait_for(60, "the room's renditions under its source", || (room_info(&relay, &id)["ladder"] == serde_json::json!(["source", "360p", "audio"])).then_some(()));
    let mv = String::from_utf8_lossy(&get(&relay, &format!("/live/{id}/index.m3u8")).1).to_string();
    assert!(mv.contains("\n360p/ll.m3u8") && mv.contains("\naudio/ll.m3u8") && !mv.contains("1080p"), "{mv}");

    let stats = ivy.home.path().join("audio.json");
    ivy.ok(&["watch", &id, "--quality", "audio", "--duration", "5", "--stats-json", stats.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(v["rendition"], "audio", "{v}");
    assert!(v["audio_frames_decoded"].as_u64().unwrap_or(0) >= 40 && v["video_frames_received"] == 0, "sound only: {v}");

    // A viewer whose link carries the source (~1.3 Mbit/s) until it is
    // throttled to 1 Mbit/s: enough for 360p, not for the source.
    let port: u16 = relay.addr.rsplit(':').next().unwrap().parse().unwrap();
    let link = throttle_support::Throttle::start(port, throttle_support::Way::Down);
    let stats = ivy.home.path().join("auto.json");
    let mut w = ivy
        .cmd(&["watch", &id, "--relay", &format!("http://127.0.0.1:{}", link.port), "--quality", "auto", "--duration", "90", "--stats-json", stats.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let err = w.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut seen = Vec::new();
    let mut until = |secs: u64, what: &str, f: &dyn Fn(&str) -> bool| {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        while std::time::Instant::now() < end {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
                seen.push(l.clone());
                if f(&l) {
                    return;
                }
            }
        }
        panic!("waited {secs} s for {what}; watch said: {seen:#?}");
    };
    until(60, "watch to start", &|l| l.starts_with("watching"));
    // A few seconds on the source at full speed, then the link slows.
    std::thread::sleep(Duration::from_secs(4));
    link.limit(1_000_000);
    until(40, "a step down from the source", &|l| l.starts_with("quality: source -> "));
    link.limit(0);
    // Up is toward the source, the ladder's first rendition.
    let ladder = ["source", "360p", "audio"];
    let up = move |l: &str| {
        let Some((from, to)) = l.strip_prefix("quality: ").and_then(|r| r.split(' ').next().zip(r.split(' ').nth(2))) else { return false };
        ladder.iter().position(|r| *r == to) < ladder.iter().position(|r| *r == from)
    };
    until(60, "a step back up", &up);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(w.id() as i32, libc::SIGTERM) };
    assert!(w.wait().unwrap().success());
    let v: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let switches = v["switches"].as_array().cloned().unwrap_or_default();
    eprintln!("auto quality switches: {switches:?}");
    assert!(switches.len() >= 2 && switches[0]["from"] == "source", "{v}");
    assert!(switches.iter().any(|s| up(&format!("quality: {} -> {}", s["from"].as_str().unwrap_or(""), s["to"].as_str().unwrap_or("")))), "{v}");
}

#[test]
fn a_replay_survives_a_relay_crash_mid_live() {
    let mut relay = Relay::start();
    let fay = User::register(&relay, "fay");
    let room = create_room(&fay, "Crashy");
    let (id, rtmp) = (room["id"].as_str().unwrap().to_string(), room["rtmp_url"].as_str().unwrap().to_string());
    let publisher = KillOnDrop(ffmpeg_publish(&rtmp, 60));
    // Some seconds of the live on disk (≥ 4 one-second HLS segments went by).
    wait_for(90, "four HLS segments", || segments(&relay, &id).and_then(|s| s.last().cloned()).filter(|l| l.as_str() >= "seg00004.ts"));
    relay.kill9();
    drop(publisher);
    // Restarted on the same data: the interrupted recording is finished and listed.
    relay.start_again();
    let replays = wait_for(60, "the recovered replay to be listed", || {
        let l = fay.json_lines(&["room", "replays", &id, "--json"]);
        (!l.is_empty()).then_some(l)
    });
    let url = replays[0]["url"].as_str().unwrap().to_string();
    let out = Command::new("ffprobe").args(["-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "json", &url]).output().unwrap();
    let probe: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let dur: f64 = probe["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0);
    assert!(dur >= 2.0, "the recovered replay keeps what was recorded before the crash: {dur}s {probe} {}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<&str> = probe["streams"].as_array().unwrap().iter().filter_map(|s| s["codec_name"].as_str()).collect();
    assert!(names.contains(&"h264") && names.contains(&"aac"), "{probe}");
    assert!(std::fs::read_dir(relay.data.join("replays").join(&id)).unwrap().flatten().all(|e| !e.file_name().to_string_lossy().ends_with(".part")), "no .part left");
}
