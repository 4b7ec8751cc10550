//! Attachments against a hostile user, on a real relay process: an upload
//! is checked before its body is read, only into a conversation the user
//! is in (a DM with someone who exists), the relay decides what the file is
//! (a message cannot lie about its name, size or type), downloads are never
//! sniffed or shown inline, and a recalled or burned message's attachment
//! is gone (404, and its file removed).

mod chat_support;
use chat_support::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One raw HTTP/1.1 request: (status, lower-cased head, body).
fn raw(addr: &str, method: &str, path: &str, token: Option<&str>, ctype: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nhost: {addr}\r\n{auth}content-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(out.len());
    let head = String::from_utf8_lossy(&out[..split]).to_lowercase();
    let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head, out.get(split + 4..).unwrap_or_default().to_vec())
}

fn upload(relay: &Relay, token: Option<&str>, conv: &str, name: &str, ctype: &str, body: &[u8]) -> (u16, Value) {
    let (st, _, b) = raw(&relay.addr, "POST", &format!("/v1/attachments?conv={conv}&name={name}"), token, ctype, body);
    (st, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR not really a picture";

#[test]
fn uploads_are_checked_first_and_the_relay_decides_what_a_file_is() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let carol = User::register(&relay, "carol");
    let (ta, tc) = (alice.token(), carol.token());

    // No token: refused at once, without waiting for 10 MB that never come.
    let mut s = TcpStream::connect(&relay.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "POST /v1/attachments?conv=dm:alice:bob&name=x HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\n").unwrap();
    let start = Instant::now();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).expect("an answer before the body");
    assert_eq!(&head[9..12], b"401", "{}", String::from_utf8_lossy(&head));
    assert!(start.elapsed() < Duration::from_secs(8), "answered only after {:?}", start.elapsed());

    // Not into someone else's DM, nor a group one is not in, nor a DM with nobody.
    assert_eq!(upload(&relay, Some(&tc), "dm:alice:bob", "x.bin", "text/plain", b"hi").0, 403);
    let group = alice.ok(&["group", "create", "crew", "--members", "bob"]).trim().to_string();
    assert_eq!(upload(&relay, Some(&tc), &group, "x.bin", "text/plain", b"hi").0, 403);
    let (st, e) = upload(&relay, Some(&ta), "dm:alice:nobodyhere", "x.bin", "text/plain", b"hi");
    assert_eq!(st, 404, "{e}");

    // The relay, not the sender, says what it is: a PNG sent as HTML.
    let (st, a) = upload(&relay, Some(&ta), "dm:alice:bob", "cat.html", "text/html", PNG);
    assert_eq!(st, 201, "{a}");
    assert_eq!((a["mime"].as_str(), a["size"].as_u64()), (Some("image/png"), Some(PNG.len() as u64)));
    // A message that lies about the file carries what the relay stored.
    let lie = serde_json::json!({"op": "send", "client_id": "lie1", "to": {"user": "bob"}, "text": "look",
        "attachment": {"id": a["id"], "name": "invoice.pdf", "size": 1, "mime": "application/pdf"}});
    let (st, _, b) = raw(&relay.addr, "POST", "/v1/rpc", Some(&ta), "application/json", lie.to_string().as_bytes());
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    bob.ok(&["chat", "sync"]);
    let got = bob.history("alice", true);
    let att = &got.last().unwrap()["attachment"];
    assert_eq!((att["name"].as_str(), att["size"].as_u64(), att["mime"].as_str()), (Some("cat.html"), Some(PNG.len() as u64), Some("image/png")), "{att}");

    // Downloads are never sniffed into something else, never shown inline.
    let (st, head, body) = raw(&relay.addr, "GET", &format!("/v1/attachments/{}", a["id"].as_str().unwrap()), Some(&bob.token()), "text/plain", b"");
    assert_eq!(st, 200);
    assert_eq!(body, PNG);
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("content-disposition: attachment; filename=\"cat.html\""), "{head}");
    assert!(head.contains("content-type: image/png"), "{head}");
}

