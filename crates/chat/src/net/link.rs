//! One relay link per device: the WebSocket that chat, calls and room chat
//! ride on, owned by one task.
//!
//! ```text
//!  RelayLink (cloneable handle) ──request(Request)──▶ link task ──Req{id}──▶ relay
//!        ◀── Result<Response, NetError> (matched by id) ◀──── Res{id} / Error{id}
//!  Subscription (one bounded queue per subscriber, by Topic) ◀── Event / Up / Down
//! ```
//!
//! The task dials the relay (TLS through [`ws_connect`]), says hello, and
//! when the socket drops it answers every waiting request with
//! [`NetError::Closed`], tells every subscriber [`LinkEvent::Down`], dials
//! again after a capped back-off and, welcomed again, says
//! [`LinkEvent::Up`]: each subscriber then resumes its own way (the chat
//! listener catches up, a call sends `call_resume`). While down, requests
//! are answered at once with [`NetError::Closed`]. A refusal that retrying
//! cannot fix (a revoked token) ends the link with [`LinkEvent::Failed`].
//!
//! Subscribers never slow the link down: a full queue drops events and
//! says so with [`LinkEvent::Lagged`] once it has room (the chat listener
//! then fetches what it missed); link state changes are never dropped.

use super::conn::{ws_connect, Ws};
use crate::error::NetError;
use futures_util::{SinkExt, StreamExt};
use onair_proto::*;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_tungstenite::tungstenite::Message;

/// Which part of the client an event is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Messages, read marks, presence, friends, conversation changes.
    Chat,
    /// Call signaling (`call_*` events).
    Call,
    /// Live-room chat (`room_*` events).
    Room,
}

impl Topic {
    pub const ALL: [Topic; 3] = [Topic::Chat, Topic::Call, Topic::Room];

    /// The topic of a relay event.
    pub fn of(ev: &Event) -> Topic {
        match ev {
            Event::CallIncoming { .. }
            | Event::CallRinging { .. }
            | Event::CallAccepted { .. }
            | Event::CallEnded { .. }
            | Event::CallSdp { .. }
            | Event::CallIce { .. }
            | Event::CallPeer { .. }
            | Event::CallRecording { .. }
            | Event::CallConsentRequest { .. }
            | Event::CallConsentResult { .. }
            | Event::CallMedia { .. } => Topic::Call,
            Event::RoomComment { .. } | Event::RoomViewer { .. } | Event::RoomMuted { .. } | Event::RoomKicked { .. } => Topic::Room,
            _ => Topic::Chat,
        }
    }
}

/// What a subscriber hears.
#[derive(Clone, Debug)]
pub enum LinkEvent {
    /// Connected and welcomed as `user` (again, after a drop: resume now).
    /// `gen` counts connections, so a subscriber can tell a new one.
    Up { user: String, gen: u64 },
    /// The socket dropped or could not be opened; the next try is in `retry_in`.
    Down { error: Arc<NetError>, retry_in: Duration },
    /// A relay event of a topic this subscriber asked for.
    Event(Event),
    /// This many events were dropped because the subscriber's queue was full.
    Lagged(u64),
    /// The link stopped for good (the relay refused the token…); nothing follows.
    Failed(Arc<NetError>),
}

/// How the link behaves.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// How long reaching the relay may take before it counts as unreachable.
    pub connect_timeout: Duration,
    /// How long a request waits for its answer.
    pub request_timeout: Duration,
    /// Dial again when the socket drops (false: the link ends instead).
    pub reconnect: bool,
    /// The back-off doubles from 250 ms up to this.
    pub max_backoff: Duration,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions { connect_timeout: Duration::from_secs(5), request_timeout: Duration::from_secs(30), reconnect: true, max_backoff: Duration::from_secs(5) }
    }
}

/// The delay before reconnect attempt `attempt` (0-based).
pub fn link_backoff(attempt: u32, max: Duration) -> Duration {
    Duration::from_millis(250u64 << attempt.min(5)).min(max)
}

