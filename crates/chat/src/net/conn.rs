//! One WebSocket to the relay: hello, then requests matched to answers by
//! id, with events that arrive in between kept for the caller.

use crate::error::NetError;
use futures_util::{SinkExt, StreamExt};
use onair_proto::*;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use super::http::RelayUrl;

pub struct Connection {
    ws: Ws,
    next_id: u64,
    events: VecDeque<Event>,
    pub user: String,
    pub timeout: Duration,
}

/// Something the relay sent.
#[derive(Debug)]
pub enum Incoming {
    Event(Event),
    /// An error frame not tied to a request.
    Error(ErrorCode, String),
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket to the relay: `wss://` checked against the OS trust
/// store plus `ONAIR_CA_FILE` (nothing is sent to a server that fails),
/// `ws://` only where [`RelayUrl::parse`] allows plain text.
pub async fn ws_connect(ws_url: &str) -> Result<Ws, NetError> {
    let url = RelayUrl::parse(ws_url)?;
    let connector = if url.tls { Some(Connector::Rustls(super::tls::client_config()?)) } else { Some(Connector::Plain) };
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(ws_url, None, true, connector).await.map_err(|e| {
        if let Some(reason) = super::tls::tls_reason(&e) {
            return NetError::Tls { host: url.host.clone(), reason };
        }
        match e {
            tokio_tungstenite::tungstenite::Error::Io(source) => NetError::Connect { addr: url.authority.clone(), source },
            e => NetError::WebSocket(e.to_string()),
        }
    })?;
    Ok(ws)
}

impl Connection {
    pub async fn connect(ws_url: &str, token: &str, timeout: Duration) -> Result<Self, NetError> {
        let ws = tokio::time::timeout(timeout, ws_connect(ws_url)).await.map_err(|_| NetError::Timeout)??;
        // Answers may be slow on a loaded relay; only reaching it is bounded by
        // the (short) connect timeout, so "offline" is detected fast.
        let mut c = Connection { ws, next_id: 1, events: VecDeque::new(), user: String::new(), timeout: timeout.max(Duration::from_secs(30)) };
        c.send(&ClientFrame::Hello { v: PROTOCOL_VERSION, token: token.into() }).await?;
        loop {
            match c.recv_frame().await? {
                ServerFrame::Welcome { user, .. } => {
                    c.user = user;
                    return Ok(c);
                }
                ServerFrame::Error { code, message, .. } => return Err(NetError::Refused { code, message }),
                ServerFrame::Event { ev } => c.events.push_back(ev),
                other => return Err(NetError::Protocol(format!("expected welcome, got {other:?}"))),
            }
        }
    }

    async fn send(&mut self, f: &ClientFrame) -> Result<(), NetError> {
        self.ws.send(Message::Text(f.to_json().into())).await.map_err(|e| NetError::WebSocket(e.to_string()))
    }

    /// Sends raw text: tests use it to send malformed frames.
    pub async fn send_raw(&mut self, text: String) -> Result<(), NetError> {
        self.ws.send(Message::Text(text.into())).await.map_err(|e| NetError::WebSocket(e.to_string()))
    }

    async fn recv_frame(&mut self) -> Result<ServerFrame, NetError> {
        loop {
            let msg = tokio::time::timeout(self.timeout, self.ws.next()).await.map_err(|_| NetError::Timeout)?;
            match msg {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).map_err(|e| NetError::Protocol(e.to_string())),
                Some(Ok(Message::Close(_))) | None => return Err(NetError::Closed),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(NetError::WebSocket(e.to_string())),
            }
        }
    }

    /// Sends a request and waits for its answer; events that arrive first
    /// are queued for [`Connection::next`].
    pub async fn request(&mut self, body: Request) -> Result<Response, NetError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&ClientFrame::Req { id, body }).await?;
        loop {
            match self.recv_frame().await? {
                ServerFrame::Res { id: rid, ok, err } if rid == id => {
                    return match (ok, err) {
                        (Some(r), _) => Ok(r),
                        (None, Some(e)) => Err(NetError::Refused { code: e.code, message: e.message }),
                        (None, None) => Err(NetError::Protocol("empty response".into())),
                    }
                }
                ServerFrame::Event { ev } => self.events.push_back(ev),
                ServerFrame::Error { code, message, id: Some(eid) } if eid == id => return Err(NetError::Refused { code, message }),
                ServerFrame::Error { code, message, .. } => tracing::warn!(?code, %message, "relay error frame"),
                _ => {}
            }
        }
    }

    /// The next event (or stray error), waiting at most `wait`; None on timeout.
    pub async fn next(&mut self, wait: Duration) -> Result<Option<Incoming>, NetError> {
        if let Some(ev) = self.events.pop_front() {
            return Ok(Some(Incoming::Event(ev)));
        }
        let saved = self.timeout;
        self.timeout = wait;
        let r = self.recv_frame().await;
        self.timeout = saved;
        match r {
            Ok(ServerFrame::Event { ev }) => Ok(Some(Incoming::Event(ev))),
            Ok(ServerFrame::Error { code, message, .. }) => Ok(Some(Incoming::Error(code, message))),
            Ok(_) => Ok(None),
            Err(NetError::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
