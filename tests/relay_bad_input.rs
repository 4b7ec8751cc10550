//! Garbage, huge frames and unknown types get error frames; the relay
//! stays up and keeps serving everyone else.

mod chat_support;
use chat_support::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

async fn next_json(ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin)) -> Value {
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(30), ws.next()).await.expect("an answer in time").expect("open").expect("ok");
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn garbage_huge_and_unknown_frames_leave_the_relay_up() {
    let relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let url = format!("ws://{}/v1/ws", relay.addr);

    let (mut evil, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    // Before hello: a request is refused, the socket stays.
    evil.send(Message::Text(r#"{"t":"req","id":1,"body":{"op":"conversations"}}"#.into())).await.unwrap();
    assert_eq!(next_json(&mut evil).await["code"], "unauthorized");
    evil.send(Message::Text(serde_json::json!({"t":"hello","v":1,"token":alice.token()}).to_string().into())).await.unwrap();
    assert_eq!(next_json(&mut evil).await["t"], "welcome");
    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("{{{{ not json".into()), "bad_frame"),
        (Message::Binary(vec![0xff, 0x00, 0x13, 0x37].into()), "bad_frame"),
        (Message::Text(r#"{"t":"teleport","to":"mars"}"#.into()), "unknown_type"),
        (Message::Text(r#"{"t":"req","id":5,"body":{"op":"self_destruct"}}"#.into()), "unknown_type"),
        (Message::Text(r#"{"t":"req","id":6,"body":{"op":"send","to":{"user":"bob"}}}"#.into()), "bad_frame"),
        (Message::Text(r#"{"t":"req","id":7,"body":{"op":"send","client_id":"x","to":{"user":"bob"},"text":""}}"#.into()), "invalid"),
        (Message::Text(r#"{"t":"req","id":8,"body":{"op":"sync","conv":"../../etc","after":0,"limit":4000000000}}"#.into()), "not_member"),
        (Message::Text(format!(r#"{{"t":"req","id":9,"body":{{"op":"send","client_id":"y","to":{{"user":"bob"}},"text":"{}"}}}}"#, "a".repeat(20_000)).into()), "too_large"),
        (Message::Text("x".repeat(200_000).into()), "too_large"),
    ];
    for (msg, code) in cases {
        evil.send(msg).await.unwrap();
        let v = next_json(&mut evil).await;
        let got = v["code"].as_str().or_else(|| v["err"]["code"].as_str()).unwrap_or("none").to_string();
        assert_eq!(got, code, "answer {v}");
    }
    // Still usable after all that.
    evil.send(Message::Text(r#"{"t":"ping","nonce":42}"#.into())).await.unwrap();
    assert_eq!(next_json(&mut evil).await["nonce"], 42);
    // A frame over the hard limit closes only that socket.
    let _ = evil.send(Message::Binary(vec![b'{'; 2 * 1024 * 1024].into())).await;
    let closed = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            match evil.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                _ => {}
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(closed, "the relay should drop a client that sends a frame over the hard limit");

    // Others are unaffected.
    assert!(relay.healthz());
    let r = tokio::task::spawn_blocking(move || {
        alice.ok(&["chat", "send", "--to", "bob", "still here"]);
        bob.ok(&["chat", "sync"]);
        texts(&bob.history("alice", true))
    })
    .await
    .unwrap();
    assert_eq!(r, ["still here"]);
}
