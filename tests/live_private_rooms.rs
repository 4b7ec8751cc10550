//! Private rooms against a real `onair relay`: FFmpeg publishes, the owner
//! adds and removes members with `onair room members`, and anonymous
//! clients, signed-in strangers, removed members and crafted tickets try
//! to reach the live (HLS, fMP4, FLV), the chat and the replays.

mod chat_support;

use chat_support::{wait_for, Relay, User};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One GET on the relay: (status, body). Streams (live.mp4/flv) are read
/// only up to `max` bytes.
fn get_max(relay: &Relay, path: &str, token: Option<&str>, max: usize) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(&relay.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nhost: relay\r\n{auth}connection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while out.len() < max {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(out.len());
    let status = String::from_utf8_lossy(out.get(9..12).unwrap_or_default()).parse().unwrap_or(0);
    (status, out[split..].to_vec())
}

fn get(relay: &Relay, path: &str, token: Option<&str>) -> (u16, String) {
    let (st, b) = get_max(relay, path, token, usize::MAX);
    (st, String::from_utf8_lossy(&b).to_string())
}

fn post(relay: &Relay, path: &str, token: &str) -> (u16, String) {
    let mut s = TcpStream::connect(&relay.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "POST {path} HTTP/1.1\r\nhost: relay\r\nauthorization: Bearer {token}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    (out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0), out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

fn ticket(relay: &Relay, u: &User, room: &str) -> String {
    let (st, body) = post(relay, &format!("/v1/rooms/{room}/watch"), &u.token());
    assert_eq!(st, 200, "{} asks for a watch ticket: {body}", u.name);
    serde_json::from_str::<Value>(&body).unwrap()["ticket"].as_str().unwrap().to_string()
}

fn create(u: &User, title: &str, private: bool) -> Value {
    let mut args = vec!["room", "create", title, "--json"];
    if private {
        args.push("--private");
    }
    serde_json::from_str(u.ok(&args).trim()).unwrap()
}

fn push(url: &str, secs: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-t", &secs.to_string(), "-f", "flv", url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg is installed (scripts/deps.sh test)")
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_private_rooms_live_chat_and_replays_are_for_its_members_only() {
    let relay = Relay::start();
    let ann = User::register(&relay, "ann");
    let bob = User::register(&relay, "bob");
    let eve = User::register(&relay, "eve");
    let room = create(&ann, "Family", true);
    assert_eq!(room["private"], true);
    let id = room["id"].as_str().unwrap().to_string();
    let other = create(&eve, "Eve's own", true)["id"].as_str().unwrap().to_string();
    let members = ann.ok(&["room", "members", &id, "add", "bob"]);
    assert!(members.contains("bob"), "{members}");
    assert!(!ann.run(&["room", "members", &id, "add", "nobody"]).status.success(), "a user who does not exist");
    assert!(!eve.run(&["room", "members", &id, "add", "eve"]).status.success(), "only the owner adds members");

    let _ff = Kill(push(room["rtmp_url"].as_str().unwrap(), 60));
    let seg = wait_for(60, "the private room's first segment", || {
        let (st, pl) = get(&relay, &format!("/live/{id}/ts.m3u8"), Some(&ann.token()));
        (st == 200).then(|| pl.lines().find(|l| l.ends_with(".ts")).map(String::from)).flatten()
    });

    // The directory shows it to its owner and members only.
    let (_, anon_list) = get(&relay, "/v1/rooms?live=false", None);
    assert!(!anon_list.contains(&id), "anonymous directory: {anon_list}");
    assert!(!eve.ok(&["room", "list", "--all", "--json"]).contains(&id));
    assert!(bob.ok(&["room", "list", "--all", "--json"]).contains(&id));

    // Anonymous: 401 everywhere; a signed-in stranger: 403, never media.
    let media = [format!("/v1/rooms/{id}"), format!("/live/{id}/index.m3u8"), format!("/live/{id}/{seg}"), format!("/live/{id}/live.mp4"), format!("/live/{id}/live.flv"), format!("/v1/rooms/{id}/replays")];
    for path in &media {
        let (st, body) = get_max(&relay, path, None, 4096);
        assert_eq!(st, 401, "anonymous {path}: {}", String::from_utf8_lossy(&body));
        let (st, body) = get_max(&relay, path, Some(&eve.token()), 4096);
        assert_eq!(st, 403, "stranger {path}: {}", String::from_utf8_lossy(&body));
    }
    assert_eq!(post(&relay, &format!("/v1/rooms/{id}/watch"), &eve.token()).0, 403, "a stranger's ticket request");
    let chat = eve.run(&["room", "chat", &id, "--send", "let me in"]);
    assert!(!chat.status.success(), "a stranger joined the private room's chat");

    // A member's ticket plays every format; the playlist hands it on.
    let t = ticket(&relay, &bob, &id);
    let (st, pl) = get(&relay, &format!("/live/{id}/index.m3u8?ticket={t}"), None);
    assert!(st == 200 && pl.contains(&format!("ll.m3u8?ticket={t}")), "multivariant: {pl}");
    let (st, pl) = get(&relay, &format!("/live/{id}/ll.m3u8?ticket={t}"), None);
    assert!(st == 200 && pl.contains(&format!("init.mp4?ticket={t}\"")), "low-latency playlist: {pl}");
    let part = pl.lines().find_map(|l| l.strip_prefix("#EXT-X-PART:")?.split("URI=\"").nth(1)?.split('"').next()).unwrap().to_string();
    assert!(part.ends_with(&format!("?ticket={t}")), "{pl}");
    let (st, bytes) = get_max(&relay, &format!("/live/{id}/{part}"), None, usize::MAX);
    assert!(st == 200 && bytes.len() > 100, "a part with the ticket: {st}");
    assert_eq!(get_max(&relay, &format!("/live/{id}/{}", part.split('?').next().unwrap()), None, 4096).0, 401, "a part without it");
    let (st, pl) = get(&relay, &format!("/live/{id}/ts.m3u8?ticket={t}"), None);
    assert_eq!(st, 200, "{pl}");
    let seg_uri = pl.lines().find(|l| l.contains(".ts")).unwrap().to_string();
    assert!(seg_uri.ends_with(&format!("?ticket={t}")), "{pl}");
    let (st, bytes) = get_max(&relay, &format!("/live/{id}/{seg_uri}"), None, usize::MAX);
    assert!(st == 200 && bytes.len() > 1000, "segment with the ticket: {st}");
    for f in ["live.mp4", "live.flv"] {
        let (st, bytes) = get_max(&relay, &format!("/live/{id}/{f}?ticket={t}"), None, 20_000);
        assert!(st == 200 && bytes.len() > 1000, "{f} with the ticket: {st}");
    }
    // Room A's ticket does not open room B.
    assert_eq!(get(&relay, &format!("/live/{other}/index.m3u8?ticket={t}"), None).0, 403);
    assert_eq!(get(&relay, &format!("/v1/rooms/{other}?ticket={t}"), None).0, 403);
    // A ticket with another user's name in it is refused.
    let forged = format!("{}eve", t.strip_suffix("bob").unwrap());
    assert_eq!(get(&relay, &format!("/live/{id}/index.m3u8?ticket={forged}"), None).0, 403);

    // onair watch fetches the ticket itself; a stranger's watch fails.
    let out = bob.run(&["watch", &id, "--duration", "4"]);
    assert!(out.status.success(), "member's watch: {}", String::from_utf8_lossy(&out.stderr));
    let out = eve.run(&["watch", &id, "--duration", "2", "--wait", "2"]);
    assert!(!out.status.success());

    // A removed member: no fresh ticket, and the old one stops working.
    ann.ok(&["room", "members", &id, "remove", "bob"]);
    assert_eq!(post(&relay, &format!("/v1/rooms/{id}/watch"), &bob.token()).0, 403);
    assert_eq!(get(&relay, &format!("/live/{id}/index.m3u8?ticket={t}"), None).0, 403);
    assert!(!bob.ok(&["room", "list", "--all", "--json"]).contains(&id));

    // Replays likewise: the owner's ticket plays one, nobody else's does.
    ann.ok(&["room", "stop", &id]);
    let replay = wait_for(30, "the private live's replay", || {
        let (st, body) = get(&relay, &format!("/v1/rooms/{id}/replays"), Some(&ann.token()));
        let list: Vec<Value> = serde_json::from_str(&body).ok().filter(|_| st == 200)?;
        list.first().and_then(|r| r["path"].as_str().map(String::from))
    });
    assert_eq!(get_max(&relay, &replay, None, 4096).0, 401);
    assert_eq!(get_max(&relay, &replay, Some(&eve.token()), 4096).0, 403);
    assert_eq!(get_max(&relay, &format!("{replay}?ticket={t}"), None, 4096).0, 403, "the removed member's ticket");
    let mine = ticket(&relay, &ann, &id);
    let (st, bytes) = get_max(&relay, &format!("{replay}?ticket={mine}"), None, usize::MAX);
    assert!(st == 200 && bytes.len() > 1000, "the owner's replay: {st}");
    let listed = ann.ok(&["room", "replays", &id]);
    assert!(listed.contains("?ticket="), "replay URLs of a private room carry a ticket: {listed}");
}

#[test]
fn an_expired_watch_ticket_is_refused() {
    let cfg = tempfile::tempdir().unwrap();
    let toml = cfg.path().join("relay.toml");
    std::fs::write(&toml, "[limits]\nwatch_ticket_secs = 1\n").unwrap();
    let relay = Relay::start_with(&["--config", toml.to_str().unwrap()], false);
    let ann = User::register(&relay, "ann");
    let id = create(&ann, "Short", true)["id"].as_str().unwrap().to_string();
    let (st, body) = post(&relay, &format!("/v1/rooms/{id}/watch"), &ann.token());
    assert_eq!(st, 200, "{body}");
    let t: Value = serde_json::from_str(&body).unwrap();
    let (ticket, exp) = (t["ticket"].as_str().unwrap(), t["expires_at"].as_i64().unwrap());
    assert_eq!(get(&relay, &format!("/v1/rooms/{id}/replays?ticket={ticket}"), None).0, 200, "fresh");
    wait_for(10, "the ticket to expire", || (onair_chat::now_ms() > exp + 100).then_some(()));
    let (st, body) = get(&relay, &format!("/v1/rooms/{id}/replays?ticket={ticket}"), None);
    assert!(st == 401 && body.contains("expired"), "{st} {body}");
}
