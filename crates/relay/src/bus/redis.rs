//! The bus over Redis (7, or Valkey): one task owns the link (a command
//! connection and a pub/sub connection), its reconnects, the heartbeat and
//! the queue of notes to send; other tasks hand it work through bounded
//! queues and read what it knows (the [`Mirror`]) under a short lock.
//!
//! ```text
//! run: loop { connect; subscribe onair:all, onair:n:NODE, onair:u:USER for our users;
//!             rewrite our presence set and devices; load the others' (snapshot);
//!             select { pub/sub message -> dispatch (hub, sockets, calls, mirror)
//!                    | queued notes -> one pipeline of PUBLISH / SADD / ...
//!                    | a user came or went -> SUBSCRIBE / UNSUBSCRIBE their channel
//!                    | every second -> heartbeat, expire silent nodes }
//!             on error: keep what was not sent, back off (100 ms .. 2 s), again }
//! ```
//!
//! Redis keys (all under `onair:`): `nodes` (zset: node -> last heartbeat,
//! ms), `users:NODE` (set, expires with the node), `dev:USER` (hash:
//! `NODE/CONN` of each signed-in socket, for call invites), `call:ID` (the
//! node holding a call), `rl:KEY:MINUTE` (log-in counters).

use super::mirror::Mirror;
use super::{Envelope, Note, HEARTBEAT_MS, NODE_TTL_MS};
use crate::metrics::Metrics;
use crate::state::{now_ms, AppState};
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Notes waiting while Redis is away; past this they are dropped and the
/// clients resync from the store when the link is back.
const QUEUE: usize = 100_000;
/// Most commands in one pipeline.
const BATCH: usize = 512;
/// How long a request/response command (owner of a call, devices, log-in
/// counters) may take before the caller goes on without it.
const ANSWER: Duration = Duration::from_secs(1);

/// One thing to send, in order.
enum Out {
    Publish(String, String),
    Cmd(redis::Cmd),
}

/// A user whose channel subscription should match the hub; the sender
/// hears back once it does.
type SubReq = (String, Option<oneshot::Sender<()>>);

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("--bus {0}: not a redis:// or rediss:// URL ({1})")]
    Url(String, String),
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct BusStats {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    pub dropped: AtomicU64,
    pub reconnects: AtomicU64,
    /// The last note's age on arrival (its sender's clock to ours), ms.
    pub lag_ms: AtomicU64,
    pub up: AtomicBool,
}

pub struct RedisBus {
    node: String,
    client: redis::Client,
    /// The URL without its password, for logs.
    shown: String,
    out: mpsc::Sender<Out>,
    subs: mpsc::UnboundedSender<SubReq>,
    queues: Mutex<Option<(mpsc::Receiver<Out>, mpsc::UnboundedReceiver<SubReq>)>>,
    /// The command connection while the link is up.
    conn: watch::Sender<Option<MultiplexedConnection>>,
    mirror: Mutex<Mirror>,
    t0: tokio::time::Instant,
    /// Our connections that took part in calls held by other nodes: told
    /// when the connection closes.
    links: Mutex<HashMap<u64, HashSet<String>>>,
    /// Other nodes' connections in room chats held here: (node, conn) ->
    /// (stand-in id for `RoomChats`, user).
    standins: Mutex<HashMap<(String, u64), (u64, String)>>,
    next_standin: AtomicU64,
    /// Rooms whose chat this node holds.
    hosted: Mutex<HashSet<String>>,
    /// Chatters per room, as the rooms' homes publish them (`onair:chatters`).
    chatters: Mutex<HashMap<String, usize>>,
    /// Rooms on air on other nodes: room -> (origin node, its URL), as the
    /// origins publish them (`onair:origins`).
    origins: Mutex<HashMap<String, (String, String)>>,
    pub stats: BusStats,
}

/// How long a room's home claim lasts unless refreshed (every heartbeat
/// while the room has chatters).
const ROOM_CLAIM_SECS: u64 = 60;

