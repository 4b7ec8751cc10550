//! Accounts against a real relay, as a hostile user would try them: logging
//! out closes the sockets already open with the token; changing the
//! password, signing out everywhere and deleting the account need the
//! account's own password and reach every device; strangers guessing a
//! password never lock its owner out.

mod chat_support;
use chat_support::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A signed-in WebSocket of `token`.
async fn open(relay: &Relay, token: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/v1/ws", relay.addr)).await.unwrap();
    ws.send(Message::Text(json!({"t":"hello","v":1,"token":token}).to_string().into())).await.unwrap();
    assert_eq!(next_json(&mut ws).await["t"], "welcome");
    ws
}

async fn next_json(ws: &mut Socket) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), ws.next()).await.expect("an answer in time").expect("open").expect("ok");
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// Waits up to `within` for the relay to close `ws`; returns the close
/// reason and the error frame that came before it.
async fn closed_within(ws: &mut Socket, within: Duration) -> (String, Option<Value>) {
    let mut error = None;
    let r = tokio::time::timeout(within, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return f.map(|f| f.reason.to_string()).unwrap_or_default(),
                Some(Ok(Message::Text(t))) => error = serde_json::from_str::<Value>(t.as_str()).ok().filter(|v| v["t"] == "error"),
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return String::new(),
            }
        }
    })
    .await;
    (r.unwrap_or_else(|_| panic!("the socket is still open after {within:?}")), error)
}

/// A socket that is still served: a ping gets its pong.
async fn alive(ws: &mut Socket) {
    ws.send(Message::Text(r#"{"t":"ping","nonce":7}"#.into())).await.unwrap();
    // Events that were on their way come first.
    while next_json(ws).await["t"] != "pong" {}
}

/// A chat message sent on `ws`, as a client would.
fn send_frame(id: u64, to: &str, text: &str) -> Message {
    Message::Text(json!({"t":"req","id":id,"body":{"op":"send","client_id":format!("c{id}"),"to":{"user":to},"text":text}}).to_string().into())
}

/// One HTTP/1.1 POST from source address `from` (any 127.x.y.z): what a
/// stranger elsewhere on the internet would send. Returns the status.
async fn post_from(from: &str, relay: &Relay, path: &str, token: Option<&str>, body: &Value) -> (u16, String) {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut s = sock.connect(relay.addr.parse().unwrap()).await.unwrap();
    let body = body.to_string();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n{auth}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        relay.addr,
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_string(&mut out)).await.expect("an answer in time").unwrap();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out)
}

async fn get(relay: &Relay, path: &str, token: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(&relay.addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n", relay.addr).as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// A second device of an existing account: its own home, signed in.
fn second_device(relay: &Relay, name: &str) -> User {
    let u = User { name: name.into(), home: tempfile::tempdir().unwrap() };
    u.ok(&["account", "login", "--relay", &relay.url(), "--user", name]);
    u
}

fn fails_with(o: std::process::Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "should have failed; stdout: {}", String::from_utf8_lossy(&o.stdout));
    assert!(err.contains(needle), "expected {needle:?} in {err}");
}

#[tokio::test(flavor = "current_thread")]
async fn logout_closes_the_tokens_open_sockets_within_a_second() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let laptop = second_device(&relay, "alice");
    let mut ws = open(&relay, &alice.token()).await;
    let mut ws2 = open(&relay, &alice.token()).await;
    let mut other = open(&relay, &laptop.token()).await;
    ws.send(send_frame(1, "bob", "before logout")).await.unwrap();
    assert_eq!(next_json(&mut ws).await["ok"]["kind"], "sent");

    let token = alice.token();
    let t = Instant::now();
    alice.ok(&["account", "logout"]);
    let (reason, error) = closed_within(&mut ws, Duration::from_secs(1) + t.elapsed()).await;
    assert_eq!(reason, "signed out");
    assert_eq!(error.expect("an error frame says why")["code"], "unauthorized");
    closed_within(&mut ws2, Duration::from_secs(1)).await;
    // Nothing more goes out on it.
    let refused = match ws.send(send_frame(2, "bob", "after logout")).await {
        Err(_) => true,
        Ok(()) => matches!(tokio::time::timeout(Duration::from_secs(2), ws.next()).await, Ok(None | Some(Err(_)))),
    };
    assert!(refused, "a send on the closed socket must not be served");
    // The token cannot open a new one either; the other device stays.
    let (mut again, _) = tokio_tungstenite::connect_async(format!("ws://{}/v1/ws", relay.addr)).await.unwrap();
    again.send(Message::Text(json!({"t":"hello","v":1,"token":token}).to_string().into())).await.unwrap();
    assert_eq!(next_json(&mut again).await["code"], "unauthorized");
    alive(&mut other).await;
    bob.ok(&["chat", "sync"]);
    assert_eq!(texts(&bob.history("alice", true)), ["before logout"]);
}

