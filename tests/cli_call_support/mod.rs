//! Helpers for the call tests: a relay with call options, `onair call`
//! processes whose stdout is collected line by line, coturn on 127.0.0.1.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_onair");
pub const PASSWORD: &str = "correct horse battery";

/// Calls are heavy (two encoders, two decoders): run one test at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct RelayProc {
    child: Child,
    pub addr: String,
    extra: Vec<String>,
    _dir: tempfile::TempDir,
}

impl RelayProc {
    pub fn start(extra: &[&str]) -> RelayProc {
        let dir = tempfile::tempdir().unwrap();
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, addr) = Self::spawn(dir.path(), "127.0.0.1:0", &extra);
        RelayProc { child, addr, extra, _dir: dir }
    }

    /// Kills the relay (SIGKILL: no goodbye to anyone, as in a crash).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the relay gracefully (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        let st = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(st.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the relay did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts it again on the same address with the same data directory.
    pub fn restart(&mut self) {
        self.kill();
        let (child, addr) = Self::spawn(self._dir.path(), &self.addr.clone(), &self.extra);
        assert_eq!(addr, self.addr);
        self.child = child;
    }

    fn spawn(dir: &Path, listen: &str, extra: &[String]) -> (Child, String) {
        let ready = dir.join("ready");
        let _ = std::fs::remove_file(&ready);
        let child = Command::new(BIN)
            .args(["relay", "--listen", listen, "--rtmp", "127.0.0.1:0", "--data"])
            .arg(dir.join("relay"))
            .arg("--ready-file")
            .arg(&ready)
            .args(extra)
            .env("ONAIR_HOME", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn onair relay");
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            if let Some(a) = std::fs::read_to_string(&ready).ok().filter(|s| !s.is_empty()) {
                break a;
            }
            assert!(Instant::now() < deadline, "relay did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        (child, addr)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The relay's --data folder.
    pub fn data_dir(&self) -> PathBuf {
        self._dir.path().join("relay")
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Person {
    pub name: String,
    pub home: tempfile::TempDir,
}

impl Person {
    pub fn register(relay: &RelayProc, name: &str) -> Person {
        let p = Person { name: name.into(), home: tempfile::tempdir().unwrap() };
        let out = Command::new(BIN)
            .args(["account", "register", "--relay", &relay.url(), "--user", name])
            .env("ONAIR_HOME", p.home.path())
            .env("ONAIR_PASSWORD", PASSWORD)
            .output()
            .unwrap();
        assert!(out.status.success(), "register {name}: {}", String::from_utf8_lossy(&out.stderr));
        p
    }

    pub fn path(&self, f: &str) -> PathBuf {
        self.home.path().join(f)
    }

    /// Starts `onair call ARGS` with the test sources at a small size on loopback.
    pub fn call(&self, args: &[&str]) -> CallProc {
        self.call_env(args, &[])
    }

    /// [`Person::call`] with extra environment variables (e.g. DISPLAY).
    pub fn call_env(&self, args: &[&str], env: &[(&str, &str)]) -> CallProc {
        self.call_with(&["--video", "test", "--size", "320x240", "--video-bitrate", "400"], args, env)
    }

    /// `onair call` with the test audio on loopback, `video` (source, size,
    /// bitrate options; an `--audio` there replaces the test audio) in place
    /// of the small test picture.
    pub fn call_with(&self, video: &[&str], args: &[&str], env: &[(&str, &str)]) -> CallProc {
        let audio: &[&str] = if video.contains(&"--audio") { &[] } else { &["--audio", "test"] };
        let mut child = Command::new(BIN)
            .arg("call")
            .args(audio)
            .args(["--ice-ip", "127.0.0.1", "--x264-preset", "ultrafast"])
            .args(video)
            .args(args)
            .env("ONAIR_HOME", self.home.path())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn onair call");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let out = child.stdout.take().unwrap();
        let l = lines.clone();
        let name = self.name.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("[{name}] {line}");
                l.lock().unwrap().push(line);
            }
        });
        let stdin = child.stdin.take();
        CallProc { child, stdin, lines }
    }
}

pub struct CallProc {
    pub child: Child,
    stdin: Option<ChildStdin>,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl CallProc {
    pub fn said(&self, needle: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    pub fn wait_said(&self, secs: u64, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.said(needle) {
            assert!(Instant::now() < deadline, "timed out after {secs}s waiting for {needle:?}; said: {:?}", self.lines.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn type_line(&mut self, line: &str) {
        let s = self.stdin.as_mut().expect("stdin");
        writeln!(s, "{line}").unwrap();
        s.flush().unwrap();
    }

    /// Waits for the process to exit (killing it past `secs`) and returns its exit code.
    pub fn finish(&mut self, secs: u64) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("onair call did not finish in {secs}s; said: {:?}", self.lines.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for CallProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn stats(path: &Path) -> Value {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&b).unwrap()
}

/// Polls a live `--stats-json` file until `ok` holds (the file is
/// rewritten about once a second during the call); returns that snapshot.
pub fn wait_stats(path: &Path, secs: u64, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = Value::Null;
    loop {
        if let Some(v) = std::fs::read(path).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()) {
            if ok(&v) {
                return v;
            }
            last = v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs}s waiting for {what}; last stats: {last}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A number in a stats object, or 0 when absent (null before media flows).
pub fn num(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(0.0)
}

/// The mean (Y, U, V) of the last picture the side decoded.
pub fn yuv(v: &Value) -> (f64, f64, f64) {
    let p = &v["picture_yuv"];
    (p[0].as_f64().unwrap_or(-1.0), p[1].as_f64().unwrap_or(-1.0), p[2].as_f64().unwrap_or(-1.0))
}

/// An X server of our own (Xvfb) with a white root window: a screen share
/// of it is a white picture.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Xvfb {
        // A display number of our own that no other X server holds.
        let first = 190 + std::process::id() % 100;
        let n = (first..first + 100).find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists()).expect("a free X display number");
        let display = format!(":{n}");
        let mut child = Command::new("Xvfb")
            .args([&display, "-screen", "0", "640x480x24", "-wr", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed (scripts/deps.sh test)");
        let sock = format!("/tmp/.X11-unix/X{}", &display[1..]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !Path::new(&sock).exists() {
            assert!(child.try_wait().unwrap().is_none(), "Xvfb {display} exited at start");
            assert!(Instant::now() < deadline, "Xvfb did not start on {display}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Xvfb { child, display }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn n(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} missing in {v}"))
}

/// coturn on 127.0.0.1 with the REST-API shared secret.
pub struct Turn {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Turn {
    pub fn start(secret: &str) -> Turn {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("turnserver")
            .args(["-n", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", &port.to_string()])
            .args(["--use-auth-secret", &format!("--static-auth-secret={secret}"), "--realm", "onair"])
            .args(["--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--min-port", "49160", "--max-port", "49999"])
            .args(["--log-file", "stdout", "--simple-log"])
            .arg("--pidfile")
            .arg(dir.path().join("turn.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver (coturn) is installed: scripts/deps.sh test");
        // Ready when it answers a STUN binding request on its port.
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let req = [0u8, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let _ = sock.send_to(&req, ("127.0.0.1", port));
            let mut buf = [0u8; 256];
            if sock.recv_from(&mut buf).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "coturn did not start on 127.0.0.1:{port}");
        }
        Turn { child, port, _dir: dir }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private PulseAudio server (own runtime dir and socket) whose only
/// output is a null sink: a speaker the test can listen to through its
/// monitor. Programs reach it with `PULSE_SERVER` (ALSA's default device
/// goes to PulseAudio when one runs: libasound2-plugins).
pub struct Pulse {
    child: Child,
    pub server: String,
    _dir: tempfile::TempDir,
}

impl Pulse {
    pub fn start() -> Pulse {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("native");
        let mut child = Command::new("pulseaudio")
            .args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--system=no", "--log-target=stderr", "--log-level=error"])
            .arg("-L")
            .arg("module-null-sink sink_name=speaker rate=48000")
            .arg("-L")
            .arg(format!("module-native-protocol-unix auth-anonymous=1 socket={}", sock.display()))
            .env("XDG_RUNTIME_DIR", dir.path())
            .env("HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pulseaudio is installed (scripts/deps.sh test)");
        let server = format!("unix:{}", sock.display());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = Command::new("pactl").args(["--server", &server, "info"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
            if ok {
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "pulseaudio exited at start");
            assert!(Instant::now() < deadline, "pulseaudio did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Pulse { child, server, _dir: dir }
    }

    /// Records `secs` of what the speaker plays (mono f32 at 48 kHz).
    pub fn listen(&self, secs: f64) -> Vec<f32> {
        let want = (48_000.0 * secs) as usize * 4;
        let mut child = Command::new("parec")
            .args(["--server", &self.server, "-d", "speaker.monitor", "--raw", "--format=float32le", "--rate=48000", "--channels=1", "--latency-msec=20"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("parec is installed (pulseaudio-utils)");
        let mut out = child.stdout.take().unwrap();
        let mut bytes = vec![0u8; want];
        let res = std::io::Read::read_exact(&mut out, &mut bytes);
        let _ = child.kill();
        let _ = child.wait();
        res.expect("reading the speaker's monitor");
        bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loudness in dBFS (RMS).
pub fn dbfs(x: &[f32]) -> f64 {
    let ms = x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / x.len().max(1) as f64;
    10.0 * ms.max(1e-12).log10()
}

/// Power of `x` at `hz` (Goertzel), for telling a tone from noise.
pub fn tone_power(x: &[f32], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 48_000.0;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for v in x {
        let s = f64::from(*v) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2
}
