//! The OnAir relay: the lean server every online feature goes through.
//! Accounts (argon2id passwords, hashed bearer tokens), presence, friends,
//! blocks and stranger control, 1:1 and group conversations with
//! store-and-forward (a sequence number per conversation, idempotent resends
//! by client id), history, read receipts, recall, burn-after-read and
//! attachments. Storage sits behind [`store::Store`]; SQLite (WAL) is the
//! embedded default, PostgreSQL (`--store`) serves several nodes. Async code
//! reaches the store only through [`AppState::store_call`] and friends (a
//! bounded blocking pool), never on a tokio worker. Chat messages are
//! written by one group-commit writer ([`commit`]): a batch per
//! transaction, answered after it commits.
//!
//! Run loop, in outline:
//!
//! ```text
//! serve(config, shutdown):
//!   state  = AppState::open(config)            // SQLite in config.data
//!   router = app(state)                        // HTTP routes + /v1/ws
//!   spawn burn sweeper (every second: delete read burn-after-read messages)
//!   accept::serve_connections(listener, router) until shutdown (header,
//!       idle and per-address limits; TLS when configured)
//!   spawn the chat writer (commit.rs): batches of checked messages, one
//!       transaction each, then answers and fan-out in commit order
//!   per socket (ws.rs): loop { frame -> Session::handle_frame -> poll_output:
//!       reply on this socket | fan out through the Hub | register | close
//!       | message append -> the writer's bounded queue }
//!   call ops (calls/): Session -> Output::Call -> the call driver task, which
//!       owns the sans-IO call router and its timers and answers through
//!       the connection's hub queue
//!   with --bus (bus/): one task links this node to the others through
//!       Redis: events for users whose sockets are elsewhere, presence,
//!       calls and room chat held on another node, sign-outs, log-in limits
//!   on shutdown: the writer commits and answers what it has taken, then
//!   sockets get what is queued for them and a close frame; every
//!   acknowledged message was committed before its ack.
//! ```
//!
//! Tests drive [`app`] with `tower::ServiceExt::oneshot`, or a real port via
//! [`serve`] bound to `127.0.0.1:0`.

pub mod accept;
pub mod account;
pub mod auth;
pub mod bus;
pub mod calls;
pub mod cloud;
pub mod commit;
pub mod config;
pub mod error;
pub mod http;
pub mod hub;
pub mod live;
pub mod logic;
pub mod metrics;
pub mod proxy;
pub mod quota;
pub mod session;
pub mod signout;
pub mod state;
pub mod store;
pub mod tls;
pub mod ws;

