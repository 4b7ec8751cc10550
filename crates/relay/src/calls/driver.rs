//! The call driver: one task owns the [`Router`], the clock and the audit
//! writes. Sessions send it [`Msg`]s through a bounded channel (so the
//! per-connection order of open / requests / close is kept); it answers
//! through the connection's queue in the hub, the same queue events use,
//! so a `res` and the events it causes arrive in order.
//!
//! Across nodes (a bus): the node where the invite was made holds the call
//! (`onair:call:ID` names it). Another node forwards its connections'
//! requests for that call there ([`Msg::Remote`]); the holder's router sees
//! such a connection under a local stand-in id ([`Remotes`]) and answers it
//! through the bus. A node that dies takes its calls' routing with it; a
//! `call_resume` on any node then takes the call back from the audit, as
//! after a restart.

use super::router::{AuditOp, Output, Router, RouterConfig};
use super::turn;
use crate::config::CallConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::{now_ms, AppState};
use crate::store::Store;
use onair_proto::*;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

#[derive(Debug)]
pub enum Msg {
    Opened { conn: u64, user: String },
    Closed { conn: u64 },
    Request { conn: u64, user: String, id: u64, body: Request },
    /// A request from connection `conn` of another node, for a call held here.
    Remote { node: String, conn: u64, user: String, id: u64, body: Request },
    /// Connection `conn` of `node` closed.
    RemoteClosed { node: String, conn: u64 },
    /// `node` stopped answering: all its connections are gone.
    NodeGone { node: String },
}

/// Connections of other nodes as the router sees them: stand-in ids with
/// the top bit set (local connection ids count up from 1 and never get there).
#[derive(Default)]
struct Remotes {
    by_id: HashMap<u64, (String, u64)>,
    ids: HashMap<(String, u64), u64>,
    next: u64,
}

const REMOTE: u64 = 1 << 63;

impl Remotes {
    /// The stand-in for `(node, conn)`, and whether it is new.
    fn id(&mut self, node: &str, conn: u64) -> (u64, bool) {
        if let Some(&id) = self.ids.get(&(node.to_string(), conn)) {
            return (id, false);
        }
        self.next += 1;
        let id = REMOTE | self.next;
        self.ids.insert((node.to_string(), conn), id);
        self.by_id.insert(id, (node.to_string(), conn));
        (id, true)
    }

    fn remove(&mut self, id: u64) -> Option<(String, u64)> {
        let k = self.by_id.remove(&id)?;
        self.ids.remove(&k);
        Some(k)
    }

    fn of_node(&self, node: &str) -> Vec<u64> {
        self.by_id.iter().filter(|(_, (n, _))| n == node).map(|(&id, _)| id).collect()
    }
}

/// The call a request names, if it names one.
fn call_of(req: &Request) -> Option<&str> {
    Some(match req {
        Request::CallAccept { call_id }
        | Request::CallDecline { call_id }
        | Request::CallCancel { call_id }
        | Request::CallHangup { call_id }
        | Request::CallResume { call_id }
        | Request::CallSdp { call_id, .. }
        | Request::CallIce { call_id, .. }
        | Request::CallRecord { call_id, .. }
        | Request::CallConsent { call_id, .. }
        | Request::CallMedia { call_id, .. } => call_id,
        _ => return None,
    })
}

/// The relay's handle on call signaling (in [`AppState`]).
pub struct Calls {
    pub config: CallConfig,
    tx: OnceLock<mpsc::Sender<Msg>>,
}

impl Calls {
    pub fn new(config: CallConfig) -> Self {
        Calls { config, tx: OnceLock::new() }
    }

    /// Hands a message to the driver; false if it is not running (the
    /// relay was built without [`start`], as in `oneshot` tests).
    pub async fn send(&self, msg: Msg) -> bool {
        match self.tx.get() {
            Some(tx) => tx.send(msg).await.is_ok(),
            None => false,
        }
    }
}

/// Starts the driver task (once; later calls do nothing).
pub fn start(state: Arc<AppState>) {
    let (tx, rx) = mpsc::channel(1024);
    if state.calls.tx.set(tx).is_ok() {
        tokio::spawn(run(state, rx));
    }
}

