//! A minimal W3C WebDriver client (blocking HTTP/1.1 over loopback, JSON
//! bodies) for WebKitWebDriver: just what the end-to-end tests use.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

/// The key W3C uses for element references.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct WebDriver {
    pub port: u16,
    pub session: String,
}

#[derive(Debug)]
pub struct WdError(pub String);

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One request; returns the `value` of the answer, or the WebDriver error.
pub fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, WdError> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| WdError(format!("connect to WebDriver: {e}")))?;
    s.set_read_timeout(Some(Duration::from_secs(120))).ok();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| WdError(format!("write: {e}")))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| WdError(format!("read: {e}")))?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| WdError("no HTTP header end".into()))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut payload = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        payload = dechunk(&payload);
    }
    let v: Value = serde_json::from_slice(&payload).map_err(|e| WdError(format!("bad JSON from WebDriver ({head}): {e}")))?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if let Some(err) = value.get("error").and_then(|e| e.as_str()) {
        return Err(WdError(format!("{err}: {}", value.get("message").and_then(|m| m.as_str()).unwrap_or(""))));
    }
    Ok(value)
}

fn dechunk(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(nl) = b[i..].windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[i..i + nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + nl + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        i = start + size + 2;
        if i >= b.len() {
            break;
        }
    }
    out
}

impl WebDriver {
    pub fn new_session(port: u16, capabilities: Value) -> Result<Self, WdError> {
        let v = request(port, "POST", "/session", Some(&json!({ "capabilities": { "alwaysMatch": capabilities } })))?;
        let session = v["sessionId"].as_str().ok_or_else(|| WdError(format!("no sessionId in {v}")))?.to_string();
        Ok(WebDriver { port, session })
    }

    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        request(self.port, method, &format!("/session/{}{path}", self.session), body.as_ref())
    }

    pub fn find(&self, css: &str) -> Result<String, WdError> {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})))?;
        v[ELEMENT_KEY].as_str().map(String::from).ok_or_else(|| WdError(format!("no element for {css}")))
    }

    pub fn click(&self, element: &str) -> Result<(), WdError> {
        self.cmd("POST", &format!("/element/{element}/click"), Some(json!({}))).map(|_| ())
    }

    pub fn send_keys(&self, element: &str, text: &str) -> Result<(), WdError> {
        self.cmd("POST", &format!("/element/{element}/value"), Some(json!({"text": text}))).map(|_| ())
    }

    pub fn clear(&self, element: &str) -> Result<(), WdError> {
        self.cmd("POST", &format!("/element/{element}/clear"), Some(json!({}))).map(|_| ())
    }

    pub fn text(&self, element: &str) -> Result<String, WdError> {
        Ok(self.cmd("GET", &format!("/element/{element}/text"), None)?.as_str().unwrap_or_default().to_string())
    }

    pub fn execute(&self, script: &str, args: Value) -> Result<Value, WdError> {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    pub fn execute_async(&self, script: &str, args: Value) -> Result<Value, WdError> {
        self.cmd("POST", "/execute/async", Some(json!({"script": script, "args": args})))
    }

    /// PNG bytes of the window.
    pub fn screenshot(&self) -> Result<Vec<u8>, WdError> {
        let v = self.cmd("GET", "/screenshot", None)?;
        base64_decode(v.as_str().unwrap_or_default()).ok_or_else(|| WdError("bad base64 screenshot".into()))
    }

    pub fn close(&self) {
        let _ = request(self.port, "DELETE", &format!("/session/{}", self.session), None);
    }
}

pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        let take = chunk.len().saturating_sub(1);
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}

#[test]
fn base64_round() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
    assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
}