/// The task that owns the socket; its owner runs it (spawned, or polled
/// beside the work that uses the link). It ends when the link fails for
/// good, is closed, or every handle is gone.
pub type LinkTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

enum Cmd {
    Request { req: Request, reply: oneshot::Sender<Result<Response, NetError>> },
    /// Drop connection `gen` and dial again (a caller found it unusable).
    Reconnect(u64),
    Close,
}

#[derive(Default)]
struct State {
    up: bool,
    gen: u64,
    user: Option<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    subs: Mutex<Vec<Sub>>,
}

struct Sub {
    topics: Vec<Topic>,
    tx: mpsc::Sender<LinkEvent>,
    missed: Arc<Missed>,
}

/// What could not be queued for one subscriber, handed out once its queue
/// is empty: state changes in order, then how many events were dropped.
#[derive(Default)]
struct Missed {
    inner: Mutex<MissedInner>,
    notify: Notify,
}

#[derive(Default)]
struct MissedInner {
    states: Vec<LinkEvent>,
    lagged: u64,
}

impl Missed {
    fn lock(&self) -> std::sync::MutexGuard<'_, MissedInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Option<LinkEvent> {
        let mut m = self.lock();
        if !m.states.is_empty() {
            return Some(m.states.remove(0));
        }
        if m.lagged > 0 {
            return Some(LinkEvent::Lagged(std::mem::take(&mut m.lagged)));
        }
        None
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One subscriber's queue ([`RelayLink::subscribe`]).
pub struct Subscription {
    rx: mpsc::Receiver<LinkEvent>,
    missed: Arc<Missed>,
}

impl Subscription {
    /// The next event or state change; None once the link has ended.
    /// Cancel-safe (fit for `select!`).
    pub async fn next(&mut self) -> Option<LinkEvent> {
        loop {
            match self.rx.try_recv() {
                Ok(e) => return Some(e),
                Err(mpsc::error::TryRecvError::Disconnected) => return self.missed.take(),
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            if let Some(e) = self.missed.take() {
                return Some(e);
            }
            tokio::select! {
                e = self.rx.recv() => match e {
                    Some(e) => return Some(e),
                    None => return self.missed.take(),
                },
                _ = self.missed.notify.notified() => {}
            }
        }
    }
}

/// A handle on the device's relay link; clones share the one socket.
#[derive(Clone)]
pub struct RelayLink {
    cmds: mpsc::UnboundedSender<Cmd>,
    shared: Arc<Shared>,
    request_timeout: Duration,
}

impl std::fmt::Debug for RelayLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.shared.state);
        f.debug_struct("RelayLink").field("up", &s.up).field("gen", &s.gen).finish_non_exhaustive()
    }
}

impl RelayLink {
    /// A link that dials `ws_url` when its task starts (and again after
    /// every drop, if `opts.reconnect`). Nothing happens until the task runs.
    pub fn new(ws_url: &str, token: &str, opts: LinkOptions) -> (RelayLink, LinkTask) {
        Self::build(ws_url, token, opts, None)
    }

    /// Dials and says hello now, so a relay that cannot be reached or
    /// refuses us is an error here; then the task keeps the link.
    pub async fn connect(ws_url: &str, token: &str, opts: LinkOptions) -> Result<(RelayLink, LinkTask), NetError> {
        let first = open(ws_url, token, opts.connect_timeout).await?;
        Ok(Self::build(ws_url, token, opts, Some(first)))
    }

    fn build(ws_url: &str, token: &str, opts: LinkOptions, first: Option<Opened>) -> (RelayLink, LinkTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        if let Some(o) = &first {
            let mut s = lock(&shared.state);
            s.up = true;
            s.gen = 1;
            s.user = Some(o.user.clone());
        }
        let link = RelayLink { cmds: tx, shared: shared.clone(), request_timeout: opts.request_timeout };
        let task = Box::pin(run(shared, rx, ws_url.to_string(), token.to_string(), opts, first));
        (link, task)
    }

