//! The state of one client connection, sans IO: frames in with
//! [`Session::handle_frame`], what to do next out of [`Session::poll_output`].
//! The WebSocket driver (`ws.rs`) owns the socket, the clock and the
//! channels; this module owns the rules (hello first, rate limit, error
//! frames instead of disconnects), so they are tested without sockets.

use crate::logic::{self, Ctx};
use onair_proto::*;
use std::collections::VecDeque;

#[derive(Debug)]
pub enum Output {
    /// Send this frame on this connection.
    Frame(ServerFrame),
    /// Deliver this event to every connection of these users.
    Fanout(Vec<String>, Event),
    /// The hello was accepted: register the connection for fan-out.
    SignedIn(String),
    /// Close the connection after sending what is queued.
    Close,
    /// A call signaling request: the driver (`calls::driver`) answers it.
    Call(u64, Request),
    /// A checked chat message for the group-commit writer (`commit.rs`),
    /// which appends it and then answers request `id` and fans it out.
    Append { id: u64, send: logic::PendingSend },
    /// A live-room chat request for the driver to run against the shared
    /// room state (its events must leave in order, under that state's lock).
    Room { id: u64, room: String, req: crate::live::chat::RoomReq },
}

pub struct Session {
    user: Option<String>,
    /// The hash of the token the hello signed in with: revoking it closes us.
    token: Option<[u8; 32]>,
    tokens: f64,
    last_ms: i64,
    out: VecDeque<Output>,
}