#[test]
fn recalled_and_burned_attachments_are_gone() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let file = alice.home_path().join("secret.txt");
    std::fs::write(&file, b"the secret plan").unwrap();
    let files = relay.data.join("attachments");
    let att_of = |u: &User| -> (String, String) {
        let h = u.history("alice", true);
        let m = h.iter().rev().find(|m| m["attachment"]["id"].is_string()).expect("a message with an attachment");
        (m["id"].as_str().unwrap().to_string(), m["attachment"]["id"].as_str().unwrap().to_string())
    };
    let get = |id: &str| raw(&relay.addr, "GET", &format!("/v1/attachments/{id}"), Some(&bob.token()), "text/plain", b"").0;

    // Recall.
    alice.ok(&["chat", "send", "--to", "bob", "plan", "--file", file.to_str().unwrap()]);
    bob.ok(&["chat", "sync"]);
    let (msg, att) = att_of(&bob);
    assert_eq!(get(&att), 200);
    assert!(files.join(&att).exists());
    alice.ok(&["chat", "recall", &msg]);
    assert_eq!(get(&att), 404, "a recalled message's attachment must not download");
    wait_for(20, "the recalled attachment's file to be removed", || (!files.join(&att).exists()).then_some(()));

    // Burn after reading.
    alice.ok(&["chat", "send", "--to", "bob", "--burn", "1", "burns", "--file", file.to_str().unwrap()]);
    bob.ok(&["chat", "sync"]);
    let (_, att) = att_of(&bob);
    assert_eq!(get(&att), 200);
    bob.ok(&["chat", "read", "--with", "alice"]);
    wait_for(30, "the burned attachment to be gone", || (get(&att) == 404 && !files.join(&att).exists()).then_some(()));
}

fn refused(u: &User, args: &[&str], needle: &str) {
    let o = u.run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains(needle), "{args:?} should be refused with {needle:?}: {err}");
}

#[test]
fn groups_cannot_get_round_blocks_or_friends_only() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let mallory = User::register(&relay, "mallory");
    let dave = User::register(&relay, "dave");
    let bob = User::register(&relay, "bob");
    alice.ok(&["friends", "block", "mallory"]);
    // Whom alice blocked cannot put her in a group, at creation or later.
    refused(&mallory, &["group", "create", "trap", "--members", "alice"], "does not accept");
    let g = mallory.ok(&["group", "create", "trap2", "--members", "bob"]).trim().to_string();
    refused(&mallory, &["group", "add", &g, "alice"], "does not accept");
    // Nor can a stranger while she accepts friends only; a friend can.
    alice.ok(&["account", "privacy", "friends"]);
    refused(&dave, &["group", "create", "hello", "--members", "alice"], "friends only");
    alice.ok(&["friends", "add", "bob"]);
    bob.ok(&["friends", "accept", "alice"]);
    let ok = bob.ok(&["group", "create", "crew", "--members", "alice"]).trim().to_string();
    assert!(ok.starts_with("g:"), "{ok}");
    // Uploads into a group she was never let into fail for mallory too.
    let (st, _) = upload(&relay, Some(&mallory.token()), &ok, "x.bin", "text/plain", b"x");
    assert_eq!(st, 403);

    // In a group both are in (bob brought mallory in), mallory's messages
    // never reach alice: bob reads them, alice's cache has no trace of the text.
    bob.ok(&["group", "add", &ok, "mallory"]);
    mallory.ok(&["chat", "send", "--group", &ok, "buy my spam"]);
    bob.ok(&["chat", "send", "--group", &ok, "hello crew"]);
    bob.ok(&["chat", "sync"]);
    assert_eq!(texts(&bob.json_lines(&["chat", "history", "--group", &ok, "--offline", "--json"])), ["buy my spam", "hello crew"]);
    alice.ok(&["chat", "sync"]);
    let seen = alice.json_lines(&["chat", "history", "--group", &ok, "--offline", "--json"]);
    assert!(texts(&seen).contains(&"hello crew".to_string()), "{seen:?}");
    assert!(!texts(&seen).iter().any(|t| t.contains("spam")), "{seen:?}");
    assert!(alice.json_lines(&["chat", "search", "spam", "--offline", "--json"]).is_empty());
}

