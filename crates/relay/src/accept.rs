//! The relay's HTTP accept loop: one task per connection, driven by
//! hyper-util's auto builder (HTTP/1.1 with WebSocket upgrades), with the
//! limits a server on the open internet needs and `axum::serve` lacks:
//!
//! - **connections per client address**: at most
//!   [`ConnLimits::max_per_addr`] at once (an IPv6 client counts per /64);
//!   the excess is closed at once, before anything is read (a WebSocket
//!   counts until it closes);
//! - **a header deadline**: a connection must finish its handshake (TLS,
//!   when a [`Handshake`] wraps the stream) and its first request's header
//!   within [`ConnLimits::header_timeout`] of being accepted, and every later
//!   header within the same time (hyper's `header_read_timeout`, which
//!   also runs while an HTTP/1.1 keep-alive connection waits for its next
//!   request: an idle keep-alive connection is closed after it);
//! - **an idle deadline**: a connection with no request in flight and no
//!   response still streaming for [`ConnLimits::idle_timeout`] is closed
//!   (whatever the protocol; an upgraded WebSocket has left hyper by then
//!   and is timed by `ws.rs`).
//!
//! Every request carries `ConnectInfo<SocketAddr>` (the TCP peer), as with
//! `into_make_service_with_connect_info`, and TCP_NODELAY is set (events
//! are small frames that must leave at once).
//!
//! On shutdown the listener closes, every connection is asked to finish
//! gracefully (in-flight requests complete, idle ones close), and after
//! [`SHUTDOWN_GRACE`] whatever is left is dropped.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// How long connections get to finish after shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Connection limits (from [`crate::Limits`]).
#[derive(Clone)]
pub struct ConnLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Open connections per client address (0: no cap).
    pub max_per_addr: usize,
    /// Peers the cap does not apply to (trusted reverse proxies: every
    /// client behind them shares their address).
    pub exempt: Option<Arc<dyn Fn(IpAddr) -> bool + Send + Sync>>,
}

impl ConnLimits {
    pub fn from_limits(l: &crate::Limits) -> Self {
        ConnLimits {
            header_timeout: Duration::from_millis(l.http_header_timeout_ms.max(1)),
            idle_timeout: Duration::from_secs(l.http_idle_secs.max(1)),
            max_per_addr: l.max_conns_per_addr,
            exempt: None,
        }
    }
}

/// Turns an accepted TCP stream into the stream HTTP is read from: as it is
/// ([`Plain`]), or after a TLS handshake. It runs in the connection's own
/// task, under the header deadline and after the per-address check.
pub trait Handshake: Clone + Send + Sync + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn handshake(&self, tcp: TcpStream) -> impl Future<Output = std::io::Result<Self::Io>> + Send;
}

/// Plain TCP.
#[derive(Clone, Copy, Debug, Default)]
pub struct Plain;

impl Handshake for Plain {
    type Io = TcpStream;
    async fn handshake(&self, tcp: TcpStream) -> std::io::Result<TcpStream> {
        Ok(tcp)
    }
}

/// Open connections per client address.
#[derive(Default)]
struct PerAddr {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; the count goes down when it drops.
struct Slot {
    table: Arc<PerAddr>,
    key: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut m = self.table.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

/// The address a client is counted under: IPv4 as is (IPv4-mapped IPv6
/// too), IPv6 by its /64 (one host or site usually holds a whole /64).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl PerAddr {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Slot> {
        let key = client_key(ip);
        let mut m = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(key).or_insert(0);
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot { table: self.clone(), key })
    }
}

/// What the watchdog needs to know about a connection's requests.
struct Activity {
    accepted: Instant,
    state: Mutex<ActState>,
}

struct ActState {
    /// Requests whose response has not finished streaming.
    in_flight: usize,
    /// When the last request started or the last response finished.
    last: Instant,
    seen_request: bool,
}