#[tokio::test(flavor = "current_thread")]
async fn changing_the_password_needs_the_old_one_and_signs_out_the_other_devices() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let phone = second_device(&relay, "alice");
    let bob = User { name: "bob".into(), home: tempfile::tempdir().unwrap() };
    let o = bob.cmd(&["account", "register", "--relay", &relay.url(), "--user", "bob"]).env("ONAIR_PASSWORD", "bobs own password").output().unwrap();
    assert!(o.status.success());
    let mut phone_ws = open(&relay, &phone.token()).await;
    let mut mine = open(&relay, &alice.token()).await;

    // The wrong current password, or bob's token with alice's password: refused, nothing changes.
    fails_with(
        alice.cmd(&["account", "password"]).env("ONAIR_PASSWORD", "not my password").env("ONAIR_NEW_PASSWORD", "new secret 123").output().unwrap(),
        "wrong password",
    );
    fails_with(bob.cmd(&["account", "password"]).env("ONAIR_NEW_PASSWORD", "new secret 123").output().unwrap(), "wrong password");
    fails_with(alice.cmd(&["account", "password"]).env("ONAIR_NEW_PASSWORD", "short").output().unwrap(), "8-1024");
    alive(&mut phone_ws).await;
    phone.ok(&["chat", "sync"]);

    let out = alice.cmd(&["account", "password"]).env("ONAIR_NEW_PASSWORD", "new secret 123").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (reason, _) = closed_within(&mut phone_ws, Duration::from_secs(1)).await;
    assert!(reason.contains("password changed"), "{reason}");
    fails_with(phone.run(&["chat", "sync", "--timeout", "1"]), "invalid or expired token");
    // This device keeps its token and its socket.
    alive(&mut mine).await;
    alice.ok(&["chat", "sync"]);
    // The old password is gone, the new one works; bob's account is untouched.
    let fresh = User { name: "alice".into(), home: tempfile::tempdir().unwrap() };
    fails_with(fresh.run(&["account", "login", "--relay", &relay.url(), "--user", "alice"]), "wrong user name or password");
    let o = fresh.cmd(&["account", "login", "--relay", &relay.url(), "--user", "alice"]).env("ONAIR_PASSWORD", "new secret 123").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bob.cmd(&["account", "login", "--relay", &relay.url(), "--user", "bob"]).env("ONAIR_PASSWORD", "bobs own password").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[tokio::test(flavor = "current_thread")]
async fn signing_out_everywhere_closes_every_device() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let laptop = second_device(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let mut a = open(&relay, &alice.token()).await;
    let mut b = open(&relay, &laptop.token()).await;
    let mut bobs = open(&relay, &bob.token()).await;
    let laptop_token = laptop.token();
    let t = Instant::now();
    alice.ok(&["account", "signout-all"]);
    for ws in [&mut a, &mut b] {
        let (reason, _) = closed_within(ws, Duration::from_secs(1) + t.elapsed()).await;
        assert_eq!(reason, "signed out everywhere");
    }
    assert_eq!(post_from("127.0.0.1", &relay, "/v1/rpc", Some(&laptop_token), &json!({"op":"conversations"})).await.0, 401);
    fails_with(laptop.run(&["chat", "sync", "--timeout", "1"]), "invalid or expired token");
    fails_with(alice.run(&["chat", "sync", "--timeout", "1"]), "not signed in");
    // Another user's sockets are not touched.
    alive(&mut bobs).await;
}

