//! The bus between relay nodes. One node (the default, `onair relay` with
//! no `--bus`) needs none: the in-process [`crate::hub::Hub`] holds every
//! connection, and every method here is a no-op or answers "nobody else".
//! With `--bus redis://…` several nodes share one store and one Redis, and
//! what one node does reaches the sockets another node holds:
//!
//! | what | how (see `redis.rs`) |
//! |---|---|
//! | chat events to a user's sockets elsewhere | `PUBLISH onair:u:USER`; a node subscribes to the channels of the users it holds (confirmed before their `welcome`) |
//! | presence | `SADD onair:users:NODE`, heartbeats (`ZADD onair:nodes`, `PUBLISH onair:all`); a node silent for [`NODE_TTL_MS`] is dead and its users go offline |
//! | token revocation | a close note on the user's channel: every node closes that token's sockets |
//! | call signaling | the node that holds a call (`onair:call:ID`) routes it; other nodes forward requests to it and it answers through `onair:n:NODE` |
//! | log-in rate limits | shared counters, `INCR onair:rl:KEY:MINUTE` |
//! | live-room chat, viewer counts | one node holds each room's chat (`onair:room:ID`), so it has one order; the others forward requests to it ([`rooms`]) |
//!
//! Durable state never lives only here: messages are in the store before
//! their events are published. What crosses nodes while Redis is gone waits
//! in a bounded queue; when the link comes back each node tells its own
//! clients to resync from the store (a `conv_changed`), so whatever was
//! missed arrives once (clients keep entries by `seq`).

pub mod mirror;
pub mod redis;
pub mod rooms;

use crate::signout::SignedOut;
use crate::state::AppState;
use axum::extract::ws::Utf8Bytes;
use onair_proto::Event;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

/// How often a node says it is alive, and how long its silence means dead.
pub const HEARTBEAT_MS: u64 = 1000;
pub const NODE_TTL_MS: i64 = 4000;

/// The relay's bus: local only until [`Bus::attach`] gives it Redis.
#[derive(Default)]
pub struct Bus {
    /// This node's name (`--node-id`, else random on first use).
    node: OnceLock<String>,
    redis: OnceLock<Arc<redis::RedisBus>>,
    /// Where other nodes reach this one over HTTP (`--node-url`): edges
    /// pull a live from its origin there.
    url: OnceLock<String>,
    /// Rooms whose publisher is on this node (we are their origin).
    origins: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// A note from one node to others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Note {
    /// A server frame (JSON) for every socket of the channel's user.
    Frame { text: String },
    /// Close the channel's user's sockets signed in with `token` (hex of
    /// its hash), or all but `except`'s when `token` is absent.
    Close { token: Option<String>, except: Option<String>, why: SignedOut },
    /// A server frame for one connection of this node.
    ToConn { user: String, conn: u64, text: String },
    /// A call request from connection `conn` of the sending node, for the
    /// node that holds the call.
    CallReq { conn: u64, user: String, id: u64, body: onair_proto::Request },
    /// Connection `conn` of the sending node closed (it took part in a
    /// call or a room's chat held here).
    ConnClosed { conn: u64 },
    /// A live-room chat request from connection `conn` of the sending
    /// node, for the node holding the room's chat; answered with `ToConn`.
    RoomReq { conn: u64, user: String, id: u64, room: String, req: crate::live::chat::RoomReq },
    /// Heartbeat.
    Alive,
    /// The sending node is shutting down (after its sockets closed).
    Bye,
    /// The sending node got its first connection of `user`, or lost its last.
    On { user: String },
    Off { user: String },
}

/// A note and who sent it, as it travels.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub from: String,
    /// Wall-clock ms when sent: the receiver's bus lag.
    pub at: i64,
    pub note: Note,
}

fn random_node_id() -> String {
    format!("n{}", crate::auth::random_hex(4).unwrap_or_else(|_| format!("{:08x}", std::process::id())))
}

/// `--node-id`: 1-64 of letters, digits, `_ . -` (it names Redis keys).
pub fn valid_node_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

