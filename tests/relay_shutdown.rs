//! Graceful shutdown (SIGTERM) in the middle of a stream of sends: every
//! message the relay acknowledged is there after a restart.

mod chat_support;
use chat_support::*;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashSet;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "current_thread")]
async fn sigterm_loses_no_acknowledged_message() {
    let mut relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/v1/ws", relay.addr)).await.unwrap();
    ws.send(Message::Text(serde_json::json!({"t":"hello","v":1,"token":alice.token()}).to_string().into())).await.unwrap();
    // Pipeline sends (within the rate limit's burst) and stop the relay while
    // they are being answered.
    for i in 0..300u32 {
        let f = serde_json::json!({"t":"req","id":i,"body":{"op":"send","client_id":format!("s{i}"),"to":{"user":"bob"},"text":format!("n{i}")}});
        ws.send(Message::Text(f.to_string().into())).await.unwrap();
    }
    let mut acked = HashSet::new();
    let mut stopped = false;
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(60), ws.next()).await.expect("relay answers or closes");
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                if v["t"] == "res" && v["ok"]["kind"] == "sent" {
                    acked.insert(format!("n{}", v["id"]));
                    if acked.len() == 20 && !stopped {
                        // SIGTERM, without waiting: the socket sees the close.
                        unsafe { libc::kill(relay_pid(&relay), libc::SIGTERM) };
                        stopped = true;
                    }
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    assert!(stopped && acked.len() >= 20);
    let acked_count = acked.len();
    let got = tokio::task::spawn_blocking(move || {
        relay.stop();
        relay.start_again();
        bob.ok(&["chat", "sync"]);
        (texts(&bob.history("alice", true)), relay)
    })
    .await
    .unwrap()
    .0;
    let got_set: HashSet<String> = got.iter().cloned().collect();
    assert!(acked.is_subset(&got_set), "acknowledged but lost: {:?}", acked.difference(&got_set).collect::<Vec<_>>());
    assert_eq!(got_set.len(), got.len(), "no duplicates");
    // Stored in the order sent.
    let nums: Vec<u32> = got.iter().map(|t| t[1..].parse().unwrap()).collect();
    assert!(nums.windows(2).all(|w| w[0] < w[1]), "order kept");
    eprintln!("acknowledged {acked_count} before shutdown; {} stored", got.len());
}

fn relay_pid(r: &Relay) -> i32 {
    r.pid().expect("relay running") as i32
}
