//! The relay on the open internet (issue 13), tried as a hostile client
//! would against a real `onair relay`: connections that never finish their
//! header, too many connections from one address, an RTMP client trickling
//! its handshake, kicks of users who are not there, `/metrics` without the
//! token, and the database's file mode.

mod chat_support;
use chat_support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Short deadlines so the tests wait seconds, not the defaults' tens.
fn relay() -> (Relay, tempfile::TempDir) {
    let cfg = tempfile::tempdir().unwrap();
    let path = cfg.path().join("relay.toml");
    std::fs::write(&path, "[limits]\nhttp_header_timeout_ms = 1000\nmax_conns_per_addr = 64\nrtmp_handshake_ms = 1500\n").unwrap();
    let r = Relay::start_with(&["--config", path.to_str().unwrap(), "--metrics-token", "ops-secret"], false);
    (r, cfg)
}

fn get(addr: &str, path: &str, headers: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: relay\r\n{headers}connection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    (out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0), out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

/// True once the peer has closed `s` (EOF or reset).
fn closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}

#[test]
fn half_headers_and_connection_floods_are_dropped() {
    let (relay, _cfg) = relay();
    let mut conns: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut s = TcpStream::connect(&relay.addr).unwrap();
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ");
            s
        })
        .collect();
    let t0 = Instant::now();
    for s in &conns {
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    }
    // Every one of them is closed: the excess at once, the rest at the header deadline.
    wait_for(10, "all 300 half-header connections to be closed", || {
        conns.retain_mut(|s| !closed(s));
        conns.is_empty().then_some(())
    });
    assert!(t0.elapsed() < Duration::from_secs(6), "closed after {:?}", t0.elapsed());
    // The relay still serves, and 40 patient clients at once are all served.
    let answers: Vec<_> = (0..40).map(|_| { let a = relay.addr.clone(); std::thread::spawn(move || get(&a, "/healthz", "").0) }).collect();
    assert!(answers.into_iter().all(|h| h.join().unwrap() == 200));
}

#[test]
fn metrics_need_the_token_and_the_database_is_private() {
    let (relay, _cfg) = relay();
    assert_eq!(get(&relay.addr, "/metrics", "").0, 401);
    assert_eq!(get(&relay.addr, "/metrics", "authorization: Bearer wrong\r\n").0, 401);
    let (status, body) = get(&relay.addr, "/metrics", "authorization: Bearer ops-secret\r\n");
    assert!(status == 200 && body.contains("onair_relay_connections"), "{status} {body}");
    let _alice = User::register(&relay, "alice");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&relay.data.join("relay.db")), 0o600);
    for f in ["relay.db-wal", "relay.db-shm"] {
        let p = relay.data.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
    assert_eq!(mode(&relay.data), 0o700);
    assert_eq!(mode(&relay.data.join("attachments")), 0o700);
}

#[test]
fn rtmp_handshake_has_one_deadline_and_kicks_need_a_member() {
    let (relay, _cfg) = relay();
    let owner = User::register(&relay, "owner");
    let room: serde_json::Value = serde_json::from_str(owner.ok(&["room", "create", "Limits", "--json"]).lines().next().unwrap()).unwrap();
    let rtmp = room["rtmp_url"].as_str().unwrap();
    let addr = rtmp.trim_start_matches("rtmp://").split('/').next().unwrap().to_string();
    // One byte every 400 ms: each read is quick, but the whole handshake is not.
    let mut s = TcpStream::connect(&addr).unwrap();
    let t0 = Instant::now();
    let mut cut = None;
    for _ in 0..50 {
        if s.write_all(&[3]).is_err() {
            cut = Some(t0.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
        s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
        if closed(&mut s) {
            cut = Some(t0.elapsed());
            break;
        }
    }
    let cut = cut.expect("the trickling RTMP client was never cut off");
    assert!(cut >= Duration::from_millis(1400) && cut < Duration::from_secs(5), "cut after {cut:?}");
    // A kick or mute of someone who never joined the room's chat is refused.
    let id = room["id"].as_str().unwrap();
    let out = owner.run(&["room", "kick", id, "mallory"]);
    assert!(!out.status.success(), "kicking a non-member must fail");
    let out = owner.run(&["room", "mute", id, "mallory"]);
    assert!(!out.status.success(), "muting a non-member must fail");
}

fn ffmpeg_push(url: &str) -> std::process::Child {
    std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-pix_fmt", "yuv420p", "-c:a", "aac", "-t", "60", "-f", "flv", url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run ffmpeg")
}

fn is_live(relay: &Relay, id: &str) -> bool {
    let (_, body) = get(&relay.addr, &format!("/v1/rooms/{id}"), "");
    serde_json::from_str::<serde_json::Value>(&body).map(|v| v["live"] == true).unwrap_or(false)
}

#[test]
fn key_rotation_and_stop_end_the_live_publisher() {
    let (relay, _cfg) = relay();
    let owner = User::register(&relay, "owner");
    let room: serde_json::Value = serde_json::from_str(owner.ok(&["room", "create", "Rotate me", "--json"]).lines().next().unwrap()).unwrap();
    let id = room["id"].as_str().unwrap().to_string();
    let mut ff = ffmpeg_push(room["rtmp_url"].as_str().unwrap());
    wait_for(20, "the ffmpeg publisher to be on air", || is_live(&relay, &id).then_some(()));
    let rotated: serde_json::Value = serde_json::from_str(owner.ok(&["room", "key", &id, "--rotate", "--json"]).lines().next().unwrap()).unwrap();
    wait_for(10, "the publisher on the old key to be cut off", || (!is_live(&relay, &id)).then_some(()));
    wait_for(10, "ffmpeg to see its connection end", || ff.try_wait().unwrap().map(|_| ()));
    // Its replay is served with Range: a range past the end is 416, not the whole file.
    let replay = wait_for(20, "the replay of the cut-off live", || {
        let (_, body) = get(&relay.addr, &format!("/v1/rooms/{id}/replays"), "");
        let list: Vec<serde_json::Value> = serde_json::from_str(&body).ok()?;
        list.first().and_then(|r| r["path"].as_str().map(String::from))
    });
    let (status, body) = get(&relay.addr, &replay, "range: bytes=0-9\r\n");
    assert_eq!((status, body.len()), (206, 10));
    assert_eq!(get(&relay.addr, &replay, "range: bytes=999999999-\r\n").0, 416);
    // The owner stops a live on the new key.
    let mut ff = ffmpeg_push(rotated["rtmp_url"].as_str().unwrap());
    wait_for(20, "the publisher on the new key to be on air", || is_live(&relay, &id).then_some(()));
    let out = owner.ok(&["room", "stop", &id]);
    assert!(out.contains("stopped"), "{out}");
    wait_for(10, "the stopped live to end", || (!is_live(&relay, &id)).then_some(()));
    wait_for(10, "ffmpeg to see its connection end", || ff.try_wait().unwrap().map(|_| ()));
    // Nobody else may stop it.
    let other = User::register(&relay, "other");
    assert!(!other.run(&["room", "stop", &id]).status.success());
}