impl Bus {
    /// Names this node; false if it already had a name.
    pub fn set_node(&self, id: &str) -> bool {
        self.node.set(id.to_string()).is_ok()
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        self.node.get_or_init(random_node_id)
    }

    pub(crate) fn redis(&self) -> Option<&Arc<redis::RedisBus>> {
        self.redis.get()
    }

    /// Whether other nodes may exist (a bus is attached).
    pub fn shared(&self) -> bool {
        self.redis.get().is_some()
    }

    pub(crate) fn attach(&self, r: Arc<redis::RedisBus>) {
        let _ = self.redis.set(r);
    }

    /// Whether `user` has a connection on another node.
    pub fn online_elsewhere(&self, user: &str) -> bool {
        self.redis.get().is_some_and(|r| r.online_elsewhere(user))
    }

    /// Whether `node` (another node) is alive.
    pub fn alive(&self, node: &str) -> bool {
        self.redis.get().is_some_and(|r| r.alive(node))
    }

    /// Sends an event to `users`' sockets on other nodes (the local hub
    /// has already had it).
    pub fn forward(&self, users: &[String], ev: &Event) {
        if let Some(r) = self.redis.get() {
            let text = onair_proto::ServerFrame::Event { ev: ev.clone() }.to_json();
            r.forward(users, text);
        }
    }

    /// Says where other nodes reach this one over HTTP (set once).
    pub fn set_url(&self, url: &str) {
        let _ = self.url.set(url.trim_end_matches('/').to_string());
    }

    pub fn url(&self) -> Option<&str> {
        self.url.get().map(String::as_str)
    }

    fn origins(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.origins.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A publisher went on air in `room` on this node (`on`), or ended:
    /// other nodes' viewers pull it from here (`live::edge`).
    pub fn originate(&self, room: &str, on: bool) {
        if on {
            self.origins().insert(room.to_string());
        } else {
            self.origins().remove(room);
        }
        if let (Some(r), Some(url)) = (self.redis.get(), self.url()) {
            r.originate(room, on.then_some(url));
        }
    }

    /// The rooms this node is the origin of.
    pub fn local_origins(&self) -> Vec<String> {
        self.origins().iter().cloned().collect()
    }

    /// The other node that is `room`'s origin, and its URL, as the bus
    /// last said (None without a bus, or when nobody else has it on air).
    pub fn origin_of(&self, room: &str) -> Option<(String, String)> {
        self.redis.get()?.origin_of(room).filter(|(n, _)| n != self.node() && self.alive(n))
    }

    /// Users in `room`'s chat as its home node last said (0 if none did).
    pub fn chatters(&self, room: &str) -> usize {
        self.redis.get().map_or(0, |r| r.chatters(room))
    }

    /// Sends a frame to connection `conn` of `node`.
    pub fn to_conn(&self, node: &str, user: &str, conn: u64, text: Utf8Bytes) {
        if let Some(r) = self.redis.get() {
            r.send(node, Note::ToConn { user: user.into(), conn, text: text.as_str().into() });
        }
    }
}

/// A socket of `user` signed in here; `first` if it is their first on this node.
pub async fn connected(state: &AppState, user: &str, conn: u64, first: bool) {
    if first {
        if !state.bus.online_elsewhere(user) {
            announce(state, user, true).await;
        }
        if let Some(r) = state.bus.redis() {
            r.joined(user).await;
        }
    }
    if let Some(r) = state.bus.redis() {
        r.device(user, conn, true);
    }
}

/// A signed-in socket closed; `last` if it was the user's last on this node.
pub async fn disconnected(state: &AppState, user: &str, conn: u64, last: bool) {
    if let Some(r) = state.bus.redis() {
        r.device(user, conn, false);
    }
    if last {
        if let Some(r) = state.bus.redis() {
            r.left(user);
        }
        if !state.bus.online_elsewhere(user) {
            announce(state, user, false).await;
        }
    }
}

/// `user` came online or went offline (in the whole relay, as this node
/// sees it): tells the user's friends whose sockets are on this node. Each
/// node tells its own, so nobody hears it twice.
pub(crate) async fn announce(state: &AppState, user: &str, online: bool) {
    let now = crate::state::now_ms();
    let name = user.to_string();
    // Store work goes through the seam (never on a tokio worker).
    let friends = state
        .store_call(move |s| {
            if !online {
                if let Err(e) = s.set_last_seen(&name, now) {
                    tracing::warn!(error = %e, "could not record last seen");
                }
            }
            s.friends_of(&name)
        })
        .await;
    let friends = match friends {
        Ok(f) => f.into_iter().filter(|(_, s, _)| *s == onair_proto::FriendState::Friends).map(|(u, _, _)| u).collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!(error = %e, "presence: friends lookup failed");
            return;
        }
    };
    crate::ws::publish_here(state, &friends, Event::Presence { user: user.into(), online, last_seen: if online { None } else { Some(now) } });
}

