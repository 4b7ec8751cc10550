//! Stream keys stored hashed and shown once, and publish tickets, against a
//! real `onair relay`, the `onair` CLI and the FFmpeg CLI as publisher —
//! tried as the owner, as another signed-in user and with crafted URLs.

mod chat_support;

use chat_support::{wait_for, Relay, User};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One HTTP request on the relay: (status, body).
fn http(relay: &Relay, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(&relay.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nhost: relay\r\n{auth}content-length: 0\r\nconnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).to_string();
    (out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0), out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

fn is_live(relay: &Relay, id: &str) -> bool {
    serde_json::from_str::<Value>(&http(relay, "GET", &format!("/v1/rooms/{id}"), None).1).map(|v| v["live"] == true).unwrap_or(false)
}

/// FFmpeg pushing a test pattern (1 s GOP) to `url`.
fn push(url: &str, secs: u32) -> Child {
    Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-t", &secs.to_string(), "-f", "flv", url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg is installed (scripts/deps.sh test)")
}

/// A push that must be refused: its error output.
fn refused(url: &str) -> String {
    let mut c = push(url, 5);
    let st = c.wait().unwrap();
    let mut err = String::new();
    c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(!st.success(), "a publish to {url} was accepted");
    err
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every text and blob in every table of relay.db, as one string.
fn whole_db(relay: &Relay) -> String {
    let c = rusqlite::Connection::open_with_flags(relay.data.join("relay.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let tables: Vec<String> = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let mut all = String::new();
    for t in tables {
        let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => all.push_str(&String::from_utf8_lossy(b)),
                    _ => {}
                }
                all.push('\n');
            }
        }
    }
    all
}

fn field<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines().find_map(|l| l.trim().strip_prefix(label)).unwrap_or_else(|| panic!("no {label:?} in {out}")).trim()
}

#[test]
fn keys_are_kept_hashed_shown_once_and_publish_by_their_hash() {
    let relay = Relay::start();
    let ann = User::register(&relay, "ann");
    let out = ann.ok(&["room", "create", "Hashed"]);
    assert!(out.contains("will not be shown again"), "{out}");
    let (id, key, rtmp) = (field(&out, "created room").split(' ').next().unwrap().to_string(), field(&out, "stream key:").to_string(), field(&out, "publish:").to_string());
    assert!(key.starts_with("live_") && rtmp.ends_with(&key), "{out}");
    let db = whole_db(&relay);
    assert!(db.contains(&id), "the test reads the right database");
    assert!(!db.contains(&key) && !db.contains(key.trim_start_matches("live_")), "the stream key is in relay.db in clear");

    // Asking again shows no key, from the CLI or the HTTP route.
    let again = ann.run(&["room", "key", &id]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success() && err.contains("shown once") && err.contains("onair room rotate"), "{err}");
    let (status, body) = http(&relay, "GET", &format!("/v1/rooms/{id}/key"), Some(&ann.token()));
    assert!(status == 404 && !body.contains(&key) && body.contains("rotate"), "{status} {body}");

    // The printed key publishes, and a viewer gets media.
    let ff = Kill(push(&rtmp, 30));
    let seg = wait_for(60, "a segment in the playlist", || {
        let (st, pl) = http(&relay, "GET", &format!("/live/{id}/ts.m3u8"), None);
        (st == 200).then(|| pl.lines().find(|l| l.ends_with(".ts")).map(String::from)).flatten()
    });
    let (st, body) = http(&relay, "GET", &format!("/live/{id}/{seg}"), None);
    assert!(st == 200 && body.len() > 1000, "segment {seg}: {st}, {} bytes", body.len());
    drop(ff);
    wait_for(20, "the live to end", || (!is_live(&relay, &id)).then_some(()));

    // After a rotate the old key is refused, the new one shown once.
    let rotated = ann.ok(&["room", "rotate", &id]);
    let new_key = field(&rotated, "stream key:");
    assert!(new_key != key && rotated.contains("will not be shown again"), "{rotated}");
    assert!(refused(&rtmp).contains("invalid stream key"));
    assert!(!whole_db(&relay).contains(new_key));
}

#[test]
fn publish_tickets_are_bound_to_their_room_owner_and_key() {
    let cfg = tempfile::tempdir().unwrap();
    let toml = cfg.path().join("relay.toml");
    std::fs::write(&toml, "[limits]\npublish_ticket_secs = 2\n").unwrap();
    let short = Relay::start_with(&["--config", toml.to_str().unwrap()], false);
    let relay = Relay::start();
    let ann = User::register(&relay, "ann");
    let bob = User::register(&relay, "bob");
    let a: Value = serde_json::from_str(ann.ok(&["room", "create", "A", "--json"]).trim()).unwrap();
    let b: Value = serde_json::from_str(bob.ok(&["room", "create", "B", "--json"]).trim()).unwrap();
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let ticket = |u: &User, room: &str| http(&relay, "POST", &format!("/v1/rooms/{room}/publish"), Some(&u.token()));

    // Only the owner gets one, and only with a valid token.
    assert_eq!(ticket(&bob, a_id).0, 403, "another user's request");
    assert_eq!(http(&relay, "POST", &format!("/v1/rooms/{a_id}/publish"), None).0, 401);
    let (st, body) = ticket(&ann, a_id);
    assert_eq!(st, 200, "{body}");
    let t: Value = serde_json::from_str(&body).unwrap();
    let url = t["rtmp_url"].as_str().unwrap().to_string();
    assert!(!url.contains(a["stream_key"].as_str().unwrap()), "a ticket is not the key");

    // Room A's ticket cannot publish to room B, even with B's id put in it.
    let crafted = url.replace(&format!("pt.{a_id}."), &format!("pt.{b_id}."));
    assert!(crafted != url && refused(&crafted).contains("invalid stream key"));
    assert!(!is_live(&relay, b_id));

    // It publishes to A; a live it started goes on.
    let ff = Kill(push(&url, 30));
    wait_for(30, "room A to go live on the ticket", || is_live(&relay, a_id).then_some(()));
    drop(ff);
    wait_for(20, "the live to end", || (!is_live(&relay, a_id)).then_some(()));

    // Rotating the key kills tickets made for the old one.
    ann.ok(&["room", "rotate", a_id]);
    assert!(refused(&url).contains("invalid stream key"));

    // An expired ticket is refused with what to do.
    let carl = User::register(&short, "carl");
    let c: Value = serde_json::from_str(carl.ok(&["room", "create", "C", "--json"]).trim()).unwrap();
    let (st, body) = http(&short, "POST", &format!("/v1/rooms/{}/publish", c["id"].as_str().unwrap()), Some(&carl.token()));
    assert_eq!(st, 200, "{body}");
    let t: Value = serde_json::from_str(&body).unwrap();
    let exp = t["expires_at"].as_i64().unwrap();
    wait_for(10, "the ticket to expire", || (onair_chat::now_ms() > exp + 100).then_some(()));
    let err = refused(t["rtmp_url"].as_str().unwrap());
    assert!(err.contains("expired"), "{err}");
}
