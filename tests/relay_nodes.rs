//! Several relay nodes on one store and one Redis (issue 14): users on
//! different nodes chat exactly once and in order, see each other's
//! presence, call each other, sign out everywhere at once and share the
//! log-in limits; a node killed with SIGKILL takes its users offline; Redis
//! stopped and started again, and PostgreSQL restarted, lose and duplicate
//! nothing.
//!
//! Real parts: `redis-server`, PostgreSQL 15 (the first test's store; the
//! others share one SQLite file) and `onair relay` processes on 127.0.0.1
//! (tests/nodes_support), raw WebSocket clients (tests/call_support).

mod call_support;
mod nodes_support;
#[path = "../crates/relay/tests/pg_support/mod.rs"]
mod pg_support;

use call_support::{accepted_call, Ws, CANDIDATE, SDP};
use futures_util::StreamExt;
use nodes_support::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Makes `a` and `b` friends (requests cross nodes as events).
async fn befriend(a: &mut Ws, b: &mut Ws) {
    a.ok(json!({"op":"friend_add","user":b.user})).await;
    b.event_where("friend", |e| e["user"] == a.user.as_str()).await;
    b.ok(json!({"op":"friend_accept","user":a.user})).await;
    a.event_where("friend", |e| e["user"] == b.user.as_str() && e["state"] == "friends").await;
}

/// Sends `texts` to `to` without waiting between them, then resends any
/// the relay asked to send again (same client id: stored once). Returns
/// the seqs, in the order sent.
async fn send_all(ws: &mut Ws, to: &str, tag: &str, n: usize) -> Vec<u64> {
    let mut seqs = vec![0u64; n];
    let mut todo: Vec<usize> = (0..n).collect();
    for _round in 0..20 {
        let mut ids = Vec::new();
        for &i in &todo {
            let id = 10_000 + i as u64 + 100_000 * _round;
            ws.send(json!({"t":"req","id":id,"body":{"op":"send","client_id":format!("{tag}-{i}"),"to":{"user":to},"text":format!("{tag} {i}")}})).await;
            ids.push((id, i));
        }
        let mut again = Vec::new();
        for (id, i) in ids {
            let r = ws.res(id).await;
            match r["ok"]["seq"].as_u64() {
                Some(s) => seqs[i] = s,
                None => again.push(i),
            }
        }
        if again.is_empty() {
            return seqs;
        }
        todo = again;
    }
    panic!("{tag}: some messages were never stored");
}

/// The `message` events from `from` that arrive within `quiet` of each
/// other (after the first `expect` ones, waits `quiet` for extras).
async fn messages_from(ws: &mut Ws, from: &str, expect: usize) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    while got.len() < expect {
        let e = ws.event_where("message", |e| e["entry"]["from"] == from).await;
        got.push((e["entry"]["seq"].as_u64().unwrap(), e["entry"]["text"].as_str().unwrap().to_string()));
    }
    // Nothing more (a duplicate would come right behind).
    tokio::time::sleep(Duration::from_millis(500)).await;
    got.extend(ws.drain_events("message").await.into_iter().filter(|e| e["entry"]["from"] == from).map(|e| (e["entry"]["seq"].as_u64().unwrap(), e["entry"]["text"].as_str().unwrap().to_string())));
    got
}

async fn say_n(ws: &mut Ws, room: &str, tag: &str, n: usize) {
    for i in 0..n {
        ws.ok(json!({"op":"room_say","room":room,"text":format!("{tag} {i}")})).await;
    }
}

