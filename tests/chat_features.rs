//! Receipts, recall, burn-after-read, attachments and live events, end to
//! end through the CLI and a real relay.

mod chat_support;
use chat_support::*;
use std::io::BufRead;
use std::time::Duration;

#[test]
fn read_receipts_and_recall() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    alice.ok(&["chat", "send", "--to", "bob", "first"]);
    alice.ok(&["chat", "send", "--to", "bob", "oops wrong chat"]);
    bob.ok(&["chat", "sync"]);
    bob.ok(&["chat", "read", "--with", "alice", "--upto", "1"]);
    alice.ok(&["chat", "sync"]);
    let h = alice.history("bob", true);
    assert_eq!(h[0]["read_by"], serde_json::json!(["bob"]));
    assert!(h[1].get("read_by").is_none(), "second not read yet: {}", h[1]);

    let id = h[1]["id"].as_str().unwrap().to_string();
    let o = bob.run(&["chat", "recall", &id]);
    assert!(!o.status.success(), "only the sender can recall");
    alice.ok(&["chat", "recall", &id]);
    bob.ok(&["chat", "sync"]);
    for u in [&alice, &bob] {
        let h = u.history(if u.name == "alice" { "bob" } else { "alice" }, true);
        assert_eq!(h.len(), 2);
        assert_eq!((h[1]["state"].as_str(), h[1]["text"].as_str()), (Some("recalled"), Some("")));
        assert!(u.json_lines(&["chat", "search", "oops", "--offline", "--json"]).is_empty());
    }
}

#[test]
fn burn_after_read_deletes_on_both_devices() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    alice.ok(&["chat", "send", "--to", "bob", "--burn", "1", "self destructing"]);
    alice.ok(&["chat", "send", "--to", "bob", "stays"]);
    bob.ok(&["chat", "sync"]);
    assert_eq!(texts(&bob.history("alice", true)), ["self destructing", "stays"]);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(bob.history("alice", true).len(), 2, "unread: the timer has not started");
    bob.ok(&["chat", "read", "--with", "alice"]);
    wait_for(30, "bob's copy to burn", || (texts(&bob.history("alice", true)) == ["stays"]).then_some(()));
    wait_for(30, "alice's copy to burn", || {
        alice.ok(&["chat", "sync"]);
        (texts(&alice.history("bob", true)) == ["stays"]).then_some(())
    });
}

#[test]
fn attachments_upload_and_download_for_members_only() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let carol = User::register(&relay, "carol");
    let file = alice.home_path().join("photo.bin");
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    alice.ok(&["chat", "send", "--to", "bob", "--file", file.to_str().unwrap(), "holiday"]);
    bob.ok(&["chat", "sync"]);
    let h = bob.history("alice", true);
    let att = &h[0]["attachment"];
    assert_eq!((att["name"].as_str(), att["size"].as_u64()), (Some("photo.bin"), Some(100_000)));
    let id = att["id"].as_str().unwrap();
    let out = bob.home_path().join("got.bin");
    bob.ok(&["chat", "download", id, "--out", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let o = carol.run(&["chat", "download", id, "--out", "/dev/null"]);
    assert!(!o.status.success(), "carol is not in that conversation");
}

#[test]
fn listen_prints_events_as_they_happen() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    alice.ok(&["friends", "add", "bob"]);
    bob.ok(&["friends", "accept", "alice"]);
    let mut child = bob.cmd(&["chat", "listen"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    // Bob's listener is up once the relay reports him online to his friend.
    wait_for(60, "bob online", || {
        let f = alice.json_lines(&["friends", "list", "--json"]);
        (f.iter().any(|f| f["user"] == "bob" && f["online"] == true)).then_some(())
    });
    alice.ok(&["chat", "send", "--to", "bob", "live!"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let got = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let v = rx.recv_timeout(left).expect("a message event in time");
        if v["ev"] == "message" {
            break v;
        }
    };
    assert_eq!((got["entry"]["text"].as_str(), got["entry"]["from"].as_str()), (Some("live!"), Some("alice")));
    // The listener also filed it in bob's cache.
    wait_for(30, "bob's cache", || (texts(&bob.history("alice", true)) == ["live!"]).then_some(()));
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    wait_for(60, "bob offline with a last-seen time", || {
        let f = alice.json_lines(&["friends", "list", "--json"]);
        f.iter().any(|f| f["user"] == "bob" && f["online"] == false && f["last_seen"].as_i64().is_some()).then_some(())
    });
}