fn rpc(relay: &Relay, token: &str, body: Value) -> (u16, Value) {
    let (st, _, b) = raw(&relay.addr, "POST", "/v1/rpc", Some(token), "application/json", body.to_string().as_bytes());
    (st, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

#[test]
fn upload_quotas_per_user_per_day_and_in_all() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("relay.toml");
    std::fs::write(&conf, "[limits]\nupload_bytes_per_day = 5000\nupload_bytes_total = 3000\n").unwrap();
    let relay = Relay::start_with(&["--config", conf.to_str().unwrap()], false);
    let alice = User::register(&relay, "alice");
    let _bob = User::register(&relay, "bob");
    let carol = User::register(&relay, "carol");
    let (ta, tc) = (alice.token(), carol.token());
    let kb = vec![7u8; 1000];
    let up = |t: &str, conv: &str, b: &[u8]| upload(&relay, Some(t), conv, "a.bin", "application/octet-stream", b);
    let refused_with = |(st, e): (u16, Value), words: &str| {
        assert_eq!((st, e["code"].as_str()), (413, Some("quota_exceeded")), "{e}");
        assert!(e["message"].as_str().unwrap_or("").contains(words), "{e}");
    };

    // What alice keeps is capped: the fourth kilobyte does not fit.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (st, a) = up(&ta, "dm:alice:bob", &kb);
        assert_eq!(st, 201, "{a}");
        ids.push(a["id"].as_str().unwrap().to_string());
    }
    refused_with(up(&ta, "dm:alice:bob", &kb), "keeps for one user");
    // Refused before the body: a huge announced length is answered at once.
    let mut s = TcpStream::connect(&relay.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "POST /v1/attachments?conv=dm:alice:bob&name=x HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ta}\r\ncontent-length: 2000\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).expect("an answer before the body");
    assert_eq!(&head[9..12], b"413", "{}", String::from_utf8_lossy(&head));

    // Recalling a message with a file makes room in what she keeps...
    let recall_one = |n: usize, id: String| {
        let send = serde_json::json!({"op": "send", "client_id": format!("q{n}"), "to": {"user": "bob"}, "text": "file",
            "attachment": {"id": id, "name": "a.bin", "size": 1000, "mime": "application/octet-stream"}});
        assert_eq!(rpc(&relay, &ta, send).0, 200);
        assert_eq!(rpc(&relay, &ta, serde_json::json!({"op": "recall", "id": format!("q{n}")})).0, 200);
    };
    recall_one(1, ids.remove(0));
    let (st, a) = up(&ta, "dm:alice:bob", &kb);
    assert_eq!(st, 201, "{a}");
    ids.push(a["id"].as_str().unwrap().to_string());
    recall_one(2, ids.remove(0));
    let (st, a) = up(&ta, "dm:alice:bob", &kb);
    assert_eq!(st, 201, "{a}");
    // ...but upload-and-recall cannot churn the disk: 5000 bytes today is all.
    recall_one(3, ids.remove(0));
    refused_with(up(&ta, "dm:alice:bob", &[1u8]), "try again tomorrow");
    // The CLI says so in the relay's words.
    let file = alice.home_path().join("one.txt");
    std::fs::write(&file, b"1").unwrap();
    refused(&alice, &["chat", "send", "--to", "bob", "one more", "--file", file.to_str().unwrap()], "try again tomorrow");

    // Another user's quota is theirs. Uploads under way count: while carol
    // sends 2000 bytes slowly, 1500 more from her do not fit, though the
    // store holds nothing of hers yet. (`100 Continue` comes once the relay
    // has let the slow upload in and reads its body.)
    let mut slow = TcpStream::connect(&relay.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(slow, "POST /v1/attachments?conv=dm:bob:carol&name=slow.bin HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {tc}\r\ncontent-length: 2000\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n").unwrap();
    let mut cont = [0u8; 25];
    slow.read_exact(&mut cont).expect("100 Continue");
    assert!(cont.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&cont));
    slow.write_all(&[1u8; 1000]).unwrap();
    refused_with(up(&tc, "dm:bob:carol", &vec![2u8; 1500]), "keeps for one user");
    slow.write_all(&[1u8; 1000]).unwrap();
    let mut out = Vec::new();
    let _ = slow.read_to_end(&mut out);
    assert!(out.starts_with(b"HTTP/1.1 201"), "{}", String::from_utf8_lossy(&out));
    assert_eq!(up(&tc, "dm:bob:carol", &kb).0, 201, "what fits is taken");
    refused_with(up(&tc, "dm:bob:carol", &[1u8]), "keeps for one user");
}
