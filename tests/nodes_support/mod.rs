//! Several relay nodes on one store and one Redis, as real processes on
//! 127.0.0.1: `redis-server` (Debian package) on a free port with no
//! persistence, and `onair relay --bus redis://… --node-id …` nodes.
//!
//! The nodes share one store: a PostgreSQL database ([`Cluster::start_on`]
//! with a `postgres://` URL), or one SQLite file in a shared data folder
//! (safe across processes: SQLite takes its write lock per transaction, so
//! seqs stay dense and unique; a transaction that loses the race is
//! answered "send again", which the tests' clients do).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_onair");
pub const PASSWORD: &str = "correct horse battery";

/// Polls `f` until it returns Some, or panics after `secs`.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs}s waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `redis-server` on a free port; stopped (SIGKILL) on drop.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        let mut r = Redis { port: free_port(), child: None, dir: tempfile::tempdir().unwrap() };
        r.start_again();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port, empty: no persistence.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none());
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run redis-server (Debian package redis-server; scripts/deps.sh test installs it)");
        self.child = Some(child);
        wait_for(30, "redis-server to answer PING", || self.ping().then_some(()));
    }

    pub fn ping(&self) -> bool {
        self.command("PING\r\n").starts_with("+PONG")
    }

    /// One raw RESP command line; the reply as text.
    pub fn command(&self, line: &str) -> String {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else { return String::new() };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.write_all(line.as_bytes());
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One `onair relay` node.
pub struct Node {
    pub id: String,
    pub addr: String,
    /// The node's RTMP ingest address.
    pub rtmp: String,
    child: Option<Child>,
    args: Vec<String>,
    ready: PathBuf,
    log: PathBuf,
}

impl Node {
    fn spawn(&mut self) {
        let _ = std::fs::remove_file(&self.ready);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(BIN)
            .arg("relay")
            .args(&self.args)
            .arg("--ready-file")
            .arg(&self.ready)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn onair relay");
        self.child = Some(child);
        let ready = self.ready.clone();
        let log = self.log.clone();
        self.addr = wait_for(60, "a relay node to listen", || {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    panic!("relay node exited ({st}): {}", std::fs::read_to_string(&log).unwrap_or_default());
                }
            }
            std::fs::read_to_string(&ready).ok().filter(|s| !s.is_empty())
        });
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM: the node drains and leaves; waits (bounded) for its exit.
    pub fn stop(&mut self) -> Duration {
        let t = Instant::now();
        if let Some(mut c) = self.child.take() {
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
        t.elapsed()
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
            let _ = c.wait();
        }
    }

    /// `/metrics` (the nodes run with the token "m").
    pub fn metrics(&self) -> String {
        http(&self.addr, "GET", "/metrics", Some("m"), None).1
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Nodes sharing one store and one Redis.
pub struct Cluster {
    pub redis: Redis,
    pub nodes: Vec<Node>,
    store: Option<String>,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Redis and `n` nodes named a, b, c…; `extra` goes to every node.
    pub fn start(n: usize, extra: &[&str]) -> Cluster {
        Self::start_on(None, n, extra)
    }

    /// The same on the store at `store` (`--store`), if given.
    pub fn start_on(store: Option<String>, n: usize, extra: &[&str]) -> Cluster {
        let redis = Redis::start();
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cluster { redis, nodes: Vec::new(), store, dir };
        for i in 0..n {
            // One at a time: the first creates the schema.
            c.add(&((b'a' + i as u8) as char).to_string(), extra);
        }
        c
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn add(&mut self, id: &str, extra: &[&str]) {
        let rtmp = format!("127.0.0.1:{}", free_port());
        let mut args: Vec<String> = ["--listen", "127.0.0.1:0", "--rtmp", &rtmp, "--node-id", id, "--metrics-token", "m", "--bus"].iter().map(|s| s.to_string()).collect();
        args.push(self.redis.url());
        args.push("--data".into());
        args.push(self.data().display().to_string());
        if let Some(store) = &self.store {
            args.push("--store".into());
            args.push(store.clone());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut node = Node { id: id.into(), addr: String::new(), rtmp, child: None, args, ready: self.dir.path().join(format!("ready-{id}")), log: self.dir.path().join(format!("{id}.log")) };
        node.spawn();
        self.nodes.push(node);
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// nginx in front of every node, with deploy/nginx-nodes.conf.
    pub fn nginx(&self) -> Front {
        let dir = tempfile::tempdir().unwrap();
        let (port, rtmp) = (free_port(), free_port());
        let http: String = self.nodes.iter().map(|n| format!("        server {} max_fails=1 fail_timeout=10s;\n", n.addr)).collect();
        let rtmps: String = self.nodes.iter().map(|n| format!("        server {};\n", n.rtmp)).collect();
        let conf = include_str!("../../deploy/nginx-nodes.conf")
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@PORT@", &port.to_string())
            .replace("@RTMPPORT@", &rtmp.to_string())
            .replace("@UPSTREAMS@", http.trim_end())
            .replace("@RTMPUPSTREAMS@", rtmps.trim_end());
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx is installed (scripts/deps.sh test)");
        let mut f = Front { child, addr: format!("127.0.0.1:{port}"), rtmp: format!("127.0.0.1:{rtmp}"), dir };
        wait_for(20, "nginx to listen", || {
            if let Ok(Some(st)) = f.child.try_wait() {
                panic!("nginx exited ({st}): {}", std::fs::read_to_string(f.dir.path().join("error.log")).unwrap_or_default());
            }
            std::net::TcpStream::connect(&f.addr).ok()
        });
        f
    }
}

/// nginx in front of the nodes; stopped on drop.
pub struct Front {
    child: Child,
    pub addr: String,
    pub rtmp: String,
    dir: tempfile::TempDir,
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Minimal HTTP/1.1 on 127.0.0.1: (status, body).
pub fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else { return (0, String::new()) };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let body = body.unwrap_or("");
    let _ = write!(s, "{method} {path} HTTP/1.1\r\nhost: {addr}\r\n{auth}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// Registers `user` through `node`; returns a token.
pub fn register(node: &Node, user: &str) -> String {
    let (st, body) = http(&node.addr, "POST", "/v1/register", None, Some(&format!(r#"{{"user":"{user}","password":"{PASSWORD}"}}"#)));
    assert_eq!(st, 201, "register {user}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// Logs `user` in through `node` (`password`): the status and body.
pub fn login(node: &Node, user: &str, password: &str) -> (u16, String) {
    http(&node.addr, "POST", "/v1/login", None, Some(&format!(r#"{{"user":"{user}","password":"{password}"}}"#)))
}
