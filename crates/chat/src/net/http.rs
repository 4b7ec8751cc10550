//! HTTP to the relay through reqwest (rustls, the OS trust store plus
//! `ONAIR_CA_FILE`): one pooled client per process, so HTTPS handshakes are
//! paid once per relay, not once per call.

use crate::error::NetError;
use onair_proto::ErrorBody;
pub use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The body type answers come in.
pub type Bytes = Vec<u8>;

static INSECURE_HTTP: AtomicBool = AtomicBool::new(false);

/// Allows plain `http://`/`ws://` to relays that are not on this machine
/// (`--insecure-http`, or `ONAIR_INSECURE_HTTP=1`, or the app's setting).
/// Passwords, tokens and messages then cross the network in clear.
pub fn allow_insecure_http(on: bool) {
    INSECURE_HTTP.store(on, Ordering::Relaxed);
}

fn insecure_allowed() -> bool {
    INSECURE_HTTP.load(Ordering::Relaxed) || std::env::var("ONAIR_INSECURE_HTTP").is_ok_and(|v| v == "1" || v == "true")
}

/// A relay base URL: `https://host[:port]` (or `wss://`), or `http://` for
/// a relay on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayUrl {
    /// `host:port` or `host` (the scheme's default port)
    pub authority: String,
    /// The host alone, without brackets or port: what the certificate names.
    pub host: String,
    pub tls: bool,
}

impl RelayUrl {
    pub fn parse(url: &str) -> Result<Self, NetError> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://").or_else(|| url.strip_prefix("wss://")) {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://").or_else(|| url.strip_prefix("ws://")) {
            (false, r)
        } else {
            return Err(NetError::BadUrl(url.into()));
        };
        let authority = rest.trim_end_matches('/');
        let authority = authority.strip_suffix("/v1/ws").unwrap_or(authority);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(NetError::BadUrl(url.into()));
        }
        let host = host_of(authority).ok_or_else(|| NetError::BadUrl(url.into()))?;
        if !tls && !is_loopback(&host) && !insecure_allowed() {
            return Err(NetError::InsecureUrl(url.into()));
        }
        Ok(RelayUrl { authority: authority.into(), host, tls })
    }

    /// True when this is plain HTTP to another machine (allowed only by opt-in).
    pub fn is_insecure_remote(&self) -> bool {
        !self.tls && !is_loopback(&self.host)
    }

    pub fn http(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.authority)
    }

    pub fn ws(&self) -> String {
        format!("{}://{}/v1/ws", if self.tls { "wss" } else { "ws" }, self.authority)
    }
}

/// `host` of `host`, `host:port`, `[v6]`, `[v6]:port`.
fn host_of(authority: &str) -> Option<String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (h, tail) = rest.split_once(']')?;
        if !(tail.is_empty() || tail.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok())) {
            return None;
        }
        return Some(h.to_string());
    }
    let (h, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if h.is_empty() || h.contains(':') || port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return None;
    }
    Some(h.to_ascii_lowercase())
}

/// This machine: `localhost`, 127.0.0.0/8, `::1`.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The process's HTTP client (reqwest keeps connections per host).
fn client() -> Result<reqwest::Client, NetError> {
    static CLIENT: OnceLock<Mutex<Option<(usize, reqwest::Client)>>> = OnceLock::new();
    let tls = super::tls::client_config()?;
    let key = std::sync::Arc::as_ptr(&tls) as usize;
    let slot = CLIENT.get_or_init(|| Mutex::new(None));
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((k, c)) = slot.as_ref() {
        if *k == key {
            return Ok(c.clone());
        }
    }
    let c = reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        // Shorter than any relay keeps an idle connection open (its header
        // deadline, 10 s by default): a pooled connection is never one the
        // relay has just closed.
        .pool_idle_timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .map_err(|e| NetError::TlsSetup(e.to_string()))?;
    *slot = Some((key, c.clone()));
    Ok(c)
}

/// A reqwest error as what the user needs to know: TLS (with the reason),
/// cannot connect, timed out, or other.
pub(crate) fn map_reqwest(url: &RelayUrl, e: reqwest::Error) -> NetError {
    if let Some(reason) = super::tls::tls_reason(&e) {
        return NetError::Tls { host: url.host.clone(), reason };
    }
    if e.is_timeout() {
        return NetError::Timeout;
    }
    if e.is_connect() {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = src {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                return NetError::Connect { addr: url.authority.clone(), source: std::io::Error::new(io.kind(), io.to_string()) };
            }
            src = s.source();
        }
        return NetError::Connect { addr: url.authority.clone(), source: std::io::Error::other(e.without_url().to_string()) };
    }
    NetError::Http(e.without_url().to_string())
}