    /// Sends a request and waits for its answer. While the link is down the
    /// answer is [`NetError::Closed`] at once; a refusal is [`NetError::Refused`].
    pub async fn request(&self, req: Request) -> Result<Response, NetError> {
        self.start(req).await
    }

    /// Queues the request now (requests go out in the order they are
    /// started) and returns the wait for its answer.
    pub fn start(&self, req: Request) -> impl Future<Output = Result<Response, NetError>> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        let queued = self.cmds.send(Cmd::Request { req, reply }).is_ok();
        let wait = self.request_timeout;
        async move {
            if !queued {
                return Err(NetError::Closed);
            }
            match tokio::time::timeout(wait, rx).await {
                Err(_) => Err(NetError::Timeout),
                Ok(Err(_)) => Err(NetError::Closed),
                Ok(Ok(r)) => r,
            }
        }
    }

    /// A queue of the events of `topics` (at most `capacity` waiting) and
    /// of every link state change from now on.
    pub fn subscribe(&self, topics: &[Topic], capacity: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let missed = Arc::new(Missed::default());
        lock(&self.shared.subs).push(Sub { topics: topics.to_vec(), tx, missed: missed.clone() });
        Subscription { rx, missed }
    }

    /// Whether the socket is up and welcomed now.
    pub fn is_up(&self) -> bool {
        lock(&self.shared.state).up
    }

    /// Whether it is up, and the number of the current (or last) connection.
    pub fn status(&self) -> (bool, u64) {
        let s = lock(&self.shared.state);
        (s.up, s.gen)
    }

    /// Who the relay last welcomed us as.
    pub fn user(&self) -> Option<String> {
        lock(&self.shared.state).user.clone()
    }

    /// Drops connection `gen` (if it is still the current one) and dials
    /// again: for a caller that found it unusable (an answer that never came).
    pub fn reconnect(&self, gen: u64) {
        let _ = self.cmds.send(Cmd::Reconnect(gen));
    }

    /// Closes the socket and ends the link for every handle.
    pub fn close(&self) {
        let _ = self.cmds.send(Cmd::Close);
    }
}

/// Runs `work` while also polling the link's task, and returns what
/// `work` returns (the task may end first: requests then fail with Closed).
pub async fn with_task<F: Future>(task: Option<LinkTask>, work: F) -> F::Output {
    let mut task = task;
    tokio::pin!(work);
    loop {
        match task.as_mut() {
            Some(t) => tokio::select! {
                r = &mut work => return r,
                _ = t => task = None,
            },
            None => return work.await,
        }
    }
}

/// A copy of an error for each subscriber (an I/O error keeps its kind and text).
pub fn copy_error(e: &NetError) -> NetError {
    match e {
        NetError::BadUrl(s) => NetError::BadUrl(s.clone()),
        NetError::InsecureUrl(s) => NetError::InsecureUrl(s.clone()),
        NetError::Tls { host, reason } => NetError::Tls { host: host.clone(), reason: reason.clone() },
        NetError::TlsSetup(s) => NetError::TlsSetup(s.clone()),
        NetError::Connect { addr, source } => NetError::Connect { addr: addr.clone(), source: std::io::Error::new(source.kind(), source.to_string()) },
        NetError::WebSocket(s) => NetError::WebSocket(s.clone()),
        NetError::Http(s) => NetError::Http(s.clone()),
        NetError::Closed => NetError::Closed,
        NetError::Timeout => NetError::Timeout,
        NetError::Protocol(s) => NetError::Protocol(s.clone()),
        NetError::Refused { code, message } => NetError::Refused { code: *code, message: message.clone() },
    }
}

struct Opened {
    ws: Ws,
    user: String,
    early: Vec<Event>,
}