/// An `onair:origins` entry: `NODE|MS|URL` (node ids have no `|`).
fn origin_value(node: &str, at: i64, url: &str) -> String {
    format!("{node}|{at}|{url}")
}

/// `redis://user:secret@host` -> `redis://user:…@host`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let cred = &url[s + 3..at];
            let user = cred.split(':').next().unwrap_or("");
            format!("{}{}:…{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

fn user_channel(user: &str) -> String {
    format!("onair:u:{user}")
}

fn node_channel(node: &str) -> String {
    format!("onair:n:{node}")
}

const ALL: &str = "onair:all";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update under these locks is a single insert/remove/assignment:
    // a panic elsewhere cannot leave them half done.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RedisBus {
    pub fn new(url: &str, node: &str) -> Result<Arc<Self>, BusError> {
        let shown = redact(url);
        let client = redis::Client::open(url).map_err(|e| BusError::Url(shown.clone(), e.to_string()))?;
        let (out, out_rx) = mpsc::channel(QUEUE);
        let (subs, subs_rx) = mpsc::unbounded_channel();
        Ok(Arc::new(RedisBus {
            node: node.to_string(),
            client,
            shown,
            out,
            subs,
            queues: Mutex::new(Some((out_rx, subs_rx))),
            conn: watch::channel(None).0,
            mirror: Mutex::new(Mirror::new(NODE_TTL_MS)),
            t0: tokio::time::Instant::now(),
            links: Mutex::new(HashMap::new()),
            standins: Mutex::new(HashMap::new()),
            next_standin: AtomicU64::new(0),
            hosted: Mutex::new(HashSet::new()),
            chatters: Mutex::new(HashMap::new()),
            origins: Mutex::new(HashMap::new()),
            stats: BusStats::default(),
        }))
    }

    fn now(&self) -> i64 {
        self.t0.elapsed().as_millis() as i64
    }

    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    pub fn online_elsewhere(&self, user: &str) -> bool {
        lock(&self.mirror).online(user)
    }

    pub fn alive(&self, node: &str) -> bool {
        node == self.node || lock(&self.mirror).alive(node, self.now())
    }

    fn queue(&self, o: Out) {
        if self.out.try_send(o).is_err() {
            self.stats.dropped.fetch_add(1, Relaxed);
        }
    }

    fn envelope(&self, note: Note) -> String {
        serde_json::to_string(&Envelope { from: self.node.clone(), at: now_ms(), note }).expect("notes always serialize")
    }

    /// Sends `note` to one node.
    pub fn send(&self, node: &str, note: Note) {
        let text = self.envelope(note);
        self.queue(Out::Publish(node_channel(node), text));
    }

    /// An event frame for `users`' sockets on the other nodes.
    pub fn forward(&self, users: &[String], text: String) {
        let e = self.envelope(Note::Frame { text });
        for u in users {
            self.queue(Out::Publish(user_channel(u), e.clone()));
        }
    }

    /// Closes `user`'s sockets on the other nodes (see `signout.rs`).
    pub fn revoke(&self, user: &str, note: Note) {
        let e = self.envelope(note);
        self.queue(Out::Publish(user_channel(user), e));
    }

    /// `user`'s first connection here: subscribe to their channel before
    /// their `welcome`, so no event published after it is missed (bounded:
    /// with Redis away the client is served and resyncs later).
    pub async fn joined(&self, user: &str) {
        let (tx, rx) = oneshot::channel();
        if self.subs.send((user.to_string(), Some(tx))).is_ok() && self.stats.up.load(Relaxed) {
            let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
        }
        let mut c = redis::cmd("SADD");
        c.arg(format!("onair:users:{}", self.node)).arg(user);
        self.queue(Out::Cmd(c));
        let e = self.envelope(Note::On { user: user.into() });
        self.queue(Out::Publish(ALL.into(), e));
    }

    /// `user`'s last connection here closed.
    pub fn left(&self, user: &str) {
        let _ = self.subs.send((user.to_string(), None));
        let mut c = redis::cmd("SREM");
        c.arg(format!("onair:users:{}", self.node)).arg(user);
        self.queue(Out::Cmd(c));
        let e = self.envelope(Note::Off { user: user.into() });
        self.queue(Out::Publish(ALL.into(), e));
    }

    /// A socket of `user` signed in (`on`) or closed: the devices a call
    /// invite rings, on any node.
    pub fn device(&self, user: &str, conn: u64, on: bool) {
        let mut c = redis::cmd(if on { "HSET" } else { "HDEL" });
        c.arg(format!("onair:dev:{user}")).arg(format!("{}/{conn}", self.node));
        if on {
            c.arg(1);
        }
        self.queue(Out::Cmd(c));
        if !on {
            let nodes = lock(&self.links).remove(&conn).unwrap_or_default();
            for n in nodes {
                self.send(&n, Note::ConnClosed { conn });
            }
        }
    }

    /// Our connection `conn` has business with a call on `node`.
    pub fn link(&self, conn: u64, node: &str) {
        lock(&self.links).entry(conn).or_default().insert(node.to_string());
    }

    fn conn(&self) -> Option<MultiplexedConnection> {
        self.conn.borrow().clone()
    }

    /// `user`'s signed-in sockets on other live nodes.
    pub async fn devices(&self, user: &str) -> Vec<(String, u64)> {
        let Some(mut c) = self.conn() else { return Vec::new() };
        let key = format!("onair:dev:{user}");
        let fields: Vec<String> = match tokio::time::timeout(ANSWER, redis::cmd("HKEYS").arg(&key).query_async(&mut c)).await {
            Ok(Ok(f)) => f,
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        let mut stale = Vec::new();
        for f in fields {
            let Some((node, conn)) = f.rsplit_once('/') else { continue };
            let Ok(conn) = conn.parse::<u64>() else { continue };
            if node == self.node {
                continue;
            }
            if self.alive(node) {
                out.push((node.to_string(), conn));
            } else {
                stale.push(f.clone());
            }
        }
        if !stale.is_empty() {
            let mut c = redis::cmd("HDEL");
            c.arg(&key).arg(stale);
            self.queue(Out::Cmd(c));
        }
        out
    }

    /// The node holding call `id`, if any node claimed it.
    pub async fn call_owner(&self, id: &str) -> Option<String> {
        let mut c = self.conn()?;
        match tokio::time::timeout(ANSWER, redis::cmd("GET").arg(format!("onair:call:{id}")).query_async::<Option<String>>(&mut c)).await {
            Ok(Ok(v)) => v,
            _ => None,
        }
    }

    /// Claims call `id` for this node (`hold`) or lets it go.
    pub fn hold_call(&self, id: &str, hold: bool) {
        let mut c = redis::cmd(if hold { "SET" } else { "DEL" });
        c.arg(format!("onair:call:{id}"));
        if hold {
            // A day bounds what a node that died mid-call leaves behind.
            c.arg(&self.node).arg("EX").arg(86_400);
        }
        self.queue(Out::Cmd(c));
    }

    /// Counts one hit on each of `keys` in this minute's shared window;
    /// their counts (None when Redis is away: the local limiter alone rules).
    pub async fn hits(&self, keys: &[String], count: bool) -> Option<Vec<u64>> {
        let mut c = self.conn()?;
        let minute = now_ms() / 60_000;
        let mut p = redis::pipe();
        for k in keys {
            let key = format!("onair:rl:{k}:{minute}");
            if count {
                p.cmd("INCR").arg(&key);
                p.cmd("EXPIRE").arg(&key).arg(120).ignore();
            } else {
                p.cmd("GET").arg(&key);
            }
        }
        let r: Vec<Option<u64>> = tokio::time::timeout(ANSWER, p.query_async(&mut c)).await.ok()?.ok()?;
        Some(r.into_iter().map(|v| v.unwrap_or(0)).collect())
    }

    /// The node holding `room`'s chat, None if it is (now) this one.
    pub async fn room_home(&self, room: &str) -> Option<String> {
        if lock(&self.hosted).contains(room) {
            return None;
        }
        // Redis away: the room is served here meanwhile.
        let mut c = self.conn()?;
        let key = format!("onair:room:{room}");
        let mut claim = redis::cmd("SET");
        claim.arg(&key).arg(&self.node).arg("NX").arg("GET").arg("EX").arg(ROOM_CLAIM_SECS);
        let home = match tokio::time::timeout(ANSWER, claim.query_async::<Option<String>>(&mut c)).await {
            Ok(Ok(h)) => h,
            _ => None,
        };
        match home {
            Some(n) if n != self.node && self.alive(&n) => return Some(n),
            Some(n) if n != self.node => {
                // Its home died: take the room over.
                tracing::info!(room, from = %n, "taking over a room's chat from a node that stopped answering");
                let mut s = redis::cmd("SET");
                s.arg(&key).arg(&self.node).arg("EX").arg(ROOM_CLAIM_SECS);
                self.queue(Out::Cmd(s));
            }
            _ => {}
        }
        lock(&self.hosted).insert(room.to_string());
        None
    }

    /// The stand-in connection id for `(node, conn)` in this node's room chats.
    fn standin(&self, node: &str, conn: u64, user: &str) -> u64 {
        let mut m = lock(&self.standins);
        m.entry((node.to_string(), conn)).or_insert_with(|| ((1 << 63) | self.next_standin.fetch_add(1, Relaxed), user.to_string())).0
    }

    /// Takes `node`'s connections (all, or just `conn`) out of our room chats.
    fn rooms_gone(&self, state: &AppState, node: &str, conn: Option<u64>) {
        let gone: Vec<(u64, String)> = {
            let mut m = lock(&self.standins);
            let keys: Vec<(String, u64)> = m.keys().filter(|(n, c)| n == node && conn.is_none_or(|x| x == *c)).cloned().collect();
            keys.into_iter().filter_map(|k| m.remove(&k)).collect()
        };
        for (sid, user) in gone {
            state.rooms.gone(&user, sid, &mut |users, ev| crate::ws::publish(state, &users, ev));
        }
    }

    pub fn chatters(&self, room: &str) -> usize {
        lock(&self.chatters).get(room).copied().unwrap_or(0)
    }

    /// Keeps the claims of rooms that still have chatters and publishes
    /// their counts (`count/ms`, so a dead home's counts go stale); forgets
    /// the rest.
    fn room_claims(&self, state: &AppState, p: &mut redis::Pipeline) {
        let mut hosted = lock(&self.hosted);
        let now = now_ms();
        hosted.retain(|room| {
            let n = state.rooms.chatters(room);
            if n == 0 {
                p.cmd("HDEL").arg("onair:chatters").arg(room).ignore();
            }
            n > 0
        });
        for room in hosted.iter() {
            p.cmd("EXPIRE").arg(format!("onair:room:{room}")).arg(ROOM_CLAIM_SECS).ignore();
            p.cmd("HSET").arg("onair:chatters").arg(room).arg(format!("{}/{now}", state.rooms.chatters(room))).ignore();
        }
    }

    /// Reads every room's chatter count (fresh ones only).
    async fn read_chatters(&self, cmd: &mut MultiplexedConnection) -> redis::RedisResult<()> {
        let all: HashMap<String, String> = redis::cmd("HGETALL").arg("onair:chatters").query_async(cmd).await?;
        let fresh = now_ms() - NODE_TTL_MS;
        let counts = all
            .into_iter()
            .filter_map(|(room, v)| {
                let (n, at) = v.split_once('/')?;
                (at.parse::<i64>().ok()? >= fresh).then_some((room, n.parse().ok()?))
            })
            .collect();
        *lock(&self.chatters) = counts;
        Ok(())
    }

    /// Publishes that `room`'s origin is this node at `url` (Some), or no
    /// longer (None). A newer origin elsewhere that this removal hides
    /// writes itself again on its next heartbeat.
    pub fn originate(&self, room: &str, url: Option<&str>) {
        let c = match url {
            Some(u) => {
                let mut c = redis::cmd("HSET");
                c.arg("onair:origins").arg(room).arg(origin_value(&self.node, now_ms(), u));
                c
            }
            None => {
                let mut c = redis::cmd("HDEL");
                c.arg("onair:origins").arg(room);
                c
            }
        };
        self.queue(Out::Cmd(c));
    }

    pub fn origin_of(&self, room: &str) -> Option<(String, String)> {
        lock(&self.origins).get(room).cloned()
    }

    /// Refreshes the rooms this node originates (their entries go stale
    /// when it dies) and reads everyone's.
    async fn sync_origins(&self, state: &AppState, cmd: &mut MultiplexedConnection) -> redis::RedisResult<()> {
        let mine = state.bus.local_origins();
        if let (false, Some(url)) = (mine.is_empty(), state.bus.url()) {
            let mut c = redis::cmd("HSET");
            c.arg("onair:origins");
            let now = now_ms();
            for room in &mine {
                c.arg(room).arg(origin_value(&self.node, now, url));
            }
            c.query_async::<()>(cmd).await?;
        }
        let all: HashMap<String, String> = redis::cmd("HGETALL").arg("onair:origins").query_async(cmd).await?;
        let fresh = now_ms() - NODE_TTL_MS;
        let live = all
            .into_iter()
            .filter_map(|(room, v)| {
                let mut it = v.splitn(3, '|');
                let (node, at, url) = (it.next()?, it.next()?.parse::<i64>().ok()?, it.next()?);
                (at >= fresh).then(|| (room, (node.to_string(), url.to_string())))
            })
            .collect();
        *lock(&self.origins) = live;
        Ok(())
    }

    /// Counts a wrong password for `user` in this minute's shared window.
    pub fn count_failure(&self, user: &str) {
        let key = format!("onair:rl:f|{user}:{}", now_ms() / 60_000);
        let mut c = redis::cmd("INCR");
        c.arg(&key);
        self.queue(Out::Cmd(c));
        let mut c = redis::cmd("EXPIRE");
        c.arg(&key).arg(120);
        self.queue(Out::Cmd(c));
    }

    /// Runs the link until the relay shuts down.
    pub async fn run(self: Arc<Self>, state: Arc<AppState>) {
        let Some((mut out_rx, mut subs_rx)) = lock(&self.queues).take() else { return };
        let mut shutdown = state.shutdown.subscribe();
        let mut pending: Vec<Out> = Vec::new();
        let mut backoff = Duration::from_millis(100);
        let mut first = true;
        loop {
            let started = tokio::time::Instant::now();
            // On shutdown the session goes on until our sockets are closed
            // and their `off` notes sent, then says goodbye and ends.
            let r = self.session(&state, &mut out_rx, &mut subs_rx, &mut pending, first).await;
            self.stats.up.store(false, Relaxed);
            if *shutdown.borrow() {
                return;
            }
            self.conn.send_replace(None);
            if let Err(e) = r {
                tracing::warn!(bus = %self.shown, error = %e, "the bus to the other relay nodes is down; serving our own clients and retrying");
            }
            if !first || started.elapsed() > Duration::from_secs(5) {
                self.stats.reconnects.fetch_add(1, Relaxed);
            }
            if started.elapsed() > Duration::from_secs(5) {
                backoff = Duration::from_millis(100);
            }
            first = false;
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    async fn session(
        &self,
        state: &Arc<AppState>,
        out_rx: &mut mpsc::Receiver<Out>,
        subs_rx: &mut mpsc::UnboundedReceiver<SubReq>,
        pending: &mut Vec<Out>,
        first: bool,
    ) -> redis::RedisResult<()> {
        let cfg = redis::AsyncConnectionConfig::new().set_connection_timeout(Some(Duration::from_secs(2))).set_response_timeout(Some(Duration::from_secs(2)));
        let mut cmd = self.client.get_multiplexed_async_connection_with_config(&cfg).await?;
        let ps = tokio::time::timeout(Duration::from_secs(2), self.client.get_async_pubsub())
            .await
            .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "pub/sub connect timed out")))??;
        let (mut sink, mut stream) = ps.split();
        sink.subscribe(&[ALL.to_string(), node_channel(&self.node)]).await?;
        // Our users and sockets, as the hub has them now: after a Redis
        // restart nothing of ours is there.
        let ours = state.hub.users();
        let mut subscribed: HashSet<String> = HashSet::new();
        for chunk in ours.chunks(256) {
            let chans: Vec<String> = chunk.iter().map(|(u, _)| user_channel(u)).collect();
            sink.subscribe(&chans).await?;
            subscribed.extend(chunk.iter().map(|(u, _)| u.clone()));
        }
        let set = format!("onair:users:{}", self.node);
        let mut p = redis::pipe();
        p.cmd("DEL").arg(&set).ignore();
        for chunk in ours.chunks(256) {
            p.cmd("SADD").arg(&set).arg(chunk.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>()).ignore();
            for (u, conns) in chunk {
                for c in conns {
                    p.cmd("HSET").arg(format!("onair:dev:{u}")).arg(format!("{}/{c}", self.node)).arg(1).ignore();
                }
            }
        }
        self.heartbeat_cmds(&mut p);
        p.query_async::<()>(&mut cmd).await?;
        self.load_others(state, &mut cmd).await?;
        self.conn.send_replace(Some(cmd.clone()));
        self.stats.up.store(true, Relaxed);
        tracing::info!(bus = %self.shown, node = %self.node, "bus connected");
        if !first {
            resync_clients(state).await;
        }
        // What the last link failed to send goes first, then the queue.
        if !pending.is_empty() {
            self.flush(&mut cmd, pending).await?;
        }
        let mut tick = tokio::time::interval(Duration::from_millis(HEARTBEAT_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                m = stream.next() => match m {
                    Some(m) => self.dispatch(state, m.get_channel_name(), m.get_payload_bytes()).await,
                    None => return Err(redis::RedisError::from((redis::ErrorKind::Io, "pub/sub connection closed"))),
                },
                n = out_rx.recv_many(&mut batch, BATCH) => {
                    if n == 0 {
                        return Ok(());
                    }
                    *pending = std::mem::take(&mut batch);
                    self.flush(&mut cmd, pending).await?;
                }
                Some((user, done)) = subs_rx.recv() => {
                    let want = state.hub.is_online(&user);
                    if want && subscribed.insert(user.clone()) {
                        sink.subscribe(user_channel(&user)).await?;
                    } else if !want && subscribed.remove(&user) {
                        sink.unsubscribe(user_channel(&user)).await?;
                    }
                    if let Some(d) = done {
                        let _ = d.send(());
                    }
                }
                _ = tick.tick() => {
                    if *state.shutdown.borrow() && state.hub.connections() == 0 && out_rx.is_empty() {
                        let mut p = redis::pipe();
                        p.cmd("ZREM").arg("onair:nodes").arg(&self.node).ignore();
                        p.cmd("DEL").arg(format!("onair:users:{}", self.node)).ignore();
                        p.cmd("PUBLISH").arg(ALL).arg(self.envelope(Note::Bye)).ignore();
                        p.query_async::<()>(&mut cmd).await?;
                        tracing::info!(node = %self.node, "left the other relay nodes");
                        return Ok(());
                    }
                    let mut p = redis::pipe();
                    self.heartbeat_cmds(&mut p);
                    self.room_claims(state, &mut p);
                    p.query_async::<()>(&mut cmd).await?;
                    self.read_chatters(&mut cmd).await?;
                    self.sync_origins(state, &mut cmd).await?;
                    self.expire(state).await;
                }
            }
        }
    }

    /// Sends `pending` as one pipeline; on error it stays pending.
    async fn flush(&self, cmd: &mut MultiplexedConnection, pending: &mut Vec<Out>) -> redis::RedisResult<()> {
        let mut p = redis::pipe();
        for o in pending.iter() {
            match o {
                Out::Publish(ch, text) => {
                    p.cmd("PUBLISH").arg(ch).arg(text).ignore();
                }
                Out::Cmd(c) => {
                    p.add_command(c.clone()).ignore();
                }
            }
        }
        p.query_async::<()>(cmd).await?;
        self.stats.sent.fetch_add(pending.len() as u64, Relaxed);
        pending.clear();
        Ok(())
    }

    fn heartbeat_cmds(&self, p: &mut redis::Pipeline) {
        let now = now_ms();
        p.cmd("ZADD").arg("onair:nodes").arg(now).arg(&self.node).ignore();
        // Nodes gone for a day leave the index.
        p.cmd("ZREMRANGEBYSCORE").arg("onair:nodes").arg("-inf").arg(now - 86_400_000).ignore();
        p.cmd("PEXPIRE").arg(format!("onair:users:{}", self.node)).arg(3 * NODE_TTL_MS).ignore();
        p.cmd("PUBLISH").arg(ALL).arg(self.envelope(Note::Alive)).ignore();
    }

    /// Reads the other live nodes' users, replaces the mirror with them and
    /// tells our clients about anyone who came or went meanwhile.
    async fn load_others(&self, state: &AppState, cmd: &mut MultiplexedConnection) -> redis::RedisResult<()> {
        let since = now_ms() - NODE_TTL_MS;
        let nodes: Vec<String> = redis::cmd("ZRANGEBYSCORE").arg("onair:nodes").arg(since).arg("+inf").query_async(cmd).await?;
        let mut snap = Vec::new();
        for n in nodes.into_iter().filter(|n| *n != self.node) {
            let users: HashSet<String> = redis::cmd("SMEMBERS").arg(format!("onair:users:{n}")).query_async(cmd).await?;
            snap.push((n, users));
        }
        let (on, off) = lock(&self.mirror).load(snap, self.now());
        for u in on.iter().filter(|u| !state.hub.is_online(u)) {
            super::announce(state, u, true).await;
        }
        for u in off.iter().filter(|u| !state.hub.is_online(u)) {
            super::announce(state, u, false).await;
        }
        Ok(())
    }

    /// Nodes silent past their TTL are dead: their users go offline and
    /// their part in calls held here is lost (the calls' grace runs).
    async fn expire(&self, state: &Arc<AppState>) {
        let dead = lock(&self.mirror).expire(self.now());
        for (node, users) in dead {
            tracing::warn!(node = %node, users = users.len(), "a relay node stopped answering: its users are offline until they reconnect");
            for u in users.iter().filter(|u| !state.hub.is_online(u)) {
                super::announce(state, u, false).await;
            }
            self.rooms_gone(state, &node, None);
            state.calls.send(crate::calls::Msg::NodeGone { node }).await;
        }
    }

    async fn dispatch(&self, state: &Arc<AppState>, channel: &str, payload: &[u8]) {
        // Our own publishes come back on our users' channels: about a third
        // of what arrives with three nodes. Envelopes start with `from`
        // (the struct's first field), so they are known without parsing.
        if payload.strip_prefix(b"{\"from\":\"").and_then(|r| r.strip_prefix(self.node.as_bytes())).is_some_and(|r| r.starts_with(b"\"")) {
            return;
        }
        let Ok(env) = serde_json::from_slice::<Envelope>(payload) else {
            tracing::warn!(channel, "a bus note that is not ours; ignored");
            return;
        };
        if env.from == self.node {
            // Our own publish, back to us: the local hub already had it.
            return;
        }
        self.stats.received.fetch_add(1, Relaxed);
        self.stats.lag_ms.store((now_ms() - env.at).max(0) as u64, Relaxed);
        let now = self.now();
        lock(&self.mirror).heard(&env.from, now);
        match env.note {
            Note::Frame { text } => {
                let Some(user) = channel.strip_prefix("onair:u:") else { return };
                let p = state.hub.deliver(user, text.into());
                state.metrics.events_delivered.fetch_add(p.delivered, Relaxed);
                state.metrics.slow_clients_dropped.fetch_add(p.dropped, Relaxed);
                Metrics::inc(&state.metrics.bus_in);
            }
            Note::Close { token, except, why } => {
                let Some(user) = channel.strip_prefix("onair:u:") else { return };
                let parse = |h: Option<String>| h.and_then(|h| crate::signout::unhex32(&h));
                match (parse(token), parse(except)) {
                    (Some(t), _) => state.sockets.close_token_here(user, &t, why),
                    (None, e) => state.sockets.close_user_here(user, e.as_ref(), why),
                };
            }
            Note::ToConn { user, conn, text } => {
                self.link(conn, &env.from);
                state.hub.send_text(&user, conn, text.into());
                Metrics::inc(&state.metrics.bus_in);
            }
            Note::CallReq { conn, user, id, body } => {
                state.calls.send(crate::calls::Msg::Remote { node: env.from, conn, user, id, body }).await;
            }
            Note::ConnClosed { conn } => {
                self.rooms_gone(state, &env.from, Some(conn));
                state.calls.send(crate::calls::Msg::RemoteClosed { node: env.from, conn }).await;
            }
            Note::RoomReq { conn, user, id, room, req } => {
                let sid = self.standin(&env.from, conn, &user);
                lock(&self.hosted).insert(room.clone());
                let frame = match crate::ws::room_request(state, &user, sid, &room, req).await {
                    Ok(r) => onair_proto::ServerFrame::ok(id, r),
                    Err(e) => {
                        Metrics::inc(&state.metrics.frame_errors);
                        let (code, msg) = e.to_wire();
                        onair_proto::ServerFrame::err(id, code, msg)
                    }
                };
                self.send(&env.from, Note::ToConn { user, conn, text: frame.to_json() });
            }
            Note::Alive => {}
            // A node shutting down: dead now, not in 4 s.
            Note::Bye => lock(&self.mirror).heard(&env.from, i64::MIN / 2),
            Note::On { user } => {
                let first = lock(&self.mirror).on(&env.from, &user, now);
                if first && !state.hub.is_online(&user) {
                    super::announce(state, &user, true).await;
                }
            }
            Note::Off { user } => {
                let last = lock(&self.mirror).off(&env.from, &user, now);
                if last && !state.hub.is_online(&user) {
                    super::announce(state, &user, false).await;
                }
            }
        }
    }
}