pub use config::{Config, Limits};
pub use http::app;
pub use state::AppState;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("opening the relay's storage in {dir}: {source}")]
    Store { dir: std::path::PathBuf, source: error::StoreError },
    /// The URL is shown without its password.
    #[error("opening the relay's store {url}: {source}")]
    SharedStore { url: String, source: error::StoreError },
    #[error("binding {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("reading the banned-words file {path}: {source}")]
    BannedWords { path: std::path::PathBuf, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("TLS needs both a certificate (--tls-cert) and its key (--tls-key)")]
    TlsHalf,
    #[error("RTMPS ({0}) needs the relay's certificate: pass --tls-cert and --tls-key")]
    RtmpsWithoutTls(SocketAddr),
    #[error("--trusted-proxy: {0}")]
    Proxy(String),
    #[error(transparent)]
    Bus(#[from] bus::redis::BusError),
    #[error("--node-id {0:?}: use 1-64 letters, digits, '_', '.' or '-'")]
    NodeId(String),
    #[error("--ladder: {0}")]
    Ladder(String),
    #[error("cloud recording: {0}")]
    Cloud(String),
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// Binds, calls `on_bound` with the real address (port 0 resolved), serves
/// until `shutdown` completes, then closes sockets and returns.
pub async fn serve(config: Config, on_bound: impl FnOnce(SocketAddr), shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
    let state = AppState::open(&config).map_err(|source| match &config.store {
        Some(url) => ServeError::SharedStore { url: url.to_string(), source },
        None => ServeError::Store { dir: config.data.clone(), source },
    })?;
    if let Some(path) = &config.banned_words {
        let text = std::fs::read_to_string(path).map_err(|source| ServeError::BannedWords { path: path.clone(), source })?;
        let list = live::chat::parse_banned(&text);
        tracing::info!(words = list.len(), "banned words loaded for live-room chat");
        state.rooms.set_banned(&list);
    }
    if let Some(id) = &config.node_id {
        if !bus::valid_node_id(id) {
            return Err(ServeError::NodeId(id.clone()));
        }
        state.bus.set_node(id);
    }
    let mut bus_task = None;
    if let Some(url) = config.bus.as_ref().filter(|u| !u.0.is_empty()) {
        // Nodes keep serving their own clients while Redis is away; the
        // link connects (and reconnects) in the background.
        let r = bus::redis::RedisBus::new(&url.0, state.bus.node())?;
        tracing::info!(bus = %r.shown_url(), node = %state.bus.node(), "joining the other relay nodes through the bus");
        let fwd = r.clone();
        state.sockets.forward_to(Box::new(move |x: signout::Revoked| {
            let hex = |h: Option<[u8; 32]>| h.map(|h| auth::hex(&h));
            fwd.revoke(&x.user, bus::Note::Close { token: hex(x.token), except: hex(x.except), why: x.why });
        }));
        state.bus.attach(r.clone());
        bus_task = Some(tokio::spawn(r.run(state.clone())));
    }
    let trusted = Arc::new(proxy::TrustedProxies::parse(&config.trusted_proxies).map_err(ServeError::Proxy)?);
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::Reloading::new(tls::TlsFiles { cert: cert.clone(), key: key.clone() })?),
        (None, None) => None,
        _ => return Err(ServeError::TlsHalf),
    };
    if let (Some(addr), None) = (config.rtmps, &tls) {
        return Err(ServeError::RtmpsWithoutTls(addr));
    }
    let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(|source| ServeError::Bind { addr: config.listen, source })?;
    // Live rooms: RTMP ingest on its own port (bound before we report
    // ready, so room answers carry its address), HLS under the data dir.
    // With several nodes sharing one data folder, each writes its own live
    // HLS (an edge's copy of a room must not clash with its origin's);
    // replays (written by the origin only) and attachments are shared.
    let live_dir = if state.bus.shared() { config.data.join("live").join(state.bus.node()) } else { config.data.join("live") };
    let mut live = live::Live::new(live_dir);
    live.set_replays_dir(config.data.join("replays"));
    live.replays_kept = config.replays_kept;
    live.ladder = live::ladder::parse(&config.ladder).map_err(ServeError::Ladder)?;
    let live = Arc::new(live);
    if let Some(rtmp) = live::rtmp::bind(config.rtmp).await {
        let addr = rtmp.local_addr()?;
        live.set_rtmp_addr(addr);
        tracing::info!(%addr, "RTMP ingest listening");
        tokio::spawn(live::rtmp::run(rtmp, state.clone(), live.clone()));
    }
    if let (Some(addr), Some(tls)) = (config.rtmps, &tls) {
        let l = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
        let addr = l.local_addr()?;
        live.set_rtmps_addr(addr);
        tracing::info!(%addr, "RTMPS ingest listening");
        tokio::spawn(live::rtmp::run_tls(l, tls.acceptor(&[]), state.clone(), live.clone()));
    }
    if let Some(tls) = &tls {
        tokio::spawn(tls.clone().watch(state.shutdown.subscribe()));
    }
    calls::driver::start(state.clone());
    // Cloud call recording (issue 16): what a crash interrupted is sealed
    // and finalised before anyone can ask for it.
    let cloud = Arc::new(cloud::Cloud::open(config.cloud.clone(), &config.data).map_err(ServeError::Cloud)?);
    cloud::recover(&state, &cloud).await.map_err(|e| ServeError::Cloud(e.to_string()))?;
    tokio::spawn(cloud::sweep(state.clone(), cloud.clone()));
    commit::start(state.clone(), 4 * commit::MAX_BATCH);
    let bound = listener.local_addr()?;
    if state.bus.shared() {
        match (&config.node_url, tls.is_some(), bound.ip().is_unspecified()) {
            (Some(u), _, _) => state.bus.set_url(u),
            (None, false, false) => state.bus.set_url(&format!("http://{bound}")),
            _ => tracing::warn!("no --node-url: other nodes cannot pull lives published here (give the plain http:// address they reach this node at)"),
        }
    }
    on_bound(bound);
    let sweeper = tokio::spawn(burn_sweeper(state.clone()));
    let st = state.clone();
    let graceful = async move {
        shutdown.await;
        // Every message already taken is committed and answered (into its
        // connection's queue) before the sockets are told to close.
        st.appends.stop().await;
        tracing::info!("shutting down: closing sockets");
        st.drain(std::time::Duration::from_secs(10)).await;
    };
    let mut limits = accept::ConnLimits::from_limits(&config.limits);
    let exempt = trusted.clone();
    limits.exempt = Some(Arc::new(move |ip| exempt.trusts(ip)));
    let router = app(state.clone())
        .merge(live::routes::routes(state.clone(), live))
        .merge(cloud::routes::routes(state.clone(), cloud))
        .layer(axum::middleware::from_fn_with_state(trusted, proxy::client_ip_layer));
    match tls {
        Some(tls) => accept::serve_connections(listener, router, limits, TlsHandshake(tls.acceptor(&[b"http/1.1"])), graceful).await,
        None => accept::serve_connections(listener, router, limits, accept::Plain, graceful).await,
    }
    sweeper.abort();
    if let Some(t) = bus_task {
        // The other nodes hear our users leave and our goodbye (bounded:
        // with Redis away there is nobody to tell).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), t).await;
    }
    Ok(())
}

