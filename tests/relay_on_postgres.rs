//! A real `onair relay --store postgres://…` process: accounts, friends, 1:1
//! and group chat (exactly once, in order), recall, an attachment and a
//! room, then a restart that loses nothing. The database is a private
//! PostgreSQL 15 the test starts; attachments stay in the node's `--data`.

mod chat_support;
#[path = "../crates/relay/tests/pg_support/mod.rs"]
mod pg_support;

use chat_support::*;
use serde_json::Value;

fn login(relay: &Relay, name: &str) -> User {
    let u = User {
        name: name.into(),
        home: tempfile::tempdir().unwrap(),
    };
    u.ok(&["account", "login", "--relay", &relay.url(), "--user", name]);
    u
}

#[test]
fn a_relay_on_postgres_serves_chat_and_rooms_and_loses_nothing_on_restart() {
    let pg = pg_support::Postgres::start();
    let url = pg.fresh_db("relay");
    let mut relay = Relay::start_with(&["--store", &url], false);
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let carol = User::register(&relay, "carol");
    alice.ok(&["friends", "add", "bob"]);
    bob.ok(&["friends", "accept", "alice"]);

    // 1:1 and group chat: every message once, in the order sent.
    for i in 0..5 {
        alice.ok(&["chat", "send", "--to", "bob", &format!("dm {i}")]);
    }
    let group = alice
        .ok(&["group", "create", "crew", "--members", "bob,carol"])
        .trim()
        .to_string();
    for (u, t) in [(&bob, "g bob"), (&carol, "g carol"), (&alice, "g alice")] {
        u.ok(&["chat", "send", "--group", &group, t]);
    }
    bob.ok(&["chat", "sync"]);
    carol.ok(&["chat", "sync"]);
    let dms: Vec<String> = (0..5).map(|i| format!("dm {i}")).collect();
    assert_eq!(texts(&bob.history("alice", true)), dms);
    let in_group = |u: &User| {
        texts(&u.json_lines(&["chat", "history", "--group", &group, "--offline", "--json"]))
    };
    assert_eq!(in_group(&carol), ["g bob", "g carol", "g alice"]);

    // Recall, and an attachment whose bytes stay in the node's data folder.
    let last = alice.history("bob", true).last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    alice.ok(&["chat", "recall", &last]);
    let file = alice.home_path().join("notes.txt");
    std::fs::write(&file, b"kept across restarts").unwrap();
    alice.ok(&[
        "chat",
        "send",
        "--to",
        "bob",
        "the notes",
        "--file",
        file.to_str().unwrap(),
    ]);
    bob.ok(&["chat", "sync"]);
    let h = bob.history("alice", true);
    assert_eq!(
        (h[4]["state"].as_str(), h[4]["text"].as_str()),
        (Some("recalled"), Some(""))
    );
    let att = h.last().unwrap()["attachment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(relay.data.join("attachments").join(&att).exists());
    let room: Value =
        serde_json::from_str(alice.ok(&["room", "create", "On PG", "--json"]).trim()).unwrap();
    let room_id = room["id"].as_str().unwrap().to_string();

    // Everything is in PostgreSQL, nothing in a SQLite file.
    assert!(
        !relay.data.join("relay.db").exists(),
        "no SQLite database beside a PostgreSQL store"
    );
    let count = |sql: &str| {
        String::from_utf8_lossy(&pg.psql("relay", sql).stdout)
            .trim()
            .to_string()
    };
    assert_eq!(count("SELECT count(*) FROM users"), "3");

    relay.restart();

    // New devices (fresh homes) find it all: history, recall, friends,
    // the group, the attachment, the room.
    let bob2 = login(&relay, "bob");
    bob2.ok(&["chat", "sync"]);
    let h = bob2.history("alice", true);
    assert_eq!(h.len(), 6, "{h:?}");
    assert_eq!(texts(&h[..4]), &dms[..4]);
    assert_eq!(h[4]["state"].as_str(), Some("recalled"));
    assert_eq!(h[5]["text"].as_str(), Some("the notes"));
    let out = bob2.home_path().join("got.txt");
    bob2.ok(&["chat", "download", &att, "--out", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), b"kept across restarts");
    let friends = bob2.json_lines(&["friends", "list", "--json"]);
    assert!(
        friends
            .iter()
            .any(|f| f["user"] == "alice" && f["state"] == "friends"),
        "{friends:?}"
    );
    let carol2 = login(&relay, "carol");
    carol2.ok(&["chat", "sync"]);
    assert_eq!(in_group(&carol2), ["g bob", "g carol", "g alice"]);
    assert!(alice
        .ok(&["room", "list", "--all", "--json"])
        .contains(&room_id));

    // The log goes on from where it was: the next message is the next
    // number, and old devices catch up with exactly the new one.
    carol.ok(&["chat", "send", "--group", &group, "after restart"]);
    carol2.ok(&["chat", "sync"]);
    assert_eq!(
        in_group(&carol2),
        ["g bob", "g carol", "g alice", "after restart"]
    );
    let seqs: Vec<u64> = carol2
        .json_lines(&["chat", "history", "--group", &group, "--offline", "--json"])
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    bob.ok(&["chat", "sync"]);
    assert_eq!(
        in_group(&bob),
        ["g bob", "g carol", "g alice", "after restart"]
    );
}

/// An unreachable database stops the relay at start with a clear message
/// that never shows the password.
#[test]
fn an_unreachable_store_is_a_clear_error_without_the_password() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(BIN)
        .args([
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--rtmp",
            "127.0.0.1:0",
            "--store",
            &format!("postgres://relay:hunter2@127.0.0.1:{closed}/onair"),
        ])
        .arg("--data")
        .arg(home.path().join("relay"))
        .env("ONAIR_HOME", home.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains(&format!("relay:****@127.0.0.1:{closed}")) && err.contains("PostgreSQL"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}