pub struct Http {
    pub url: RelayUrl,
    pub timeout: Duration,
}

impl Http {
    pub fn new(url: RelayUrl) -> Self {
        Http { url, timeout: Duration::from_secs(30) }
    }

    /// A request builder for `path_and_query` on this relay, with the bearer token.
    pub fn request(&self, method: Method, path_and_query: &str, token: Option<&str>) -> Result<reqwest::RequestBuilder, NetError> {
        let mut req = client()?.request(method, format!("{}{}", self.url.http(), path_and_query)).timeout(self.timeout);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Ok(req)
    }

    /// Sends a built request; returns the status and body whatever the status.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<(StatusCode, Bytes), NetError> {
        // A kept-alive connection the server closed a moment ago fails the
        // request before any answer: an idempotent request goes again once,
        // on a new connection.
        let again = req.try_clone().filter(|r| r.try_clone().and_then(|r| r.build().ok()).is_some_and(|r| r.method().is_idempotent()));
        let res = match (req.send().await, again) {
            (Ok(res), _) => res,
            (Err(e), Some(again)) if e.is_request() && !e.is_timeout() && !e.is_connect() && super::tls::tls_reason(&e).is_none() => {
                tracing::debug!(error = %e.without_url(), "request failed on a kept-alive connection; sending it again");
                again.send().await.map_err(|e| map_reqwest(&self.url, e))?
            }
            (Err(e), _) => return Err(map_reqwest(&self.url, e)),
        };
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| map_reqwest(&self.url, e))?;
        Ok((status, bytes.to_vec()))
    }

    /// One request; returns the status and body whatever the status.
    pub async fn call(&self, method: Method, path_and_query: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Result<(StatusCode, Bytes), NetError> {
        let req = self.request(method, path_and_query, token)?.header("content-type", content_type).body(body);
        self.send(req).await
    }

    /// A JSON call; a non-2xx answer becomes `NetError::Refused` with the
    /// relay's error code.
    pub async fn json<T: DeserializeOwned>(&self, method: Method, path: &str, token: Option<&str>, body: &impl serde::Serialize) -> Result<T, NetError> {
        let body = serde_json::to_vec(body).map_err(|e| NetError::Protocol(e.to_string()))?;
        let (status, bytes) = self.call(method, path, token, "application/json", body).await?;
        decode(status, &bytes)
    }
}

pub fn decode<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T, NetError> {
    if !status.is_success() {
        return Err(match serde_json::from_slice::<ErrorBody>(bytes) {
            Ok(e) => NetError::Refused { code: e.code, message: e.message },
            Err(_) => NetError::Http(format!("HTTP {status}")),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| NetError::Protocol(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = RelayUrl::parse("http://127.0.0.1:7380/").unwrap();
        assert_eq!(u.ws(), "ws://127.0.0.1:7380/v1/ws");
        assert_eq!(u.http(), "http://127.0.0.1:7380");
        let s = RelayUrl::parse("https://relay.example.org").unwrap();
        assert_eq!((s.ws().as_str(), s.http().as_str(), s.host.as_str()), ("wss://relay.example.org/v1/ws", "https://relay.example.org", "relay.example.org"));
        let s = RelayUrl::parse("wss://[::1]:8443/v1/ws").unwrap();
        assert_eq!((s.http().as_str(), s.host.as_str()), ("https://[::1]:8443", "::1"));
        assert!(RelayUrl::parse("http://localhost:9/").is_ok());
        assert!(RelayUrl::parse("http://x/y").is_err());
        assert!(RelayUrl::parse("ftp://x:1").is_err());
        assert!(RelayUrl::parse("https://x:99999").is_err());
        assert!(RelayUrl::parse("https://user@x:1").is_err());
    }

    #[test]
    fn plain_http_is_for_this_machine_only() {
        let e = RelayUrl::parse("http://relay.example.org:7380").unwrap_err();
        assert!(matches!(e, NetError::InsecureUrl(_)), "{e}");
        assert!(e.to_string().contains("https://"), "{e}");
        assert!(RelayUrl::parse("ws://10.0.0.2:7380").is_err());
        assert!(RelayUrl::parse("http://127.0.0.2:7380").is_ok());
        assert!(RelayUrl::parse("http://[::1]:7380").is_ok());
    }
}