fn assert_in_order_once(got: &[(u64, String)], seqs: &[u64], tag: &str) {
    let want: Vec<(u64, String)> = seqs.iter().enumerate().map(|(i, s)| (*s, format!("{tag} {i}"))).collect();
    let mut sorted = want.clone();
    sorted.sort();
    assert_eq!(got, sorted.as_slice(), "{tag}: every message once, in seq order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_presence_calls_signout_and_limits_cross_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("relay.toml");
    std::fs::write(&conf, "[limits]\nlogin_attempts_per_minute = 4\nroom_comments_per_sec = 100.0\nroom_comment_burst = 100.0\n").unwrap();
    let pg = pg_support::Postgres::start();
    let cluster = Cluster::start_on(Some(pg.fresh_db("nodes")), 2, &["--config", conf.to_str().unwrap()]);
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let (ann_tok, bob_tok) = (register(a, "ann"), register(b, "bob"));
    let mut ann = Ws::connect(&a.addr, "ann", &ann_tok).await;
    let mut bob = Ws::connect(&b.addr, "bob", &bob_tok).await;
    befriend(&mut ann, &mut bob).await;

    // Presence crosses: bob leaves B and comes back.
    // (An "online" may come first: B's note that bob is there can reach A
    // after the friendship.)
    bob.close().await;
    let off = ann.event_where("presence", |e| e["user"] == "bob" && e["online"] == false).await;
    assert!(off["last_seen"].is_i64(), "{off}");
    let mut bob = Ws::connect(&b.addr, "bob", &bob_tok).await;
    ann.event_where("presence", |e| e["user"] == "bob" && e["online"] == true).await;

    // Both write to the same conversation from different nodes at once.
    let (ann_seqs, bob_seqs) = tokio::join!(send_all(&mut ann, "bob", "from-ann", 40), send_all(&mut bob, "ann", "from-bob", 40));
    let at_bob = messages_from(&mut bob, "ann", 40).await;
    assert_in_order_once(&at_bob, &ann_seqs, "from-ann");
    let at_ann = messages_from(&mut ann, "bob", 40).await;
    assert_in_order_once(&at_ann, &bob_seqs, "from-bob");
    let all: BTreeSet<u64> = ann_seqs.iter().chain(&bob_seqs).copied().collect();
    assert_eq!(all, (1..=80).collect(), "one sequence for the conversation, shared by both nodes");

    // An attachment uploaded through A downloads through B: its bytes are
    // in the shared data folder, its row in the shared store; eve may not.
    let (st, body) = http(&a.addr, "POST", "/v1/attachments?conv=dm:ann:bob&name=notes.txt", Some(&ann_tok), Some("shared between nodes"));
    assert_eq!(st, 201, "{body}");
    let att: serde_json::Value = serde_json::from_str(&body).unwrap();
    let path = format!("/v1/attachments/{}", att["id"].as_str().unwrap());
    assert_eq!(http(&b.addr, "GET", &path, Some(&bob_tok), None), (200, "shared between nodes".to_string()));
    let eve_tok = register(b, "eve");
    assert_eq!(http(&b.addr, "GET", &path, Some(&eve_tok), None).0, 404, "not a party to the conversation");

    // PostgreSQL restarted (fast: every session cut): the nodes' sockets
    // stay up, and what is sent afterwards is stored once, in order.
    tokio::task::block_in_place(|| pg.restart());
    let (ann_seqs, bob_seqs) = tokio::join!(send_all(&mut ann, "bob", "after-ann", 20), send_all(&mut bob, "ann", "after-bob", 20));
    assert_in_order_once(&messages_from(&mut bob, "ann", 20).await, &ann_seqs, "after-ann");
    assert_in_order_once(&messages_from(&mut ann, "bob", 20).await, &bob_seqs, "after-bob");
    let all: BTreeSet<u64> = ann_seqs.iter().chain(&bob_seqs).copied().collect();
    assert_eq!(all, (81..=120).collect(), "nothing lost or doubled across the restart");
    assert!(a.log().contains("PostgreSQL connection was lost") || b.log().contains("PostgreSQL connection was lost"), "the pools saw the restart");

    // A call from a user on A to a user on B: ring, answer, SDP and ICE
    // both ways, hang up.
    let call = accepted_call(&mut ann, &mut bob).await;
    ann.ok(json!({"op":"call_sdp","call_id":call,"kind":"offer","sdp":SDP})).await;
    assert_eq!(bob.event("call_sdp").await["kind"], "offer");
    bob.ok(json!({"op":"call_sdp","call_id":call,"kind":"answer","sdp":SDP})).await;
    assert_eq!(ann.event("call_sdp").await["kind"], "answer");
    bob.ok(json!({"op":"call_ice","call_id":call,"candidate":{"candidate":CANDIDATE,"sdp_mid":"0","sdp_mline_index":0}})).await;
    assert_eq!(ann.event("call_ice").await["from"], "bob");
    ann.ok(json!({"op":"call_ice","call_id":call,"candidate":null})).await;
    assert_eq!(bob.event("call_ice").await["from"], "ann");
    // A third party on the other node cannot touch it.
    let mut eve = Ws::connect(&b.addr, "eve", &eve_tok).await;
    assert_eq!(eve.refused(json!({"op":"call_hangup","call_id":call})).await, "not_participant");
    bob.ok(json!({"op":"call_hangup","call_id":call})).await;
    assert_eq!(ann.ended(&call).await["reason"], "hangup");
    assert_eq!(bob.ended(&call).await["reason"], "hangup");
    assert!(b.metrics().contains("onair_relay_cross_node_frames_total{node=\"b\"}"), "{}", b.metrics());

    // A live room's chat, from users on both nodes: one order for all.
    let (st, body) = http(&a.addr, "POST", "/v1/rooms", Some(&ann_tok), Some(r#"{"title":"nodes","category":"test"}"#));
    assert_eq!(st, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let room = v["id"].as_str().or(v["room"]["id"].as_str()).unwrap().to_string();
    bob.ok(json!({"op":"room_join","room":room})).await;
    let joined = ann.ok(json!({"op":"room_join","room":room})).await;
    assert_eq!(joined["viewers"].as_array().unwrap().len(), 2, "{joined}");
    assert_eq!(bob.event_where("room_viewer", |e| e["user"] == "ann").await["viewers"], 2);
    tokio::join!(say_n(&mut ann, &room, "ann", 15), say_n(&mut bob, &room, "bob", 15));
    let mut orders = Vec::new();
    for ws in [&mut ann, &mut bob] {
        let mut got = Vec::new();
        while got.len() < 30 {
            let c = ws.event_where("room_comment", |e| e["room"] == room.as_str()).await;
            got.push((c["comment"]["seq"].as_u64().unwrap(), c["comment"]["text"].as_str().unwrap().to_string()));
        }
        assert!(ws.drain_events("room_comment").await.is_empty(), "no comment twice");
        orders.push(got);
    }
    assert_eq!(orders[0], orders[1], "one order on both nodes");
    // Whichever node is asked, the room counts its chatters on both.
    for n in [a, b] {
        wait_for(15, "the room's chat viewers on every node", || {
            let (_, body) = http(&n.addr, "GET", &format!("/v1/rooms/{room}"), Some(&ann_tok), None);
            let v: serde_json::Value = serde_json::from_str(&body).ok()?;
            (v["chat_viewers"] == 2).then_some(())
        });
    }
    assert_eq!(orders[0].iter().map(|(s, _)| *s).collect::<Vec<_>>(), (1..=30).collect::<Vec<_>>());
    // A made-up room gets no home (no key in Redis), just its refusal.
    assert_eq!(bob.refused(json!({"op":"room_join","room":"made-up"})).await, "not_found");
    assert_eq!(cluster.redis.command("EXISTS onair:room:made-up\r\n"), ":0\r\n");
    // The owner on A mutes bob, whose socket is on B.
    ann.ok(json!({"op":"room_mute","room":room,"user":"bob"})).await;
    assert_eq!(bob.refused(json!({"op":"room_say","room":room,"text":"still here?"})).await, "muted");

    // Log-in limits count on both nodes together: 4 a minute for one user
    // from one address, not 4 on each.
    let mut codes = Vec::new();
    for i in 0..6 {
        let node = if i % 2 == 0 { a } else { b };
        codes.push(login(node, "eve", "wrong password!").0);
    }
    assert_eq!(&codes[..4], &[401, 401, 401, 401], "{codes:?}");
    assert_eq!(&codes[4..], &[429, 429], "{codes:?}");

    // Logging out on A closes the token's socket on B within a second.
    let (mut raw, _) = tokio_tungstenite::connect_async(format!("ws://{}/v1/ws", b.addr)).await.unwrap();
    use futures_util::SinkExt;
    raw.send(tokio_tungstenite::tungstenite::Message::Text(json!({"t":"hello","v":1,"token":bob_tok}).to_string().into())).await.unwrap();
    let welcome = raw.next().await.unwrap().unwrap();
    assert!(welcome.to_text().unwrap().contains("welcome"));
    let t = Instant::now();
    let (st, _) = http(&a.addr, "POST", "/v1/logout", Some(&bob_tok), None);
    assert_eq!(st, 204);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = raw.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(f) = m {
                return f.map(|f| f.reason.to_string());
            }
        }
        None
    })
    .await
    .expect("the socket on B closes");
    assert!(t.elapsed() < Duration::from_secs(1), "closed after {:?}", t.elapsed());
    assert_eq!(closed.as_deref(), Some("signed out"));
    drop(eve);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_takes_its_users_offline_and_their_call_resumes_elsewhere() {
    let mut cluster = Cluster::start(2, &["--call-grace", "30"]);
    let (ann_tok, bob_tok) = (register(&cluster.nodes[0], "ann"), register(&cluster.nodes[1], "bob"));
    let a_addr = cluster.nodes[0].addr.clone();
    // Three nodes; the call spans A and B.
    cluster.add("c", &["--call-grace", "30"]);
    let mut ann = Ws::connect(&a_addr, "ann", &ann_tok).await;
    let mut bob = Ws::connect(&cluster.nodes[1].addr, "bob", &bob_tok).await;
    befriend(&mut ann, &mut bob).await;
    // The call is held by A (ann invited there); bob's side is on B.
    let call = accepted_call(&mut ann, &mut bob).await;
    let before = send_all(&mut ann, "bob", "before", 5).await;
    assert_in_order_once(&messages_from(&mut bob, "ann", 5).await, &before, "before");

    let t = Instant::now();
    cluster.nodes[1].kill9();
    ann.event_where("presence", |e| e["user"] == "bob" && e["online"] == false).await;
    let took = t.elapsed();
    assert!(took < Duration::from_secs(10), "offline after {took:?}");
    assert_eq!(ann.event("call_peer").await["connected"], false);

    // bob's client reconnects through nginx (deploy/nginx-nodes.conf),
    // which passes over the dead node, and resumes the call.
    let front = cluster.nginx();
    let mut bob = Ws::connect(&front.addr, "bob", &bob_tok).await;
    ann.event_where("presence", |e| e["user"] == "bob" && e["online"] == true).await;
    bob.ok(json!({"op":"call_resume","call_id":call})).await;
    assert_eq!(ann.event("call_peer").await["connected"], true);
    ann.ok(json!({"op":"call_sdp","call_id":call,"kind":"offer","sdp":SDP})).await;
    assert_eq!(bob.event("call_sdp").await["from"], "ann");
    ann.ok(json!({"op":"call_hangup","call_id":call})).await;
    assert_eq!(bob.ended(&call).await["reason"], "hangup");

    // Chat carries on exactly once and in order on the new node: bob's
    // sync after his last seq, and the events that follow.
    let again = send_all(&mut ann, "bob", "again", 5).await;
    let synced = resync(&mut bob, "dm:ann:bob", *before.last().unwrap()).await;
    assert_in_order_once(&synced, &again, "again");
    assert_in_order_once(&messages_from(&mut bob, "ann", 5).await, &again, "again");
}

/// What a client does on `conv_changed`: sync the conversation after its cursor.
async fn resync(ws: &mut Ws, conv: &str, after: u64) -> Vec<(u64, String)> {
    let r = ws.ok(json!({"op":"sync","conv":conv,"after":after,"limit":500})).await;
    r["entries"].as_array().unwrap().iter().map(|e| (e["seq"].as_u64().unwrap(), e["text"].as_str().unwrap_or("").to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_away_and_back_loses_and_duplicates_nothing() {
    let mut cluster = Cluster::start(2, &[]);
    let (ann_tok, bob_tok) = (register(&cluster.nodes[0], "ann"), register(&cluster.nodes[1], "bob"));
    let mut ann = Ws::connect(&cluster.nodes[0].addr, "ann", &ann_tok).await;
    let mut bob = Ws::connect(&cluster.nodes[1].addr, "bob", &bob_tok).await;
    befriend(&mut ann, &mut bob).await;
    let first = send_all(&mut ann, "bob", "before", 5).await;
    assert_in_order_once(&messages_from(&mut bob, "ann", 5).await, &first, "before");
    let conv = ann.ok(json!({"op":"conversations"})).await["convs"][0]["id"].as_str().unwrap().to_string();

    cluster.redis.stop();
    for n in &cluster.nodes {
        wait_for(30, "the nodes to see the bus down", || n.metrics().contains(&format!("onair_relay_bus_up{{node=\"{}\"}} 0", n.id)).then_some(()));
    }
    // Each node goes on serving its own clients.
    let during = send_all(&mut ann, "bob", "during", 5).await;
    let during_b = send_all(&mut bob, "ann", "during-b", 5).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.redis.start_again();
    for n in &cluster.nodes {
        wait_for(30, "the nodes to reconnect", || n.metrics().contains(&format!("onair_relay_bus_up{{node=\"{}\"}} 1", n.id)).then_some(()));
    }
    // Whatever did not arrive as an event arrives by the resync each node
    // asks its clients for; no event arrives twice.
    for (ws, from, seqs, tag) in [(&mut bob, "ann", &during, "during"), (&mut ann, "bob", &during_b, "during-b")] {
        ws.event("conv_changed").await;
        let events: Vec<(u64, String)> = ws.drain_events("message").await.into_iter().filter(|e| e["entry"]["from"] == from).map(|e| (e["entry"]["seq"].as_u64().unwrap(), e["entry"]["text"].as_str().unwrap().to_string())).collect();
        let unique: BTreeSet<u64> = events.iter().map(|(s, _)| *s).collect();
        assert_eq!(unique.len(), events.len(), "{tag}: no event twice: {events:?}");
        let mut seen: BTreeSet<(u64, String)> = events.into_iter().collect();
        seen.extend(resync(ws, &conv, first[4]).await.into_iter().filter(|(_, t)| t.starts_with(&format!("{tag} "))));
        let want: BTreeSet<(u64, String)> = seqs.iter().enumerate().map(|(i, s)| (*s, format!("{tag} {i}"))).collect();
        assert_eq!(seen, want, "{tag}: everything, once");
    }
    // And live delivery is back.
    let after = send_all(&mut ann, "bob", "after", 5).await;
    assert_in_order_once(&messages_from(&mut bob, "ann", 5).await, &after, "after");

    // SIGTERM drains B: bob's socket is told the relay is going, ann hears
    // at once that he left (not after B's 4 s of silence), and B exits.
    let t = Instant::now();
    let took = cluster.nodes[1].stop();
    assert!(took < Duration::from_secs(15), "B took {took:?} to stop");
    ann.event_where("presence", |e| e["user"] == "bob" && e["online"] == false).await;
    assert!(t.elapsed() < Duration::from_secs(15));
    assert!(cluster.nodes[1].log().contains("left the other relay nodes"), "{}", cluster.nodes[1].log());
    assert_eq!(cluster.redis.command("ZSCORE onair:nodes b\r\n"), "$-1\r\n", "B took itself out of the node index");
}

/// `cargo test --test relay_nodes cross_node_latency -- --ignored --nocapture`:
/// delivery time of 1:1 messages to a socket on the sender's node and to one
/// on another node (through Redis), measured together. Prints, asserts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn cross_node_latency() {
    let cluster = Cluster::start(2, &[]);
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let (ann_tok, bob_tok) = (register(a, "ann"), register(b, "bob"));
    let mut ann = Ws::connect(&a.addr, "ann", &ann_tok).await;
    let mut here = Ws::connect(&a.addr, "bob", &bob_tok).await;
    let mut there = Ws::connect(&b.addr, "bob", &bob_tok).await;
    let (mut same, mut cross) = (Vec::new(), Vec::new());
    for i in 0..500 {
        let t = Instant::now();
        ann.ok(json!({"op":"send","client_id":format!("l{i}"),"to":{"user":"bob"},"text":"x"})).await;
        let (h, c) = tokio::join!(
            async { here.event("message").await; t.elapsed() },
            async { there.event("message").await; t.elapsed() }
        );
        same.push(h);
        cross.push(c);
    }
    let pct = |v: &mut Vec<Duration>, p: f64| {
        v.sort();
        v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0
    };
    println!(
        "send -> event, 500 messages: same node p50 {:.2} ms p99 {:.2} ms; other node p50 {:.2} ms p99 {:.2} ms",
        pct(&mut same, 0.5),
        pct(&mut same, 0.99),
        pct(&mut cross, 0.5),
        pct(&mut cross, 0.99)
    );
}
