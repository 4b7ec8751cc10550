//! Authorisation against a real relay: members only, owners manage groups,
//! blocked users and strangers are refused.

mod chat_support;
use chat_support::*;

fn fails_with(u: &User, args: &[&str], needle: &str) {
    let o = u.run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(err.contains(needle), "{args:?}: expected {needle:?} in {err}");
}

#[test]
fn outsiders_cannot_read_post_or_list_members() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let carol = User::register(&relay, "carol");
    let group = alice.ok(&["group", "create", "crew", "--members", "bob"]).trim().to_string();
    assert!(group.starts_with("g:"), "{group}");
    alice.ok(&["chat", "send", "--group", &group, "secret plan"]);
    bob.ok(&["chat", "send", "--to", "alice", "private hello"]);

    // Carol: members, post, read — all refused; her cache learns nothing.
    fails_with(&carol, &["group", "members", &group], "not a member");
    let o = carol.run(&["chat", "send", "--group", &group, "let me in"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a member"));
    carol.ok(&["chat", "sync"]);
    // Her cache holds only her own refused message, marked failed with the reason.
    let seen = carol.json_lines(&["chat", "history", "--group", &group, "--offline", "--json"]);
    assert_eq!(texts(&seen), ["let me in"]);
    assert_eq!(seen[0]["state"], "failed");
    assert!(seen[0]["error"].as_str().unwrap().contains("not a member"));
    assert!(carol.json_lines(&["chat", "search", "secret", "--offline", "--json"]).is_empty());
    assert!(carol.json_lines(&["chat", "history", "--with", "alice", "--offline", "--json"]).is_empty());
    // The DM between alice and bob is not hers either, even by id.
    fails_with(&carol, &["group", "members", "dm:alice:bob"], "not a member");

    // Members see it; only the owner manages.
    bob.ok(&["chat", "sync"]);
    assert_eq!(texts(&bob.json_lines(&["chat", "history", "--group", &group, "--offline", "--json"])), ["secret plan"]);
    fails_with(&bob, &["group", "add", &group, "carol"], "owner");
    alice.ok(&["group", "add", &group, "carol"]);
    carol.ok(&["chat", "sync"]);
    let now = carol.json_lines(&["chat", "history", "--group", &group, "--offline", "--json"]);
    assert_eq!(texts(&now), ["secret plan", "let me in"], "relay history first, then her failed message");
    alice.ok(&["group", "remove", &group, "carol"]);
    fails_with(&carol, &["group", "members", &group], "not a member");
    // The owner leaves: bob inherits the group.
    alice.ok(&["group", "leave", &group]);
    let members = bob.json_lines(&["group", "members", &group, "--json"]);
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["user"], "bob");
    assert_eq!(members[0]["owner"], true);
}

#[test]
fn blocked_users_and_strangers_are_refused() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let carol = User::register(&relay, "carol");

    bob.ok(&["friends", "block", "alice"]);
    let o = alice.run(&["chat", "send", "--to", "bob", "hi?"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not accept"));
    let mine = alice.history("bob", true);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["state"], "failed");
    bob.ok(&["chat", "sync"]);
    assert!(bob.history("alice", true).is_empty());
    let listed = bob.json_lines(&["friends", "list", "--json"]);
    assert!(listed.iter().any(|f| f["user"] == "alice" && f["state"] == "blocked"));
    bob.ok(&["friends", "unblock", "alice"]);
    alice.ok(&["chat", "send", "--to", "bob", "better now?"]);

    // Stranger control: friends only.
    bob.ok(&["account", "privacy", "friends"]);
    let o = carol.run(&["chat", "send", "--to", "bob", "hello stranger"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("friends only"), "{}", String::from_utf8_lossy(&o.stderr));
    carol.ok(&["friends", "add", "bob"]);
    let b = bob.json_lines(&["friends", "list", "--json"]);
    assert!(b.iter().any(|f| f["user"] == "carol" && f["state"] == "incoming"));
    bob.ok(&["friends", "accept", "carol"]);
    carol.ok(&["chat", "send", "--to", "bob", "hello friend"]);
    bob.ok(&["chat", "sync"]);
    assert_eq!(texts(&bob.history("carol", true)), ["hello friend"]);
    let c = carol.json_lines(&["friends", "list", "--json"]);
    assert!(c.iter().any(|f| f["user"] == "bob" && f["state"] == "friends"));
}

#[test]
fn wrong_password_and_bad_tokens_are_refused() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let o = alice.cmd(&["account", "login", "--relay", &relay.url(), "--user", "alice"]).env("ONAIR_PASSWORD", "wrong password").output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong user name or password"));
    // The token is never printed.
    let out = alice.ok(&["account", "login", "--relay", &relay.url(), "--user", "alice"]);
    assert!(!out.contains(&alice.token()));
    // Log-in attempts are rate limited.
    let limited = (0..15).any(|_| {
        let o = alice.cmd(&["account", "login", "--relay", &relay.url(), "--user", "alice"]).env("ONAIR_PASSWORD", "nope nope").output().unwrap();
        String::from_utf8_lossy(&o.stderr).contains("too many")
    });
    assert!(limited, "log-ins should be rate limited");
    // A revoked token stops working.
    let token = alice.token();
    alice.ok(&["account", "logout"]);
    let fresh = User { name: "alice".into(), home: tempfile::tempdir().unwrap() };
    std::fs::write(
        fresh.home_path().join("credentials.json"),
        serde_json::json!({"relay": relay.url(), "user": "alice", "token": token, "expires_at": 0}).to_string(),
    )
    .unwrap();
    let o = fresh.run(&["chat", "sync", "--timeout", "1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid or expired token"));
}