/// Dials, says hello, waits for the welcome (events before it are kept).
async fn open(ws_url: &str, token: &str, timeout: Duration) -> Result<Opened, NetError> {
    let mut ws = tokio::time::timeout(timeout, ws_connect(ws_url)).await.map_err(|_| NetError::Timeout)??;
    let hello = ClientFrame::Hello { v: PROTOCOL_VERSION, token: token.into() };
    ws.send(Message::Text(hello.to_json().into())).await.map_err(|e| NetError::WebSocket(e.to_string()))?;
    // A loaded relay may be slow to welcome; only reaching it is bounded
    // by the (short) connect timeout, so "offline" is detected fast.
    let wait = timeout.max(Duration::from_secs(30));
    let mut early = Vec::new();
    loop {
        let msg = tokio::time::timeout(wait, ws.next()).await.map_err(|_| NetError::Timeout)?;
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None => return Err(NetError::Closed),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(NetError::WebSocket(e.to_string())),
        };
        match serde_json::from_str::<ServerFrame>(text.as_str()).map_err(|e| NetError::Protocol(e.to_string()))? {
            ServerFrame::Welcome { user, .. } => return Ok(Opened { ws, user, early }),
            ServerFrame::Error { code, message, .. } => return Err(NetError::Refused { code, message }),
            ServerFrame::Event { ev } => early.push(ev),
            other => return Err(NetError::Protocol(format!("expected welcome, got {other:?}"))),
        }
    }
}

impl Shared {
    /// Hands `ev` to every subscriber of its topic (None: a state change,
    /// for everyone). Never waits: a full queue counts a dropped event, or
    /// keeps a state change for later.
    fn deliver(&self, ev: LinkEvent) {
        let topic = match &ev {
            LinkEvent::Event(e) => Some(Topic::of(e)),
            _ => None,
        };
        let mut subs = lock(&self.subs);
        subs.retain(|s| !s.tx.is_closed());
        for s in subs.iter() {
            if topic.is_some_and(|t| !s.topics.contains(&t)) {
                continue;
            }
            let mut m = s.missed.lock();
            let behind = !m.states.is_empty() || m.lagged > 0;
            if !behind {
                match s.tx.try_send(ev.clone()) {
                    Ok(()) => continue,
                    Err(mpsc::error::TrySendError::Closed(_)) => continue,
                    Err(mpsc::error::TrySendError::Full(_)) => {}
                }
            }
            if topic.is_some() {
                m.lagged += 1;
            } else {
                m.states.push(ev.clone());
            }
            drop(m);
            s.missed.notify.notify_one();
        }
    }

    fn set_down(&self) {
        lock(&self.state).up = false;
    }

    fn set_up(&self, user: &str) -> u64 {
        let mut s = lock(&self.state);
        s.up = true;
        s.gen += 1;
        s.user = Some(user.to_string());
        s.gen
    }

    /// The link is over: subscribers see their queues end.
    fn finish(&self) {
        self.set_down();
        lock(&self.subs).clear();
    }
}

fn refused(e: ErrorBody) -> NetError {
    NetError::Refused { code: e.code, message: e.message }
}

/// Ends the link however the task stops, dropped by its owner included
/// (the app signing out drops the listener): subscribers see their queues
/// end, so a call on the link hangs up.
struct FinishOnDrop(Arc<Shared>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finish();
    }
}