/// After the link was down, events for our clients may have been lost:
/// each signed-in user gets a `conv_changed`, and their clients sync every
/// conversation from the store (entries they have are kept once, by seq).
async fn resync_clients(state: &AppState) {
    for (user, _) in state.hub.users() {
        let name = user.clone();
        let conv = match state.store_call(move |s| s.convs_of(&name)).await {
            Ok(c) => c.into_iter().next().map(|c| c.id),
            Err(e) => {
                tracing::warn!(error = %e, "resync after the bus came back: listing conversations failed");
                continue;
            }
        };
        if let Some(conv) = conv {
            crate::ws::publish_here(state, &[user], onair_proto::Event::ConvChanged { conv });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bus_url_is_shown_without_its_password() {
        assert_eq!(redact("redis://:hunter2@10.0.0.5:6379/0"), "redis://:…@10.0.0.5:6379/0");
        assert_eq!(redact("rediss://relay:hunter2@h:6380"), "rediss://relay:…@h:6380");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        let e = RedisBus::new("http://:hunter2@x", "n1").err().expect("not a redis URL");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn an_envelope_names_its_sender_first() {
        // `dispatch` drops our own notes by this prefix, unparsed.
        let r = RedisBus::new("redis://127.0.0.1:1", "node-1.a").unwrap();
        let e = r.envelope(Note::Frame { text: "{}".into() });
        assert!(e.starts_with("{\"from\":\"node-1.a\""), "{e}");
    }
}
