//! The store never blocks the runtime: while another process holds a long
//! write transaction on the relay's SQLite database, the relay's writes
//! wait (on the store's blocking threads) and everything else carries on —
//! a new socket signs in and is answered at once, HTTP answers — then the
//! writes complete when the lock goes. Before the async seam, the stuck
//! writes held the store's one lock on tokio's workers and nothing moved.

mod chat_support;
use chat_support::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws, within: Duration) -> Value {
    loop {
        let m = tokio::time::timeout(within, ws.next())
            .await
            .expect("an answer in time")
            .expect("open")
            .expect("ok");
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

async fn signed_in(relay: &Relay, token: &str, within: Duration) -> Ws {
    let (mut ws, _) = tokio::time::timeout(
        within,
        tokio_tungstenite::connect_async(format!("ws://{}/v1/ws", relay.addr)),
    )
    .await
    .expect("connected in time")
    .unwrap();
    ws.send(Message::Text(
        json!({"t": "hello", "v": 1, "token": token})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws, within).await["t"], "welcome");
    ws
}

#[tokio::test(flavor = "current_thread")]
async fn a_stuck_write_holds_up_neither_reads_nor_other_sockets() {
    let relay = Relay::start();
    let w = User::register(&relay, "writer");
    let bob = User::register(&relay, "bob");
    let slow = Duration::from_secs(30);
    // More stuck writers than the relay has tokio workers (one per core).
    let mut writers = Vec::new();
    for _ in 0..6 {
        writers.push(signed_in(&relay, &w.token(), slow).await);
    }

    // Another process takes SQLite's write lock and keeps it.
    let db = rusqlite::Connection::open(relay.data.join("relay.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let held = Instant::now();
    for (i, ws) in writers.iter_mut().enumerate() {
        let f = json!({"t": "req", "id": i + 1, "body": {"op": "set_privacy", "accept_from": if i % 2 == 0 { "friends" } else { "anyone" }}});
        ws.send(Message::Text(f.to_string().into())).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Meanwhile: a new socket signs in (a read of its token) and is
    // answered, and so is a ping and plain HTTP.
    let prompt = Duration::from_secs(2);
    let t = Instant::now();
    let mut b = signed_in(&relay, &bob.token(), prompt).await;
    b.send(Message::Text(r#"{"t":"ping","nonce":7}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut b, prompt).await["nonce"], 7);
    b.send(Message::Text(
        r#"{"t":"req","id":9,"body":{"op":"conversations"}}"#.into(),
    ))
    .await
    .unwrap();
    let convs = next_json(&mut b, prompt).await;
    assert!(convs["ok"].is_object(), "{convs}");
    let addr = relay.addr.clone();
    assert!(
        tokio::task::spawn_blocking(move || healthz(&addr))
            .await
            .unwrap(),
        "HTTP answers"
    );
    let answered_in = t.elapsed();
    eprintln!("sign-in, ping, a read and /healthz answered in {answered_in:?} while the database was locked");
    assert!(
        answered_in < Duration::from_secs(3),
        "bob waited {answered_in:?} behind the stuck writes"
    );
    for ws in writers.iter_mut() {
        assert!(
            tokio::time::timeout(Duration::from_millis(10), ws.next())
                .await
                .is_err(),
            "a write answered while the database was locked"
        );
    }

    // The lock goes (well inside SQLite's 5 s busy wait): every write completes.
    db.execute_batch("ROLLBACK").unwrap();
    let held = held.elapsed();
    for (i, ws) in writers.iter_mut().enumerate() {
        let r = next_json(ws, slow).await;
        assert_eq!(r["id"], i + 1);
        assert!(
            r["ok"].is_object(),
            "write {i} after the lock went: {r} (held {held:?})"
        );
    }
}

fn healthz(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(
        format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes(),
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}
