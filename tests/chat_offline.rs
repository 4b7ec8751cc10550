//! Offline sending, crashes and restarts: every message arrives exactly
//! once, in order, against a real relay process and real clients.

mod chat_support;
use chat_support::*;
use serde_json::Value;

fn ids(msgs: &[Value]) -> Vec<String> {
    msgs.iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn offline_messages_go_out_once_in_order_and_read_offline() {
    let mut relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    relay.stop();

    for t in ["one", "two", "three"] {
        let out = alice.ok(&["chat", "send", "--to", "bob", t]);
        assert!(out.contains("queued"), "should say it queued: {out}");
    }
    let pending = alice.history("bob", true);
    assert_eq!(texts(&pending), ["one", "two", "three"]);
    assert!(pending.iter().all(|m| m["state"] == "pending" && m["seq"].is_null()));

    relay.start_again();
    let out = alice.ok(&["chat", "sync"]);
    assert!(out.contains("sent 3"), "{out}");
    bob.ok(&["chat", "sync"]);
    let got = bob.history("alice", true);
    assert_eq!(texts(&got), ["one", "two", "three"]);
    assert_eq!(got.iter().map(|m| m["seq"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(got.iter().all(|m| m["from"] == "alice" && m["state"] == "received" && m["sent_at"].as_i64().unwrap() > 0));
    assert_eq!(ids(&got), ids(&alice.history("bob", true)), "both sides hold the same messages");
    assert!(alice.history("bob", true).iter().all(|m| m["state"] == "sent"));

    // A second sync changes nothing.
    alice.ok(&["chat", "sync"]);
    bob.ok(&["chat", "sync"]);
    assert_eq!(bob.history("alice", true).len(), 3);

    relay.stop();
    assert_eq!(texts(&bob.history("alice", true)), ["one", "two", "three"], "readable with the relay gone");
    // Without --offline it falls back to the cache and says so.
    let o = bob.run(&["chat", "history", "--with", "alice", "--json"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 3);
    // Search works offline too.
    let hits = bob.json_lines(&["chat", "search", "two", "--offline", "--json"]);
    assert_eq!(texts(&hits), ["two"]);
}

/// A small deterministic generator, so a failing run can be replayed with
/// the seed it prints.
pub struct Rng(u64);
impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("ONAIR_SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("soak seed: ONAIR_SOAK_SEED={seed}");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Runs `chat sync` and kills it with SIGKILL after `ms` milliseconds
/// (if it is still running then).
fn sync_killed_after(u: &User, ms: u64) {
    let mut child = u.cmd(&["chat", "sync", "--timeout", "2"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(ms));
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
}

fn sync_until_empty(u: &User) {
    wait_for(120, "the outbox to empty", || {
        let o = u.run(&["chat", "sync", "--json"]);
        if !o.status.success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&o.stdout).ok()?;
        (v["pending"] == 0).then_some(())
    });
}

#[test]
fn client_kill9_with_pending_outbox_delivers_once() {
    let mut relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    relay.stop();
    let sent: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
    for t in &sent {
        alice.ok(&["chat", "send", "--to", "bob", t]);
    }
    relay.start_again();
    let mut rng = Rng::seeded();
    for _ in 0..6 {
        sync_killed_after(&alice, 5 + rng.below(120));
    }
    sync_until_empty(&alice);
    bob.ok(&["chat", "sync"]);
    assert_eq!(texts(&bob.history("alice", true)), sent);
    assert_eq!(texts(&alice.history("bob", true)), sent);
}

#[test]
fn relay_restart_between_send_and_ack_loses_and_duplicates_nothing() {
    let mut relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let mut rng = Rng::seeded();
    let mut sent = Vec::new();
    for round in 0..3 {
        relay.stop();
        for i in 0..20 {
            let t = format!("r{round}-{i}");
            alice.ok(&["chat", "send", "--to", "bob", &t]);
            sent.push(t);
        }
        relay.start_again();
        // Deliver in the background and kill the relay mid-delivery.
        let mut child = alice.cmd(&["chat", "sync", "--timeout", "30"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10 + rng.below(150)));
        relay.kill9();
        relay.start_again();
        let _ = child.wait();
        sync_until_empty(&alice);
    }
    bob.ok(&["chat", "sync"]);
    assert_eq!(texts(&bob.history("alice", true)), sent);
    let seqs: Vec<u64> = bob.history("alice", true).iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=sent.len() as u64).collect::<Vec<_>>());
}

#[test]
fn randomized_soak_loses_nothing_duplicates_nothing_keeps_order() {
    let mut relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let mut rng = Rng::seeded();
    let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
    for round in 0..10 {
        let up = rng.below(3) != 0;
        if !up {
            relay.stop();
        }
        for i in 0..(1 + rng.below(6)) {
            let (u, log, peer) = if rng.below(2) == 0 { (&alice, &mut from_a, "bob") } else { (&bob, &mut from_b, "alice") };
            let t = format!("{}-{round}-{i}", u.name);
            u.ok(&["chat", "send", "--to", peer, &t]);
            log.push(t);
        }
        if !up {
            relay.start_again();
        }
        match rng.below(4) {
            0 => sync_killed_after(&alice, 5 + rng.below(100)),
            1 => {
                let mut child = bob.cmd(&["chat", "sync"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(rng.below(80)));
                relay.kill9();
                relay.start_again();
                let _ = child.wait();
            }
            2 => {
                let _ = bob.run(&["chat", "sync", "--timeout", "2"]);
            }
            _ => {}
        }
    }
    sync_until_empty(&alice);
    sync_until_empty(&bob);
    alice.ok(&["chat", "sync"]);
    let a = alice.history("bob", true);
    let b = bob.history("alice", true);
    // Same log on both sides, seqs 1..n without gaps.
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(a.iter().map(|m| m["seq"].as_u64().unwrap()).collect::<Vec<_>>(), (1..=a.len() as u64).collect::<Vec<_>>());
    // Each sender's messages all there, once, in the order written.
    let by = |who: &str| a.iter().filter(|m| m["from"] == who).map(|m| m["text"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(by("alice"), from_a);
    assert_eq!(by("bob"), from_b);
}
