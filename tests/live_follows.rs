//! Followers, go-live notices and room covers against a real `onair relay`:
//! followers listen with `onair following --notices`, the streamer goes
//! live with `onair live --to relay://ROOM --cover --category` (and FFmpeg
//! for the quick second lives); unfollowed, blocked and non-member
//! followers hear nothing, and crafted covers are refused.

mod chat_support;

use chat_support::{wait_for, Relay, User};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One HTTP request on the relay: (status, head, body).
fn http(relay: &Relay, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(&relay.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nhost: relay\r\n{auth}content-type: application/octet-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len()).unwrap();
    // A refused upload may be answered before the body is all sent.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(out.len());
    let status = String::from_utf8_lossy(out.get(9..12).unwrap_or_default()).parse().unwrap_or(0);
    (status, String::from_utf8_lossy(&out[..split]).to_lowercase(), out[split..].to_vec())
}

fn room_info(relay: &Relay, id: &str, token: &str) -> Value {
    let (st, _, body) = http(relay, "GET", &format!("/v1/rooms/{id}"), Some(token), b"");
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// `onair following --notices --json` in the background; its lines as they come.
struct Listener {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Listener {
    fn start(u: &User) -> Listener {
        let mut child = u.cmd(&["following", "--notices", "--json", "--duration", "120"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    l.lock().unwrap().push(v);
                }
            }
        });
        let me = Listener { child, lines };
        // The first line comes once it is subscribed and has asked what is live.
        wait_for(30, "the listener to be connected", || (!me.lines.lock().unwrap().is_empty()).then_some(()));
        me
    }

    /// The `room_live` notices so far, as `room` ids.
    fn notices(&self) -> Vec<String> {
        self.lines.lock().unwrap().iter().filter(|v| v["ev"] == "room_live").map(|v| v["room"].as_str().unwrap_or("").to_string()).collect()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

fn create(u: &User, title: &str, private: bool) -> Value {
    let mut args = vec!["room", "create", title, "--json"];
    if private {
        args.push("--private");
    }
    serde_json::from_str(u.ok(&args).trim()).unwrap()
}

fn live_in(relay: &Relay, owner: &User, id: &str) -> bool {
    let (_, _, b) = http(relay, "GET", &format!("/v1/rooms/{id}"), Some(&owner.token()), b"");
    serde_json::from_slice::<Value>(&b).is_ok_and(|v| v["live"] == true)
}

#[test]
fn followers_hear_once_per_go_live_and_only_when_they_may_watch() {
    let relay = Relay::start();
    let ann = User::register(&relay, "ann");
    let [bob, carl, dave, eve, mia] = ["bob", "carl", "dave", "eve", "mia"].map(|n| User::register(&relay, n));
    let open = create(&ann, "Open studio", false);
    let open_id = open["id"].as_str().unwrap().to_string();
    let family = create(&ann, "Family", true);
    let family_id = family["id"].as_str().unwrap().to_string();
    ann.ok(&["room", "members", &family_id, "add", "mia"]);

    for u in [&bob, &carl, &dave, &mia] {
        let out = u.ok(&["follow", "ann", "--json"]);
        assert!(out.contains("\"following\":true"), "{out}");
    }
    carl.ok(&["unfollow", "ann"]);
    // Blocked either way: cannot follow, and a block ends a follow.
    ann.ok(&["friends", "block", "eve"]);
    let refused = eve.run(&["follow", "ann"]);
    assert!(!refused.status.success(), "a blocked user followed");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("blocked"), "{}", String::from_utf8_lossy(&refused.stderr));
    ann.ok(&["friends", "block", "dave"]);
    assert!(!dave.ok(&["following", "--json"]).contains("user:ann"), "a block ended dave's follow");
    // A private room a stranger may not see cannot be followed by id.
    assert!(!bob.run(&["follow", "--room", &family_id]).status.success(), "followed a private room without being a member");
    assert!(!ann.run(&["follow", "ann"]).status.success(), "followed oneself");
    let info = room_info(&relay, &open_id, &ann.token());
    assert_eq!(info["followers"], 2, "bob and mia: {info}");

    let listeners: Vec<(&str, Listener)> = [&bob, &carl, &dave, &mia].into_iter().map(|u| (u.name.as_str(), Listener::start(u))).collect();
    let get = |name: &str| listeners.iter().find(|(n, _)| *n == name).map(|(_, l)| l.notices()).unwrap();

    // Go live with `onair live`, setting the room's cover and category on the way.
    let cover = relay.dir().join("cover.png");
    let st = Command::new("ffmpeg").args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:s=320x180", "-frames:v", "1"]).arg(&cover).status().unwrap();
    assert!(st.success());
    let live = ann
        .cmd(&["live", "--to", &format!("relay://{open_id}"), "--video", "test", "--audio", "test", "--preset", "480p30", "--duration", "4", "--category", "games", "--cover"])
        .arg(&cover)
        .output()
        .unwrap();
    assert!(live.status.success(), "onair live: {}", String::from_utf8_lossy(&live.stderr));
    wait_for(20, "bob's and mia's notices", || (get("bob").len() == 1 && get("mia").len() == 1).then_some(()));
    let note = listeners[0].1.lines.lock().unwrap().iter().find(|v| v["ev"] == "room_live").cloned().unwrap();
    assert_eq!((note["owner"].as_str(), note["title"].as_str(), note["category"].as_str()), (Some("ann"), Some("Open studio"), Some("games")), "{note}");

    // Back on air at once (the ingest reconnecting): no second notice.
    wait_for(20, "the first live to end", || (!live_in(&relay, &ann, &open_id)).then_some(()));
    let mut again = push(open["rtmp_url"].as_str().unwrap(), 30);
    wait_for(20, "the second live", || live_in(&relay, &ann, &open_id).then_some(()));

    // While it is on air, a follower who was offline finds it on sign-in.
    let (st, _, body) = http(&relay, "GET", "/v1/follows", Some(&bob.token()), b"");
    let f: Value = serde_json::from_slice(&body).unwrap();
    assert!(st == 200 && f["live"].as_array().unwrap().iter().any(|r| r["id"] == open_id.as_str()), "{f}");
    let catch_up = bob.ok(&["following", "--notices", "--json", "--duration", "0"]);
    assert!(catch_up.contains("\"live_now\"") && catch_up.contains(&open_id), "{catch_up}");
    let _ = again.kill();
    let _ = again.wait();

    // The private room: only its member hears.
    let mut private = push(family["rtmp_url"].as_str().unwrap(), 30);
    wait_for(20, "mia's notice of the private room", || (get("mia").len() == 2).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    let _ = private.kill();
    let _ = private.wait();

    assert_eq!(get("bob"), vec![open_id.clone()], "bob: one notice, none for the private room he may not watch");
    assert_eq!(get("mia"), vec![open_id.clone(), family_id.clone()], "mia: one per go-live");
    assert!(get("carl").is_empty(), "carl unfollowed: {:?}", get("carl"));
    assert!(get("dave").is_empty(), "dave was blocked: {:?}", get("dave"));

    // The cover and category `onair live` set.
    let info = room_info(&relay, &open_id, &bob.token());
    assert_eq!((info["category"].as_str(), info["has_cover"].as_bool()), (Some("games"), Some(true)), "{info}");
    let (st, head, bytes) = http(&relay, "GET", info["cover_path"].as_str().unwrap(), None, b"");
    assert_eq!(st, 200);
    assert!(head.contains("content-type: image/png") && head.contains("x-content-type-options: nosniff"), "{head}");
    assert_eq!(bytes, std::fs::read(&cover).unwrap(), "the cover comes back as uploaded");
}

#[test]
fn crafted_covers_are_refused() {
    let relay = Relay::start();
    let ann = User::register(&relay, "ann");
    let eve = User::register(&relay, "eve");
    let id = create(&ann, "Studio", false)["id"].as_str().unwrap().to_string();
    let secret = create(&ann, "Secret", true)["id"].as_str().unwrap().to_string();
    let path = format!("/v1/rooms/{id}/cover");
    let png = relay.dir().join("c.png");
    assert!(Command::new("ffmpeg").args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360", "-frames:v", "1"]).arg(&png).status().unwrap().success());
    let png = std::fs::read(&png).unwrap();

    // No cover yet: the default picture, as SVG that runs nothing.
    let (st, head, body) = http(&relay, "GET", &path, None, b"");
    assert!(st == 200 && head.contains("image/svg+xml") && head.contains("nosniff") && head.contains("sandbox"), "{head}");
    assert!(String::from_utf8_lossy(&body).starts_with("<svg"));

    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let mut fake_png = b"\x89PNG\r\n\x1a\n".to_vec();
    fake_png.extend_from_slice(&[0u8; 200]);
    let mut big = png.clone();
    big.resize(3 * 1024 * 1024, 0);
    for (what, token, body, want) in [
        ("not a picture", ann.token(), html, 400),
        ("a PNG signature over garbage", ann.token(), fake_png, 400),
        ("a cut PNG", ann.token(), png[..png.len() / 2].to_vec(), 400),
        ("too big", ann.token(), big, 413),
        ("another user's room", eve.token(), png.clone(), 403),
    ] {
        let (st, _, b) = http(&relay, "PUT", &path, Some(&token), &body);
        assert_eq!(st, want, "{what}: {}", String::from_utf8_lossy(&b));
    }
    let (st, _, _) = http(&relay, "PUT", &path, None, &png);
    assert_eq!(st, 401, "anonymous");
    let (st, _, b) = http(&relay, "PUT", &path, Some(&ann.token()), &png);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    let (_, head, body) = http(&relay, "GET", &path, None, b"");
    assert!(head.contains("content-type: image/png"), "{head}");
    assert_eq!(body, png);
    // A private room's cover is for those who may watch it.
    assert_eq!(http(&relay, "GET", &format!("/v1/rooms/{secret}/cover"), None, b"").0, 401);
    assert_eq!(http(&relay, "GET", &format!("/v1/rooms/{secret}/cover"), Some(&eve.token()), b"").0, 403);
    assert_eq!(http(&relay, "GET", &format!("/v1/rooms/{secret}/cover"), Some(&ann.token()), b"").0, 200);
    // Only the owner changes the category.
    let (st, _, _) = http(&relay, "PATCH", &format!("/v1/rooms/{id}"), Some(&eve.token()), br#"{"category":"spam"}"#);
    assert_eq!(st, 403);
}
