//! A raw WebSocket client for the call signaling tests: speaks the relay
//! protocol directly (hello, `req`/`res`, events) so the tests check the
//! wire format itself, not a client library's reading of it.
#![allow(dead_code)]

pub mod chromium;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const SDP: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n";
pub const CANDIDATE: &str = "candidate:842163049 1 udp 1677729535 127.0.0.1 50000 typ host generation 0";

pub struct Ws {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub user: String,
    next_id: u64,
    /// Events (and anything else) that arrived while waiting for a `res`.
    pending: VecDeque<Value>,
}

impl Ws {
    pub async fn connect(addr: &str, user: &str, token: &str) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/ws")).await.expect("websocket connects");
        let mut w = Ws { ws, user: user.into(), next_id: 1, pending: VecDeque::new() };
        w.send(json!({"t":"hello","v":1,"token":token})).await;
        let v = w.recv().await;
        assert_eq!(v["t"], "welcome", "{v}");
        w
    }

    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::Text(v.to_string().into())).await.expect("send");
    }

    pub async fn send_raw(&mut self, text: String) {
        self.ws.send(Message::Text(text.into())).await.expect("send");
    }

    /// The next frame off the socket (30 s deadline: loaded machines).
    async fn recv(&mut self) -> Value {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(30), self.ws.next()).await.unwrap_or_else(|_| panic!("{}: no frame within 30 s", self.user));
            match m {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).expect("JSON frame"),
                Some(Ok(Message::Close(_))) | None => panic!("{}: socket closed", self.user),
                Some(Err(e)) => panic!("{}: socket error {e}", self.user),
                _ => {}
            }
        }
    }

    /// Sends a request and returns its `res` (`ok` or `err` inside).
    pub async fn req(&mut self, body: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"t":"req","id":id,"body":body})).await;
        loop {
            let v = self.recv().await;
            if v["t"] == "res" && v["id"] == id {
                return v;
            }
            // Frame-level errors carry the id when the relay could read it
            // (not for frames over the size limit).
            if v["t"] == "error" && (v["id"] == id || v["id"].is_null()) {
                return json!({"t":"res","id":id,"err":{"code":v["code"],"message":v["message"]}});
            }
            self.pending.push_back(v);
        }
    }

    /// Asserts the request succeeded; returns `ok`.
    pub async fn ok(&mut self, body: Value) -> Value {
        let r = self.req(body.clone()).await;
        assert!(r.get("ok").is_some(), "{}: {body} refused: {r}", self.user);
        r["ok"].clone()
    }

    /// The error code a request is refused with.
    pub async fn refused(&mut self, body: Value) -> String {
        let r = self.req(body.clone()).await;
        r["err"]["code"].as_str().unwrap_or_else(|| panic!("{}: {body} was not refused: {r}", self.user)).to_string()
    }

    /// The next event of kind `ev` (events of other kinds are kept).
    pub async fn event(&mut self, ev: &str) -> Value {
        self.event_where(ev, |_| true).await
    }

    /// The `call_ended` event of call `id` (each participant gets one,
    /// the one who ended the call too).
    pub async fn ended(&mut self, id: &str) -> Value {
        self.event_where("call_ended", |v| v["call_id"] == id).await
    }

    pub async fn event_where(&mut self, ev: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let hit = |v: &Value| v["t"] == "event" && v["ev"]["ev"] == ev && pred(&v["ev"]);
        if let Some(i) = self.pending.iter().position(hit) {
            return self.pending.remove(i).unwrap()["ev"].clone();
        }
        loop {
            let v = self.recv().await;
            if hit(&v) {
                return v["ev"].clone();
            }
            self.pending.push_back(v);
        }
    }

    /// Every call event received so far, after a ping round trip (so
    /// anything the relay sent before answering the ping is included).
    pub async fn call_events_now(&mut self) -> Vec<Value> {
        let nonce = 777_000 + self.next_id;
        self.next_id += 1;
        self.send(json!({"t":"ping","nonce":nonce})).await;
        loop {
            let v = self.recv().await;
            if v["t"] == "pong" && v["nonce"] == nonce {
                break;
            }
            self.pending.push_back(v);
        }
        let all: Vec<Value> = self.pending.drain(..).collect();
        all.into_iter().filter(|v| v["t"] == "event" && v["ev"]["ev"].as_str().is_some_and(|e| e.starts_with("call_"))).map(|v| v["ev"].clone()).collect()
    }

    /// The `res` of request `id` (sent with [`Ws::send`]); other frames are kept.
    pub async fn res(&mut self, id: u64) -> Value {
        if let Some(i) = self.pending.iter().position(|v| v["t"] == "res" && v["id"] == id) {
            return self.pending.remove(i).unwrap();
        }
        loop {
            let v = self.recv().await;
            if v["t"] == "res" && v["id"] == id {
                return v;
            }
            self.pending.push_back(v);
        }
    }

    /// Takes every event of kind `ev` received so far, after a ping round
    /// trip (anything the relay queued before the pong is included).
    pub async fn drain_events(&mut self, ev: &str) -> Vec<Value> {
        let nonce = 888_000 + self.next_id;
        self.next_id += 1;
        self.send(json!({"t":"ping","nonce":nonce})).await;
        loop {
            let v = self.recv().await;
            if v["t"] == "pong" && v["nonce"] == nonce {
                break;
            }
            self.pending.push_back(v);
        }
        let (hit, keep): (Vec<Value>, Vec<Value>) = self.pending.drain(..).partition(|v| v["t"] == "event" && v["ev"]["ev"] == ev);
        self.pending = keep.into();
        hit.into_iter().map(|v| v["ev"].clone()).collect()
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// alice invites bob; bob accepts. Returns the call id.
pub async fn accepted_call(a: &mut Ws, b: &mut Ws) -> String {
    let id = a.ok(json!({"op":"call_invite","to":b.user,"media":["audio","video"]})).await["call_id"].as_str().unwrap().to_string();
    assert_eq!(a.event("call_ringing").await["call_id"], id);
    let inc = b.event("call_incoming").await;
    assert_eq!((inc["call_id"].as_str(), inc["from"].as_str()), (Some(id.as_str()), Some(a.user.as_str())));
    b.ok(json!({"op":"call_accept","call_id":id})).await;
    assert_eq!(a.event("call_accepted").await["call_id"], id);
    id
}

/// Minimal HTTP/1.1 GET/POST on 127.0.0.1 for the JSON endpoints: (status, body).
pub fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let body = body.unwrap_or("");
    write!(s, "{method} {path} HTTP/1.1\r\nhost: {addr}\r\n{auth}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A port free on 127.0.0.1 for both UDP and TCP (coturn listens on both).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = u.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

/// A child process (and its process group) killed on drop, with a scratch
/// directory removed after it.
pub struct Proc(pub std::process::Child, pub Option<tempfile::TempDir>);

impl Drop for Proc {
    fn drop(&mut self) {
        // Chromium runs helpers in the same group: end them all, by our pid.
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// coturn on 127.0.0.1 with the REST-API shared secret (Debian package coturn).
pub fn coturn(secret: &str) -> (Proc, u16) {
    use std::os::unix::process::CommandExt;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new("turnserver")
        .args(["-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", &format!("--listening-port={port}"), "--use-auth-secret", &format!("--static-auth-secret={secret}"), "--realm=onair", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--log-file=stdout", "--simple-log"])
        .arg(format!("--pidfile={}", dir.path().join("turnserver.pid").display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("run turnserver (Debian package coturn)");
    (Proc(child, Some(dir)), port)
}