#[tokio::test(flavor = "current_thread")]
async fn deleting_an_account_removes_its_messages_for_everyone() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User { name: "bob".into(), home: tempfile::tempdir().unwrap() };
    let o = bob.cmd(&["account", "register", "--relay", &relay.url(), "--user", "bob"]).env("ONAIR_PASSWORD", "bobs own password").output().unwrap();
    assert!(o.status.success());
    let carol = User::register(&relay, "carol");
    let file = alice.home_path().join("secret.bin");
    std::fs::write(&file, b"private bytes").unwrap();
    alice.ok(&["chat", "send", "--to", "bob", "--file", file.to_str().unwrap(), "the plan"]);
    bob.ok(&["chat", "send", "--to", "alice", "sounds good"]);
    let group = alice.ok(&["group", "create", "crew", "--members", "bob,carol"]).trim().to_string();
    alice.ok(&["chat", "send", "--group", &group, "hello crew"]);
    alice.ok(&["friends", "add", "carol"]);
    carol.ok(&["friends", "accept", "alice"]);
    bob.ok(&["chat", "sync"]);
    let h = bob.history("alice", true);
    assert_eq!(texts(&h), ["the plan", "sounds good"]);
    let att = h[0]["attachment"]["id"].as_str().unwrap().to_string();
    assert_eq!(get(&relay, &format!("/v1/attachments/{att}"), &bob.token()).await, 200);
    let mut alices = open(&relay, &alice.token()).await;
    let mut bobs = open(&relay, &bob.token()).await;

    // Refused: no confirmation, the wrong password, or bob's token with alice's password.
    fails_with(alice.run(&["account", "delete"]), "--yes");
    fails_with(alice.cmd(&["account", "delete", "--yes"]).env("ONAIR_PASSWORD", "not my password").output().unwrap(), "wrong password");
    let (status, _) = post_from("127.0.0.1", &relay, "/v1/account/delete", Some("0".repeat(64).as_str()), &json!({"password": PASSWORD})).await;
    assert_eq!(status, 401, "a made-up token deletes nothing");
    // Bob's token with alice's password: it could only ever delete bob, and the password is not his.
    let (status, body) = post_from("127.0.0.1", &relay, "/v1/account/delete", Some(&bob.token()), &json!({"password": PASSWORD})).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("bad_credentials"), "{body}");
    alice.ok(&["chat", "sync"]);

    alice.ok(&["account", "delete", "--yes"]);
    let (reason, _) = closed_within(&mut alices, Duration::from_secs(1)).await;
    assert_eq!(reason, "account deleted");
    // Bob's live socket hears the recalls.
    let ev = next_json(&mut bobs).await;
    assert_eq!(ev["t"], "event", "{ev}");

    bob.ok(&["chat", "sync"]);
    let h = bob.history("alice", true);
    assert_eq!(h.len(), 2);
    assert_eq!((h[0]["state"].as_str(), h[0]["text"].as_str()), (Some("recalled"), Some("")));
    assert!(h[0]["attachment"].is_null(), "{}", h[0]);
    assert_eq!(h[1]["text"], "sounds good", "the others' messages stay");
    assert_eq!(get(&relay, &format!("/v1/attachments/{att}"), &bob.token()).await, 404);
    assert!(bob.json_lines(&["chat", "search", "plan", "--offline", "--json"]).is_empty());
    carol.ok(&["chat", "sync"]);
    let g = carol.json_lines(&["chat", "history", "--group", &group, "--offline", "--json"]);
    assert_eq!((g[0]["state"].as_str(), g[0]["text"].as_str()), (Some("recalled"), Some("")));
    let members = carol.json_lines(&["group", "members", &group, "--json"]);
    let mut names: Vec<&str> = members.iter().map(|m| m["user"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["bob", "carol"]);
    assert!(members.iter().any(|m| m["user"] == "bob" && m["owner"] == true), "the group passes on: {members:?}");
    assert!(!carol.json_lines(&["friends", "list", "--json"]).iter().any(|f| f["user"] == "alice"));

    // The account is gone and its name is never handed out again.
    fails_with(alice.run(&["chat", "sync", "--timeout", "1"]), "not signed in");
    let fresh = User { name: "alice".into(), home: tempfile::tempdir().unwrap() };
    fails_with(fresh.run(&["account", "login", "--relay", &relay.url(), "--user", "alice"]), "wrong user name or password");
    fails_with(fresh.run(&["account", "register", "--relay", &relay.url(), "--user", "alice"]), "taken");
    fails_with(bob.run(&["chat", "send", "--to", "alice", "still there?"]), "no user");
}