impl Session {
    pub fn new(now_ms: i64, burst: f64) -> Self {
        Session { user: None, token: None, tokens: burst, last_ms: now_ms, out: VecDeque::new() }
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub fn token_hash(&self) -> Option<&[u8; 32]> {
        self.token.as_ref()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn error(&mut self, code: ErrorCode, message: impl Into<String>, id: Option<u64>) {
        self.out.push_back(Output::Frame(ServerFrame::Error { code, message: message.into(), id }));
    }

    /// Token bucket: `frames_per_sec` sustained, `frame_burst` at once.
    fn take_token(&mut self, now_ms: i64, ctx: &Ctx) -> bool {
        let dt = (now_ms - self.last_ms).max(0) as f64 / 1000.0;
        self.last_ms = now_ms;
        self.tokens = (self.tokens + dt * ctx.limits.frames_per_sec).min(ctx.limits.frame_burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Handles one inbound frame. Bad input yields an error frame; nothing
    /// here panics on peer input.
    pub fn handle_frame(&mut self, now_ms: i64, bytes: &[u8], ctx: &Ctx) {
        let (frame, id) = decode_client_frame(bytes, ctx.limits.max_frame_bytes);
        if !self.take_token(now_ms, ctx) {
            // Answer the request by id when we can, so the client can back
            // off and resend it rather than wait for an answer that never comes.
            match id {
                Some(id) => self.out.push_back(Output::Frame(ServerFrame::err(id, ErrorCode::RateLimited, "too many frames; slow down"))),
                None => self.error(ErrorCode::RateLimited, "too many frames; slow down", None),
            }
            return;
        }
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                self.error(e.code(), e.to_string(), id);
                return;
            }
        };
        match frame {
            ClientFrame::Ping { nonce } => self.out.push_back(Output::Frame(ServerFrame::Pong { nonce })),
            ClientFrame::Hello { v, token } => self.hello(now_ms, v, &token, ctx),
            ClientFrame::Req { id, body } => {
                let Some(me) = self.user.clone() else {
                    self.error(ErrorCode::Unauthorized, "send hello first", Some(id));
                    return;
                };
                if crate::calls::is_call_op(&body) {
                    self.out.push_back(Output::Call(id, body));
                    return;
                }
                if let Some((room, req)) = crate::live::chat::RoomReq::from_request(&body) {
                    self.out.push_back(Output::Room { id, room, req });
                    return;
                }
                match logic::begin(ctx, &me, now_ms, body) {
                    Ok(logic::Step::Append(send)) => self.out.push_back(Output::Append { id, send }),
                    Ok(logic::Step::Done(h)) => {
                        self.out.push_back(Output::Frame(ServerFrame::ok(id, h.response)));
                        for (users, ev) in h.events {
                            self.out.push_back(Output::Fanout(users, ev));
                        }
                    }
                    Err(e) => {
                        let (code, msg) = e.to_wire();
                        self.out.push_back(Output::Frame(ServerFrame::err(id, code, msg)));
                    }
                }
            }
        }
    }

    fn hello(&mut self, now_ms: i64, v: u32, token: &str, ctx: &Ctx) {
        if self.user.is_some() {
            self.error(ErrorCode::Invalid, "already signed in", None);
            return;
        }
        if v != PROTOCOL_VERSION {
            self.error(ErrorCode::UnsupportedVersion, format!("this relay speaks version {PROTOCOL_VERSION}"), None);
            self.out.push_back(Output::Close);
            return;
        }
        let hash = crate::auth::token_hash(token);
        match ctx.store.token_user(&hash, now_ms) {
            Ok(Some(user)) => {
                self.user = Some(user.clone());
                self.token = Some(hash);
                self.out.push_back(Output::Frame(ServerFrame::Welcome { v: PROTOCOL_VERSION, user: user.clone(), server_time: now_ms }));
                self.out.push_back(Output::SignedIn(user));
            }
            Ok(None) => {
                self.error(ErrorCode::Unauthorized, "invalid or expired token", None);
                self.out.push_back(Output::Close);
            }
            Err(e) => {
                tracing::error!(error = %e, "token lookup failed");
                self.error(ErrorCode::Internal, "internal error", None);
                self.out.push_back(Output::Close);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::store::{SqliteStore, Store};

    fn setup() -> (SqliteStore, Limits, String) {
        let s = SqliteStore::open_in_memory().unwrap();
        for u in ["alice", "bob", "carol"] {
            s.create_user(u, "x", 0).unwrap();
        }
        let (tok, h) = crate::auth::new_token().unwrap();
        s.insert_token(&h, "alice", 0, i64::MAX).unwrap();
        (s, Limits::default(), tok)
    }

    fn drain(s: &mut Session) -> Vec<Output> {
        std::iter::from_fn(|| s.poll_output()).collect()
    }

    #[test]
    fn hello_then_send_fans_out_and_resend_is_idempotent() {
        let (store, limits, tok) = setup();
        let online = |_: &str| false;
        let ctx = Ctx { store: &store, limits: &limits, online: &online };
        let mut s = Session::new(0, limits.frame_burst);
        s.handle_frame(1, br#"{"t":"req","id":1,"body":{"op":"conversations"}}"#, &ctx);
        assert!(matches!(drain(&mut s)[..], [Output::Frame(ServerFrame::Error { code: ErrorCode::Unauthorized, .. })]));
        s.handle_frame(2, ClientFrame::Hello { v: 1, token: tok }.to_json().as_bytes(), &ctx);
        let out = drain(&mut s);
        assert!(matches!(&out[1], Output::SignedIn(u) if u == "alice"));
        let send = br#"{"t":"req","id":2,"body":{"op":"send","client_id":"m1","to":{"user":"bob"},"text":"hi"}}"#;
        s.handle_frame(3, send, &ctx);
        let out = drain(&mut s);
        // A checked message waits for its append (the writer batches it).
        let [Output::Append { id: 2, send: pending }] = <[Output; 1]>::try_from(out).unwrap() else { panic!("expected an append") };
        let h = logic::append_now(&ctx, pending).unwrap();
        assert!(matches!(h.response, Response::Sent { seq: 1, .. }));
        assert!(matches!(&h.events[..], [(users, Event::Message { .. })] if users.len() == 2));
        s.handle_frame(4, send, &ctx);
        let out = drain(&mut s);
        assert_eq!(out.len(), 1, "a resend is acknowledged, not fanned out again");
        assert!(matches!(&out[0], Output::Frame(ServerFrame::Res { ok: Some(Response::Sent { seq: 1, sent_at: 3, .. }), .. })));
    }

    #[test]
    fn garbage_and_unknown_frames_get_error_frames() {
        let (store, limits, _) = setup();
        let online = |_: &str| false;
        let ctx = Ctx { store: &store, limits: &limits, online: &online };
        let mut s = Session::new(0, limits.frame_burst);
        s.handle_frame(0, b"\x00\x01 not json", &ctx);
        s.handle_frame(0, br#"{"t":"warp"}"#, &ctx);
        s.handle_frame(0, &vec![b'x'; limits.max_frame_bytes + 1], &ctx);
        let codes: Vec<ErrorCode> = drain(&mut s)
            .into_iter()
            .map(|o| match o {
                Output::Frame(ServerFrame::Error { code, .. }) => code,
                o => panic!("unexpected {o:?}"),
            })
            .collect();
        assert_eq!(codes, [ErrorCode::BadFrame, ErrorCode::UnknownType, ErrorCode::TooLarge]);
    }

    #[test]
    fn rate_limit_refills_with_time() {
        let (store, mut limits, _) = setup();
        limits.frames_per_sec = 10.0;
        limits.frame_burst = 2.0;
        let online = |_: &str| false;
        let ctx = Ctx { store: &store, limits: &limits, online: &online };
        let mut s = Session::new(0, limits.frame_burst);
        let ping = br#"{"t":"ping","nonce":1}"#;
        for _ in 0..3 {
            s.handle_frame(0, ping, &ctx);
        }
        let out = drain(&mut s);
        assert!(matches!(out[2], Output::Frame(ServerFrame::Error { code: ErrorCode::RateLimited, .. })));
        s.handle_frame(100, ping, &ctx);
        assert!(matches!(drain(&mut s)[..], [Output::Frame(ServerFrame::Pong { nonce: 1 })]));
    }
}

#[cfg(test)]
mod speed {
    use super::*;
    use crate::config::Limits;
    use crate::store::{SqliteStore, Store};

    /// `cargo test --release -p onair-relay session_cost -- --ignored --nocapture`:
    /// the relay's own cost per group message, without sockets.
    #[test]
    #[ignore]
    fn session_cost() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        for i in 0..10 {
            store.create_user(&format!("u{i}"), "x", 0).unwrap();
        }
        let members: Vec<String> = (1..10).map(|i| format!("u{i}")).collect();
        store.create_group("g:0000000000000001", "g", "u0", &members, 0).unwrap();
        let (tok, h) = crate::auth::new_token().unwrap();
        store.insert_token(&h, "u0", 0, i64::MAX).unwrap();
        let limits = Limits { frames_per_sec: 1e9, frame_burst: 1e9, ..Limits::default() };
        let online = |_: &str| false;
        let ctx = Ctx { store: &store, limits: &limits, online: &online };
        let mut s = Session::new(0, limits.frame_burst);
        s.handle_frame(0, ClientFrame::Hello { v: 1, token: tok }.to_json().as_bytes(), &ctx);
        while s.poll_output().is_some() {}
        let n = 20_000;
        // `batch` appends per transaction: 1 is one commit per message (no
        // writer), more is what the group-commit writer does under load.
        for (round, batch) in [1usize, 16, 128].into_iter().enumerate() {
            let t = std::time::Instant::now();
            let mut pending = Vec::new();
            for i in 0..n {
                let f = format!(r#"{{"t":"req","id":{i},"body":{{"op":"send","client_id":"c{round}-{i}","to":{{"conv":"g:0000000000000001"}},"text":"T123456789"}}}}"#);
                s.handle_frame(1, f.as_bytes(), &ctx);
                while let Some(o) = s.poll_output() {
                    match o {
                        Output::Append { id, send } => pending.push((id, send)),
                        Output::Frame(f) => drop(std::hint::black_box(f.to_json())),
                        _ => {}
                    }
                }
                if pending.len() == batch || i + 1 == n {
                    let items: Vec<(&str, &crate::store::NewEntry)> = pending.iter().map(|(_, p)| (p.conv.as_str(), &p.entry)).collect();
                    let results = store.append_batch(&items).unwrap();
                    drop(items);
                    for ((id, p), r) in pending.drain(..).zip(results) {
                        let h = logic::sent(&ctx, p, r.unwrap()).unwrap();
                        std::hint::black_box(ServerFrame::ok(id, h.response).to_json());
                        for (_, ev) in h.events {
                            std::hint::black_box(ServerFrame::Event { ev }.to_json());
                        }
                    }
                }
            }
            let per = t.elapsed().as_secs_f64() / n as f64 * 1e6;
            println!("session + SQLite cost per group message, {batch} per commit: {per:.1} us ({:.0} msgs/s on one core)", 1e6 / per);
        }
    }
}
