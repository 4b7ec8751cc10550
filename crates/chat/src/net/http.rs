//! Plain HTTP/1.1 on hyper, one connection per call: the CLI makes a
//! handful of calls per run, so pooling would buy nothing.

use crate::error::NetError;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use onair_proto::ErrorBody;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A relay base URL, `http://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayUrl {
    /// `host:port`
    pub authority: String,
}

impl RelayUrl {
    pub fn parse(url: &str) -> Result<Self, NetError> {
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("ws://")).ok_or_else(|| NetError::BadUrl(url.into()))?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') || !authority.contains(':') {
            return Err(NetError::BadUrl(url.into()));
        }
        Ok(RelayUrl { authority: authority.into() })
    }

    pub fn http(&self) -> String {
        format!("http://{}", self.authority)
    }

    pub fn ws(&self) -> String {
        format!("ws://{}/v1/ws", self.authority)
    }
}

pub struct Http {
    pub url: RelayUrl,
    pub timeout: Duration,
}

impl Http {
    pub fn new(url: RelayUrl) -> Self {
        Http { url, timeout: Duration::from_secs(30) }
    }

    /// One request; returns the status and body whatever the status.
    pub async fn call(&self, method: Method, path_and_query: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Result<(StatusCode, Bytes), NetError> {
        tokio::time::timeout(self.timeout, self.call_inner(method, path_and_query, token, content_type, body)).await.map_err(|_| NetError::Timeout)?
    }

    async fn call_inner(&self, method: Method, pq: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Result<(StatusCode, Bytes), NetError> {
        let addr = &self.url.authority;
        let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|source| NetError::Connect { addr: addr.clone(), source })?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(|e| NetError::Http(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = Request::builder().method(method).uri(pq).header("host", addr.as_str()).header("content-type", content_type);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req.body(Full::new(Bytes::from(body))).map_err(|e| NetError::Http(e.to_string()))?;
        let res = send.send_request(req).await.map_err(|e| NetError::Http(e.to_string()))?;
        let status = res.status();
        let bytes = res.into_body().collect().await.map_err(|e| NetError::Http(e.to_string()))?.to_bytes();
        Ok((status, bytes))
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
        assert!(RelayUrl::parse("https://x:1").is_err());
        assert!(RelayUrl::parse("http://x/y").is_err());
    }
}