impl Activity {
    fn new(now: Instant) -> Arc<Self> {
        Arc::new(Activity { accepted: now, state: Mutex::new(ActState { in_flight: 0, last: now, seen_request: false }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        let mut s = self.lock();
        s.in_flight += 1;
        s.seen_request = true;
        s.last = Instant::now();
        InFlight(self.clone())
    }

    /// When to look again, and whether the connection is past its deadline.
    fn check(&self, now: Instant, l: &ConnLimits) -> (Instant, bool) {
        let s = self.lock();
        if !s.seen_request {
            let due = self.accepted + l.header_timeout;
            return (due, now >= due);
        }
        if s.in_flight > 0 {
            return (now + l.idle_timeout, false);
        }
        let due = s.last + l.idle_timeout;
        (due, now >= due)
    }
}

/// A request in flight until its response body is done (or dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        s.last = Instant::now();
    }
}

/// The connection's stream, holding its per-address slot: after a
/// WebSocket upgrade the socket owns the stream, so it stays counted
/// until the socket closes.
struct Counted<I> {
    io: I,
    _slot: Option<Slot>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Counted<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Counted<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A response body that holds its request's [`InFlight`] until it ends.
struct Tracked {
    inner: Body,
    _flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Accepts connections on `listener` and serves `router` on each (through
/// `handshake`), within `limits`, until `shutdown` completes; then finishes
/// gracefully (see the module doc) and returns.
pub async fn serve_connections<H: Handshake>(listener: TcpListener, router: Router, limits: ConnLimits, handshake: H, shutdown: impl Future<Output = ()>) {
    let per_addr = Arc::new(PerAddr::default());
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    // Each connection holds a receiver; `closed()` says when all are gone.
    let (close_tx, close_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors, say: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let exempt = limits.exempt.as_ref().is_some_and(|f| f(peer.ip()));
        let slot = if exempt {
            None
        } else {
            match per_addr.take(peer.ip(), limits.max_per_addr) {
                Some(s) => Some(s),
                None => {
                    tracing::debug!(%peer, max = limits.max_per_addr, "too many connections from this address: closed");
                    drop(tcp);
                    continue;
                }
            }
        };
        let _ = tcp.set_nodelay(true);
        let conn = Connection { peer, router: router.clone(), limits: limits.clone(), builder: builder.clone(), close: close_rx.clone() };
        tokio::spawn(conn.run(tcp, slot, handshake.clone()));
    }
    drop(listener);
    drop(close_rx);
    let _ = close_tx.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, close_tx.closed()).await.is_err() {
        tracing::info!("connections still open after the shutdown grace period: dropped");
    }
}

struct Connection {
    peer: SocketAddr,
    router: Router,
    limits: ConnLimits,
    builder: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    close: tokio::sync::watch::Receiver<bool>,
}

impl Connection {
    async fn run<H: Handshake>(mut self, tcp: TcpStream, slot: Option<Slot>, handshake: H) {
        let peer = self.peer;
        let act = Activity::new(Instant::now());
        let io = tokio::select! {
            r = tokio::time::timeout(self.limits.header_timeout, handshake.handshake(tcp)) => match r {
                Ok(Ok(io)) => io,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "handshake timed out");
                    return;
                }
            },
            _ = self.close.changed() => return,
        };
        let router = self.router.clone();
        let a = act.clone();
        let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let flight = a.begin();
            let router = router.clone();
            async move {
                use tower::ServiceExt;
                let res = router.oneshot(req.map(Body::new)).await?;
                Ok::<_, std::convert::Infallible>(res.map(|b| Tracked { inner: b, _flight: flight }))
            }
        });
        let conn = self.builder.serve_connection_with_upgrades(TokioIo::new(Counted { io, _slot: slot }), svc);
        tokio::pin!(conn);
        let mut closing = false;
        loop {
            let (due, expired) = act.check(Instant::now(), &self.limits);
            if expired {
                tracing::debug!(%peer, "HTTP connection timed out");
                return;
            }
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "HTTP connection ended");
                    }
                    return;
                }
                _ = self.close.changed(), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                _ = tokio::time::sleep_until(due) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_cap_and_ipv6_by_prefix() {
        let t = Arc::new(PerAddr::default());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let s1 = t.take(a, 2).unwrap();
        let _s2 = t.take(a, 2).unwrap();
        assert!(t.take(a, 2).is_none(), "third connection refused");
        assert!(t.take("10.0.0.2".parse().unwrap(), 2).is_some(), "another address has its own count");
        drop(s1);
        assert!(t.take(a, 2).is_some(), "a closed connection frees its slot");
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(client_key(v6a), client_key(v6b));
        assert_ne!(client_key(v6a), client_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(client_key("::ffff:10.0.0.1".parse().unwrap()), a);
        assert!(t.take(a, 0).is_some(), "0 means no cap");
    }

    #[test]
    fn deadlines() {
        let l = ConnLimits { header_timeout: Duration::from_secs(10), idle_timeout: Duration::from_secs(60), max_per_addr: 0, exempt: None };
        let t0 = Instant::now();
        let act = Activity::new(t0);
        assert_eq!(act.check(t0, &l), (t0 + Duration::from_secs(10), false));
        assert!(act.check(t0 + Duration::from_secs(10), &l).1, "no request header within the deadline");
        let f = act.begin();
        assert!(!act.check(t0 + Duration::from_secs(1000), &l).1, "a streaming response is not idle");
        drop(f);
        let last = act.lock().last;
        assert!(!act.check(last + Duration::from_secs(59), &l).1);
        assert!(act.check(last + Duration::from_secs(60), &l).1, "idle past the idle timeout");
    }
}