async fn run(shared: Arc<Shared>, mut cmds: mpsc::UnboundedReceiver<Cmd>, url: String, token: String, opts: LinkOptions, mut first: Option<Opened>) {
    let _finish = FinishOnDrop(shared.clone());
    let mut attempt = 0u32;
    let mut next_id = 1u64;
    loop {
        // Dial (answering requests at once meanwhile).
        let opened = match first.take() {
            Some(o) => {
                let gen = lock(&shared.state).gen;
                shared.deliver(LinkEvent::Up { user: o.user.clone(), gen });
                Ok(o)
            }
            None => {
                let dial = open(&url, &token, opts.connect_timeout);
                tokio::pin!(dial);
                let r = loop {
                    tokio::select! {
                        r = &mut dial => break r,
                        c = cmds.recv() => match c {
                            Some(Cmd::Request { reply, .. }) => {
                                let _ = reply.send(Err(NetError::Closed));
                            }
                            Some(Cmd::Reconnect(_)) => {}
                            Some(Cmd::Close) | None => return shared.finish(),
                        },
                    }
                };
                if let Ok(o) = &r {
                    let gen = shared.set_up(&o.user);
                    shared.deliver(LinkEvent::Up { user: o.user.clone(), gen });
                }
                r
            }
        };
        let error = match opened {
            Ok(Opened { mut ws, early, .. }) => {
                attempt = 0;
                let gen = lock(&shared.state).gen;
                for ev in early {
                    shared.deliver(LinkEvent::Event(ev));
                }
                let mut pending: HashMap<u64, oneshot::Sender<Result<Response, NetError>>> = HashMap::new();
                let error = loop {
                    tokio::select! {
                        c = cmds.recv() => match c {
                            Some(Cmd::Request { req, reply }) => {
                                let id = next_id;
                                next_id += 1;
                                let text = ClientFrame::Req { id, body: req }.to_json();
                                if let Err(e) = ws.send(Message::Text(text.into())).await {
                                    let _ = reply.send(Err(NetError::Closed));
                                    break NetError::WebSocket(e.to_string());
                                }
                                pending.retain(|_, r| !r.is_closed());
                                pending.insert(id, reply);
                            }
                            Some(Cmd::Reconnect(g)) if g == gen => break NetError::Protocol("the connection stopped answering; reconnecting".into()),
                            Some(Cmd::Reconnect(_)) => {}
                            Some(Cmd::Close) | None => {
                                shared.set_down();
                                for (_, r) in pending.drain() {
                                    let _ = r.send(Err(NetError::Closed));
                                }
                                let _ = ws.close(None).await;
                                return shared.finish();
                            }
                        },
                        m = ws.next() => match m {
                            Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerFrame>(t.as_str()) {
                                Ok(ServerFrame::Res { id, ok, err }) => {
                                    if let Some(r) = pending.remove(&id) {
                                        let _ = r.send(match (ok, err) {
                                            (Some(ok), _) => Ok(ok),
                                            (None, Some(e)) => Err(refused(e)),
                                            (None, None) => Err(NetError::Protocol("empty response".into())),
                                        });
                                    }
                                }
                                Ok(ServerFrame::Event { ev }) => shared.deliver(LinkEvent::Event(ev)),
                                Ok(ServerFrame::Error { code, message, id: Some(id) }) if pending.contains_key(&id) => {
                                    if let Some(r) = pending.remove(&id) {
                                        let _ = r.send(Err(NetError::Refused { code, message }));
                                    }
                                }
                                Ok(ServerFrame::Error { code, message, .. }) => tracing::warn!(?code, %message, "relay error frame"),
                                Ok(_) => {}
                                Err(e) => tracing::debug!("ignoring a frame that is not a server frame: {e}"),
                            },
                            Some(Ok(Message::Close(_))) | None => break NetError::Closed,
                            Some(Ok(_)) => {}
                            Some(Err(e)) => break NetError::WebSocket(e.to_string()),
                        },
                    }
                };
                // Down first, so a caller that sees Closed finds the link down.
                shared.set_down();
                for (_, r) in pending.drain() {
                    let _ = r.send(Err(NetError::Closed));
                }
                error
            }
            Err(e) if !e.is_transient() => {
                shared.deliver(LinkEvent::Failed(Arc::new(e)));
                return shared.finish();
            }
            Err(e) => e,
        };
        if !opts.reconnect {
            shared.deliver(LinkEvent::Down { error: Arc::new(error), retry_in: Duration::ZERO });
            return shared.finish();
        }
        let retry_in = link_backoff(attempt, opts.max_backoff);
        tracing::info!(error = %error, ?retry_in, "relay link down; reconnecting");
        shared.deliver(LinkEvent::Down { error: Arc::new(error), retry_in });
        let pause = tokio::time::sleep(retry_in);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                _ = &mut pause => break,
                c = cmds.recv() => match c {
                    Some(Cmd::Request { reply, .. }) => {
                        let _ = reply.send(Err(NetError::Closed));
                    }
                    Some(Cmd::Reconnect(_)) => {}
                    Some(Cmd::Close) | None => return shared.finish(),
                },
            }
        }
        attempt = attempt.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_routed_by_topic() {
        assert_eq!(Topic::of(&Event::CallRinging { call_id: "c".into() }), Topic::Call);
        assert_eq!(Topic::of(&Event::ConvChanged { conv: "g".into() }), Topic::Chat);
        assert_eq!(Topic::of(&Event::RoomMuted { room: "r".into(), user: "u".into(), muted: true }), Topic::Room);
    }

    #[test]
    fn backoff_doubles_to_its_cap() {
        let max = Duration::from_secs(2);
        let d: Vec<_> = (0..8).map(|a| link_backoff(a, max).as_millis()).collect();
        assert_eq!(d, [250, 500, 1000, 2000, 2000, 2000, 2000, 2000]);
    }

    #[tokio::test]
    async fn a_full_queue_drops_events_but_keeps_state_changes() {
        let (link, _task) = RelayLink::new("ws://127.0.0.1:9/v1/ws", "t", LinkOptions::default());
        let mut chat = link.subscribe(&[Topic::Chat], 2);
        let mut call = link.subscribe(&[Topic::Call], 2);
        let msg = |n: u64| Event::Read { conv: "d:a:b".into(), user: "b".into(), seq: n };
        for n in 0..5 {
            link.shared.deliver(LinkEvent::Event(msg(n)));
        }
        link.shared.deliver(LinkEvent::Down { error: Arc::new(NetError::Closed), retry_in: Duration::ZERO });
        link.shared.deliver(LinkEvent::Up { user: "a".into(), gen: 2 });
        let mut seen = Vec::new();
        while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(50), chat.next()).await {
            seen.push(match e {
                LinkEvent::Event(Event::Read { seq, .. }) => format!("read {seq}"),
                LinkEvent::Down { .. } => "down".into(),
                LinkEvent::Up { gen, .. } => format!("up {gen}"),
                LinkEvent::Lagged(n) => format!("lagged {n}"),
                other => format!("{other:?}"),
            });
        }
        assert_eq!(seen, ["read 0", "read 1", "down", "up 2", "lagged 3"]);
        // The call subscriber got no chat events, only the state changes.
        assert!(matches!(call.next().await, Some(LinkEvent::Down { .. })));
        assert!(matches!(call.next().await, Some(LinkEvent::Up { .. })));
        link.shared.finish();
        assert!(call.next().await.is_none());
    }

    #[tokio::test]
    async fn dropping_the_task_ends_every_subscription() {
        let (link, task) = RelayLink::new("ws://127.0.0.1:9/v1/ws", "t", LinkOptions::default());
        let mut sub = link.subscribe(&[Topic::Call], 4);
        let mut task = Some(task);
        // Let it start (it dials and fails), then drop it unfinished.
        let _ = tokio::time::timeout(Duration::from_millis(50), task.as_mut().unwrap()).await;
        drop(task);
        while let Some(e) = sub.next().await {
            assert!(matches!(e, LinkEvent::Down { .. }), "{e:?}");
        }
        assert!(!link.is_up());
        assert!(matches!(link.request(Request::Conversations).await, Err(NetError::Closed)));
    }

    #[tokio::test]
    async fn requests_while_down_are_answered_at_once() {
        // Nothing listens on port 9: the link stays down.
        let (link, task) = RelayLink::new("ws://127.0.0.1:9/v1/ws", "t", LinkOptions { max_backoff: Duration::from_millis(250), ..Default::default() });
        let mut sub = link.subscribe(&Topic::ALL, 8);
        let r = with_task(Some(task), async {
            assert!(matches!(sub.next().await, Some(LinkEvent::Down { .. })));
            let r = link.request(Request::Conversations).await;
            link.close();
            r
        })
        .await;
        assert!(matches!(r, Err(NetError::Closed)), "{r:?}");
    }
}