/// TLS on the HTTP listener: the handshake runs in the connection's task,
/// under the header deadline and after the per-address cap.
#[derive(Clone)]
struct TlsHandshake(tls::Acceptor);

impl accept::Handshake for TlsHandshake {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    async fn handshake(&self, tcp: tokio::net::TcpStream) -> std::io::Result<Self::Io> {
        self.0.accept(tcp).await
    }
}

/// Deletes burn-after-read messages whose timer has passed, once a second.
async fn burn_sweeper(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = state::now_ms();
        remove_trashed_files(&state).await;
        // The whole sweep is store work: one trip through the seam.
        let burned = state
            .ctx_call(move |ctx| {
                let mut events = Vec::new();
                for (conv, seq) in ctx.store.due_burns(now)? {
                    let from = match ctx.store.entry(&conv, seq) {
                        Ok(Some(e)) => e.from,
                        _ => continue,
                    };
                    match logic::tombstone(ctx, &conv, seq, onair_proto::EntryKind::Burn, &from, now) {
                        Ok(ev) => events.extend(ev),
                        Err(e) => tracing::warn!(error = %e, "burn failed"),
                    }
                }
                Ok::<_, error::StoreError>(events)
            })
            .await
            .and_then(|r| r);
        match burned {
            Ok(events) => events.into_iter().for_each(|(users, ev)| ws::publish(&state, &users, ev)),
            Err(e) => tracing::warn!(error = %e, "burn sweep failed"),
        }
    }
}

/// Removes the files of attachments whose message was recalled or burned
/// (their rows went with the tombstone; a download already answers 404).
async fn remove_trashed_files(state: &Arc<AppState>) {
    let ids = match state.store_call(|s| s.take_attachment_trash(256)).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "reading the attachment trash failed");
            return;
        }
    };
    let Some(dir) = &state.files else { return };
    for id in ids {
        // Ids are the relay's own hex names; anything else is not a file of ours.
        if id.len() != 32 || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        match tokio::fs::remove_file(dir.join(&id)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, "could not remove a recalled attachment's file"),
        }
    }
}