async fn run(state: Arc<AppState>, mut rx: mpsc::Receiver<Msg>) {
    let cfg = &state.calls.config;
    let rcfg = RouterConfig { ring_timeout_ms: cfg.ring_timeout_secs as i64 * 1000, grace_ms: cfg.grace_secs as i64 * 1000, require_consent: cfg.require_recording_consent };
    let mut router = Router::new(rcfg, Box::new(new_call_id));
    let mut users: HashMap<u64, String> = HashMap::new();
    let mut remotes = Remotes::default();
    let mut shutdown = state.shutdown.subscribe();
    // The router's clock: wall-clock ms (audit times) advanced by tokio's
    // monotonic clock, so deadlines survive wall-clock jumps and tests can
    // run the timers with paused time.
    let (t0, w0) = (tokio::time::Instant::now(), now_ms());
    let now_ms = move || w0 + t0.elapsed().as_millis() as i64;
    loop {
        let wait = router.next_deadline().map(|d| std::time::Duration::from_millis((d - now_ms()).max(0) as u64));
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Opened { conn, user }) => {
                    router.opened(conn, &user);
                    users.insert(conn, user);
                }
                Some(Msg::Closed { conn }) => {
                    router.closed(now_ms(), conn);
                    users.remove(&conn);
                }
                Some(Msg::Request { conn, user, id, body }) => {
                    let here = call_of(&body).is_some_and(|c| router.knows(c));
                    if here || !forwarded(&state, conn, &user, id, &body).await {
                        let invited = invite_remotes(&state, &mut router, &mut remotes, &mut users, &body).await;
                        request(&state, &mut router, now_ms(), conn, &user, id, body).await;
                        // Devices rung elsewhere that did not join the call are forgotten.
                        let idle: Vec<u64> = invited.into_iter().filter(|r| !router.in_call(*r)).collect();
                        for rid in idle {
                            router.closed(now_ms(), rid);
                            users.remove(&rid);
                            remotes.remove(rid);
                        }
                    }
                }
                Some(Msg::Remote { node, conn, user, id, body }) => {
                    let (rid, new) = remotes.id(&node, conn);
                    if new {
                        router.opened(rid, &user);
                        users.insert(rid, user.clone());
                    }
                    if users.get(&rid) == Some(&user) {
                        request(&state, &mut router, now_ms(), rid, &user, id, body).await;
                    }
                }
                Some(Msg::RemoteClosed { node, conn }) => {
                    let (rid, _) = remotes.id(&node, conn);
                    router.closed(now_ms(), rid);
                    users.remove(&rid);
                    remotes.remove(rid);
                }
                Some(Msg::NodeGone { node }) => {
                    for rid in remotes.of_node(&node) {
                        router.closed(now_ms(), rid);
                        users.remove(&rid);
                        remotes.remove(rid);
                    }
                }
                None => break,
            },
            _ = async { tokio::time::sleep(wait.unwrap_or_default()).await }, if wait.is_some() => router.handle_timeout(now_ms()),
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                router.shutdown(now_ms());
                flush(&state, &mut router, &users, &remotes).await;
                break;
            }
        }
        flush(&state, &mut router, &users, &remotes).await;
    }
}

/// A request for a call another live node holds goes there; true if it went.
async fn forwarded(state: &AppState, conn: u64, me: &str, id: u64, body: &Request) -> bool {
    let Some(r) = state.bus.redis() else { return false };
    let Some(call) = call_of(body) else { return false };
    if !valid_call_id(call) {
        return false;
    }
    match r.call_owner(call).await {
        Some(node) if node != state.bus.node() && state.bus.alive(&node) => {
            r.link(conn, &node);
            r.send(&node, crate::bus::Note::CallReq { conn, user: me.to_string(), id, body: body.clone() });
            true
        }
        _ => false,
    }
}

/// Before an invite: the callee's devices on other nodes join the router
/// under stand-in ids, so they ring too. Returns the ids added.
async fn invite_remotes(state: &AppState, router: &mut Router, remotes: &mut Remotes, users: &mut HashMap<u64, String>, body: &Request) -> Vec<u64> {
    let (Some(r), Request::CallInvite { to, .. }) = (state.bus.redis(), body) else { return Vec::new() };
    if !valid_username(to.as_str()) {
        return Vec::new();
    }
    let mut added = Vec::new();
    for (node, conn) in r.devices(to).await {
        let (rid, new) = remotes.id(&node, conn);
        if new {
            router.opened(rid, to.as_str());
            users.insert(rid, to.clone());
            added.push(rid);
        }
    }
    added
}