impl Bus {
    /// The bus's lines for `/metrics` (none without a bus).
    pub fn metrics(&self, m: &crate::metrics::Metrics) -> String {
        use std::fmt::Write;
        use std::sync::atomic::Ordering::Relaxed;
        let Some(r) = self.redis.get() else { return String::new() };
        let s = &r.stats;
        let mut out = String::new();
        let mut line = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP onair_relay_{name} {help}\n# TYPE onair_relay_{name} {kind}\nonair_relay_{name}{{node=\"{}\"}} {v}", self.node());
        };
        line("bus_up", "gauge", "1 while this node's link to the bus (Redis) is up.", s.up.load(Relaxed) as u64);
        line("bus_notes_sent_total", "counter", "Notes and commands this node sent over the bus.", s.sent.load(Relaxed));
        line("bus_notes_received_total", "counter", "Notes from other nodes.", s.received.load(Relaxed));
        line("bus_notes_dropped_total", "counter", "Notes dropped because the queue was full while the bus was down.", s.dropped.load(Relaxed));
        line("bus_reconnects_total", "counter", "Times the link to the bus was lost and made again.", s.reconnects.load(Relaxed));
        line("bus_lag_ms", "gauge", "Age of the last note from another node when it arrived, in milliseconds.", s.lag_ms.load(Relaxed));
        line("cross_node_frames_total", "counter", "Frames other nodes sent to this node's connections.", m.bus_in.load(Relaxed));
        out
    }
}

/// A log-in refused by the limits shared between nodes.
#[derive(Debug)]
pub struct Limited;

impl Bus {
    /// The log-in limits of `auth::LoginLimiter`, counted on every node
    /// together (per minute, in Redis): `Ok(delay_ms)` or refused. Without
    /// a bus, or while Redis is away, each node's own limiter rules alone.
    pub async fn login_check(&self, ip: &str, user: &str, device: Option<&[u8; 32]>, per_minute: u32) -> Result<u64, Limited> {
        let Some(r) = self.redis.get() else { return Ok(0) };
        if !onair_proto::valid_username(user) {
            return Ok(0);
        }
        let keys: Vec<(String, u32)> = match device {
            Some(h) => vec![(format!("t|{}", crate::auth::hex(&h[..12])), per_minute)],
            None => {
                let ip = crate::auth::addr_key(ip);
                vec![(format!("a|{ip}"), per_minute.saturating_mul(10)), (format!("u|{ip}|{user}"), per_minute)]
            }
        };
        let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        let Some(counts) = r.hits(&names, true).await else { return Ok(0) };
        if counts.iter().zip(&keys).any(|(c, (_, limit))| *c > u64::from(*limit)) {
            return Err(Limited);
        }
        if device.is_some() {
            return Ok(0);
        }
        let failures = r.hits(&[format!("f|{user}")], false).await.and_then(|v| v.first().copied()).unwrap_or(0);
        Ok(crate::auth::slow_down_ms(failures.min(u64::from(u32::MAX)) as u32, per_minute))
    }

    /// A wrong password for `user`, counted for every node.
    pub fn login_failed(&self, user: &str) {
        if let Some(r) = self.redis.get() {
            if onair_proto::valid_username(user) {
                r.count_failure(user);
            }
        }
    }
}
