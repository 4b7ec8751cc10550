//! Helpers for the chat and relay behaviour tests: a real `onair relay`
//! process on 127.0.0.1 and users with their own `ONAIR_HOME`.
#![allow(dead_code)]

pub mod pki;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
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

pub struct Relay {
    child: Option<Child>,
    pub addr: String,
    pub data: PathBuf,
    dir: tempfile::TempDir,
    /// Extra `onair relay` flags (calls: --ring-timeout, --turn-url…).
    extra: Vec<String>,
    /// Where stderr goes when the test reads the relay's log (RUST_LOG=debug).
    log: Option<PathBuf>,
}

impl Relay {
    /// Starts a relay on a free port with a fresh data directory.
    pub fn start() -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("relay");
        let mut r = Relay { child: None, addr: "127.0.0.1:0".into(), data, dir, extra: Vec::new(), log: None };
        r.spawn();
        r
    }

    /// Starts a relay with extra flags; with `log`, its stderr (at debug
    /// level) goes to a file that [`Relay::log`] reads.
    pub fn start_with(extra: &[&str], log: bool) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("relay");
        let log = log.then(|| dir.path().join("relay.log"));
        let mut r = Relay { child: None, addr: "127.0.0.1:0".into(), data, dir, extra: extra.iter().map(|s| s.to_string()).collect(), log };
        r.spawn();
        r
    }

    pub fn log(&self) -> String {
        self.log.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default()
    }

    fn spawn(&mut self) {
        let ready = self.dir.path().join("ready");
        let _ = std::fs::remove_file(&ready);
        let mut cmd = Command::new(BIN);
        // RTMP ingest on a free port: parallel relays never fight over 1935.
        cmd.args(["relay", "--listen", &self.addr, "--rtmp", "127.0.0.1:0", "--data"])
            .arg(&self.data)
            .arg("--ready-file")
            .arg(&ready)
            .args(&self.extra)
            .env("ONAIR_HOME", self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(log) = &self.log {
            let f = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("relay log file");
            // `-v` flags in `extra` pick the level themselves (RUST_LOG would win over them).
            if self.extra.iter().any(|a| a.starts_with("-v")) {
                cmd.env_remove("RUST_LOG").stderr(f);
            } else {
                cmd.env("RUST_LOG", "debug").stderr(f);
            }
        }
        self.child = Some(cmd.spawn().expect("spawn onair relay"));
        // A restart rebinds the same port, which may take a moment to free:
        // its old number can meanwhile be lent to another process's outgoing
        // connection ("address in use"), so a relay that exits is started
        // again until the port is free.
        self.addr = wait_for(60, "the relay to listen", || {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                std::thread::sleep(Duration::from_millis(250));
                self.child = Some(cmd.spawn().expect("spawn onair relay"));
            }
            std::fs::read_to_string(&ready).ok().filter(|s| !s.is_empty())
        });
    }

    /// A scratch directory that lives as long as the relay.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `https://` when the relay serves its own TLS (`--tls-cert`).
    pub fn url(&self) -> String {
        let tls = self.extra.iter().any(|a| a == "--tls-cert");
        format!("{}://{}", if tls { "https" } else { "http" }, self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    fn signal(&mut self, sig: i32) {
        if let Some(mut c) = self.child.take() {
            unsafe { libc::kill(c.id() as i32, sig) };
            let _ = c.wait();
        }
    }

    /// Graceful stop (SIGTERM), waiting for the process to exit.
    pub fn stop(&mut self) {
        self.signal(libc::SIGTERM);
    }

    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
    }

    /// Starts again on the same address and data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn start_again(&mut self) {
        assert!(self.child.is_none());
        self.spawn();
    }

    pub fn healthz(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(&self.addr) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = s.write_all(format!("GET /healthz HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", self.addr).as_bytes());
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.starts_with("HTTP/1.1 200")
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}

pub struct User {
    pub name: String,
    pub home: tempfile::TempDir,
}

impl User {
    pub fn register(relay: &Relay, name: &str) -> User {
        let u = User { name: name.into(), home: tempfile::tempdir().unwrap() };
        u.ok(&["account", "register", "--relay", &relay.url(), "--user", name]);
        u
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args).env("ONAIR_HOME", self.home.path()).env("ONAIR_PASSWORD", PASSWORD).env_remove("RUST_LOG");
        // The test users' tokens go to their own 0600 file, whatever keychain
        // the developer's desktop has (tests/keychain.rs covers the keychain).
        c.env("ONAIR_KEYCHAIN", "off");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run onair")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{} {:?} failed: {}\n{}", self.name, args, String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout));
        String::from_utf8(o.stdout).unwrap()
    }

    pub fn json_lines(&self, args: &[&str]) -> Vec<Value> {
        self.ok(args).lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    pub fn history(&self, with: &str, offline: bool) -> Vec<Value> {
        let mut a = vec!["chat", "history", "--with", with, "--limit", "100000", "--json"];
        if offline {
            a.push("--offline");
        }
        self.json_lines(&a)
    }

    pub fn token(&self) -> String {
        let v: Value = serde_json::from_slice(&std::fs::read(self.home.path().join("secrets.json")).unwrap()).unwrap();
        v["relay-token"].as_str().unwrap().to_string()
    }

    pub fn home_path(&self) -> &Path {
        self.home.path()
    }
}

pub fn texts(msgs: &[Value]) -> Vec<String> {
    msgs.iter().map(|m| m["text"].as_str().unwrap().to_string()).collect()
}