/// The store work here (privacy, the audit) goes through the seam, so a
/// long write transaction holds up this driver's calls, not a tokio worker.
async fn request(state: &Arc<AppState>, router: &mut Router, now: i64, conn: u64, me: &str, id: u64, body: Request) {
    if let Request::CallAudit { call_id } = &body {
        let (who, call) = (me.to_string(), call_id.clone());
        let r = state.store_call(move |s| Ok(audit(s, &who, &call))).await.map_err(ApiError::from).and_then(|r| r);
        reply(state, me, conn, id, r);
        return;
    }
    if let Some(r) = direct(state, me, now, &body) {
        reply(state, me, conn, id, r);
        return;
    }
    // Account rules need the store; the router checks everything else.
    if let Request::CallInvite { to, .. } = &body {
        let allowed = if !valid_username(to) {
            Err(ApiError::new(ErrorCode::Invalid, "invalid user name"))
        } else {
            let (who, peer) = (me.to_string(), to.clone());
            state.ctx_call(move |ctx| crate::logic::check_dm_allowed(ctx, &who, &peer)).await.map_err(ApiError::from).and_then(|r| r)
        };
        if let Err(e) = allowed {
            reply(state, me, conn, id, Err(e));
            return;
        }
    }
    // A call this relay forgot (it restarted mid-call) comes back when one
    // of its two participants resumes it and the audit says it was answered
    // and never ended: media went on peer to peer, so the call did too.
    if let Request::CallResume { call_id } = &body {
        if !router.knows(call_id) && valid_call_id(call_id) {
            let call = call_id.clone();
            match state.store_call(move |s| s.call_audit(&call)).await {
                Ok(Some(a)) if a.accepted_at.is_some() && a.ended_at.is_none() && (a.caller == me || a.callee == me) => {
                    tracing::info!(call_id, "resuming a call from before the relay restarted");
                    let mut recording = [false; 2];
                    for e in &a.events {
                        let side = if e.by == a.caller { 0 } else { 1 };
                        match e.event {
                            AuditEvent::Start => recording[side] = true,
                            AuditEvent::Stop => recording[side] = false,
                            _ => {}
                        }
                    }
                    router.adopt(now, call_id, &a.caller, &a.callee, recording);
                    if let Some(r) = state.bus.redis() {
                        r.hold_call(call_id, true);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reading the call audit to resume a call"),
            }
        }
    }
    router.request(now, conn, id, body);
}

fn reply(state: &AppState, me: &str, conn: u64, id: u64, r: Result<Response, ApiError>) {
    let frame = match r {
        Ok(r) => ServerFrame::ok(id, r),
        Err(e) => {
            Metrics::inc(&state.metrics.call_refusals);
            let (code, msg) = e.to_wire();
            ServerFrame::err(id, code, msg)
        }
    };
    state.hub.send_to(me, conn, &frame);
}

/// Requests answered without the router (also over `POST /v1/rpc`):
/// `ice_servers` and `call_audit`. None for every other request.
pub fn direct(state: &AppState, me: &str, now: i64, req: &Request) -> Option<Result<Response, ApiError>> {
    match req {
        Request::IceServers => {
            let (ice_servers, expires_at) = turn::ice_servers(&state.calls.config, me, now);
            Some(Ok(Response::IceServers { ice_servers, expires_at }))
        }
        Request::CallAudit { call_id } => Some(audit(&*state.store, me, call_id)),
        _ => None,
    }
}

fn audit(store: &dyn Store, me: &str, call_id: &str) -> Result<Response, ApiError> {
    let a = if valid_call_id(call_id) { store.call_audit(call_id)? } else { None };
    match a {
        None => Err(ApiError::new(ErrorCode::NoSuchCall, "no such call")),
        Some(a) if a.caller != me && a.callee != me => Err(ApiError::new(ErrorCode::NotParticipant, "not your call")),
        Some(audit) => Ok(Response::CallAudit { audit }),
    }
}

/// Writes the audit rows first (one trip through the store seam), then
/// sends: once a participant hears that something happened, the audit
/// record already says so.
async fn flush(state: &AppState, router: &mut Router, users: &HashMap<u64, String>, remotes: &Remotes) {
    state.metrics.calls_active.store(router.active_calls() as u64, std::sync::atomic::Ordering::Relaxed);
    let outs: Vec<Output> = std::iter::from_fn(|| router.poll_output()).collect();
    let (audits, sends): (Vec<Output>, Vec<Output>) = outs.into_iter().partition(|o| matches!(o, Output::Audit(_)));
    let mut ops = Vec::new();
    for out in audits {
        if let Output::Audit(op) = out {
            if matches!(op, AuditOp::Created { .. }) {
                Metrics::inc(&state.metrics.calls_started);
            }
            if let Some(r) = state.bus.redis() {
                match &op {
                    AuditOp::Created { call_id, .. } => r.hold_call(call_id, true),
                    AuditOp::Ended { call_id, .. } => r.hold_call(call_id, false),
                    _ => {}
                }
            }
            ops.push(op);
        }
    }
    if !ops.is_empty() {
        let written = state
            .store_call(move |s| {
                for op in &ops {
                    let r = match op {
                        AuditOp::Created { call_id, caller, callee, at } => s.call_created(call_id, caller, callee, *at),
                        AuditOp::Accepted { call_id, at } => s.call_accepted(call_id, *at),
                        AuditOp::Ended { call_id, reason, at } => s.call_ended(call_id, *reason, *at),
                        AuditOp::Event { call_id, event, by, at } => s.call_event(call_id, *event, by, *at),
                    };
                    if let Err(e) = r {
                        tracing::warn!(error = %e, ?op, "call audit write failed");
                    }
                }
                Ok(())
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "call audit writes failed");
        }
    }
    for out in sends {
        match out {
            Output::Send(conn, frame) => {
                if matches!(frame, ServerFrame::Res { err: Some(_), .. }) {
                    Metrics::inc(&state.metrics.call_refusals);
                }
                match (users.get(&conn), remotes.by_id.get(&conn)) {
                    (Some(u), Some((node, c))) => state.bus.to_conn(node, u, *c, frame.to_json().into()),
                    (Some(u), None) => {
                        state.hub.send_to(u, conn, &frame);
                    }
                    _ => {}
                }
            }
            Output::Audit(_) => {}
        }
    }
}

/// `c` + 16 random hex digits.
fn new_call_id() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: fall back to time + a counter (ids must only be
        // unique; participants are checked on every request anyway).
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        b = (now_ms() as u64 ^ N.fetch_add(1, std::sync::atomic::Ordering::Relaxed).rotate_left(40)).to_be_bytes();
    }
    let mut s = String::with_capacity(17);
    s.push('c');
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::store::SqliteStore;

    /// The driver with tokio's clock paused: the default 30 s ring timeout
    /// ends the call through the real hub queues, without waiting 30 s.
    #[tokio::test(start_paused = true)]
    async fn the_ring_timeout_ends_a_call_through_the_driver() {
        let store = SqliteStore::open_in_memory().unwrap();
        for u in ["alice", "bob"] {
            crate::store::Store::create_user(&store, u, "x", 0).unwrap();
        }
        let state = AppState::with_calls(Arc::new(store), Limits::default(), None, CallConfig::default());
        let (atx, mut arx) = mpsc::channel(16);
        let (btx, mut brx) = mpsc::channel(16);
        state.hub.register("alice", 1, atx);
        state.hub.register("bob", 2, btx);
        start(state.clone());
        assert!(state.calls.send(Msg::Opened { conn: 1, user: "alice".into() }).await);
        assert!(state.calls.send(Msg::Opened { conn: 2, user: "bob".into() }).await);
        let invite = Request::CallInvite { to: "bob".into(), media: vec![MediaKind::Audio] };
        assert!(state.calls.send(Msg::Request { conn: 1, user: "alice".into(), id: 1, body: invite }).await);
        let res = arx.recv().await.unwrap();
        assert!(res.as_str().contains(r#""kind":"call""#), "{res}");
        assert!(arx.recv().await.unwrap().as_str().contains("call_ringing"));
        assert!(brx.recv().await.unwrap().as_str().contains("call_incoming"));
        let t = tokio::time::Instant::now();
        let ended = arx.recv().await.unwrap();
        assert!(ended.as_str().contains(r#""reason":"timeout""#), "{ended}");
        let waited = t.elapsed();
        assert!(waited >= std::time::Duration::from_secs(30) && waited < std::time::Duration::from_secs(31), "rang for {waited:?}");
        assert!(brx.recv().await.unwrap().as_str().contains(r#""reason":"timeout""#));
        let _ = state.shutdown.send(true);
    }
}