#[tokio::test(flavor = "current_thread")]
async fn strangers_guessing_a_password_never_lock_its_owner_out() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let wrong = json!({"user": "alice", "password": "guess guess"});
    // Fifteen wrong passwords from one address elsewhere: that address is stopped.
    let mut codes = Vec::new();
    for _ in 0..15 {
        codes.push(post_from("127.0.0.2", &relay, "/v1/login", None, &wrong).await.0);
    }
    assert_eq!(codes.iter().filter(|c| **c == 401).count(), 10, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 5, "{codes:?}");
    // Alice from her own address: signed in (old relays answered 429 here).
    alice.ok(&["account", "login", "--relay", &relay.url(), "--user", "alice"]);
    let fresh = User { name: "alice".into(), home: tempfile::tempdir().unwrap() };
    fresh.ok(&["account", "login", "--relay", &relay.url(), "--user", "alice"]);

    // Guesses from many addresses at once only slow the account down.
    let hosts: Vec<String> = (3..=8).flat_map(|h| [format!("127.0.0.{h}"), format!("127.0.0.{h}"), format!("127.0.0.{h}")]).collect();
    let codes = futures_util::future::join_all(hosts.iter().map(|h| post_from(h, &relay, "/v1/login", None, &wrong))).await;
    let codes: Vec<u16> = codes.into_iter().map(|(c, _)| c).collect();
    assert!(codes.iter().all(|c| *c == 401), "{codes:?}");
    let t = Instant::now();
    let other = User { name: "alice".into(), home: tempfile::tempdir().unwrap() };
    other.ok(&["account", "login", "--relay", &relay.url(), "--user", "alice"]);
    assert!(t.elapsed() < Duration::from_secs(15), "slowed, not refused");

    // Even a stranger on alice's own address (a shared NAT) cannot lock out
    // her device: it shows its token and skips the account's limits.
    // (At once: each guess that passes the limits waits out the account's slow-down.)
    let codes = futures_util::future::join_all((0..12).map(|_| post_from("127.0.0.1", &relay, "/v1/login", None, &wrong))).await;
    let codes: Vec<u16> = codes.into_iter().map(|(c, _)| c).collect();
    assert!(codes.contains(&429), "{codes:?}");
    let t = Instant::now();
    alice.ok(&["account", "login", "--relay", &relay.url(), "--user", "alice"]);
    assert!(t.elapsed() < Duration::from_secs(3), "the owner's device is not slowed: {:?}", t.elapsed());
    alice.ok(&["chat", "sync"]);
    // A device without a token there is told to wait, not signed in.
    let stranger_device = User { name: "alice".into(), home: tempfile::tempdir().unwrap() };
    fails_with(stranger_device.run(&["account", "login", "--relay", &relay.url(), "--user", "alice"]), "too many");
    // A token of another account is no pass for alice.
    let bob = User::register(&relay, "bob");
    let (status, _) = post_from("127.0.0.1", &relay, "/v1/login", None, &json!({"user": "alice", "password": "guess", "device_token": bob.token()})).await;
    assert_eq!(status, 429);
    // Junk names are refused without being remembered.
    let (status, _) = post_from("127.0.0.9", &relay, "/v1/login", None, &json!({"user": "A".repeat(60_000), "password": "x"})).await;
    assert_eq!(status, 401);
}
