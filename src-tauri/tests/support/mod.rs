//! End-to-end harness for the real desktop app: the built `onair-app`
//! driven by WebKitWebDriver (Debian's webkit2gtk-driver, the engine
//! tauri-driver wraps) over the W3C WebDriver protocol, under Xvfb when
//! there is no display. Each [`App`] has its own `ONAIR_HOME` and its own
//! WebKitWebDriver, so two instances can talk through one relay.
//!
//! ```no_run
//! let app = App::launch(Launch::new(home.path()));
//! app.click("[data-testid=nav-recordings]");
//! app.wait_text("[data-testid=rec-list]", "onair-", secs(30));
//! app.screenshot("recordings");
//! ```
#![allow(dead_code)]

pub mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use webdriver::WebDriver;

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Where screenshots go: `target/e2e-artifacts/` (kept by CI as artifacts).
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let d = target.join("e2e-artifacts");
    std::fs::create_dir_all(&d).expect("create e2e-artifacts");
    d
}

/// A display of its own for each app instance: WebKit takes a screenshot at
/// the window's next paint, and a window hidden behind another instance's
/// on a shared display never paints. `ONAIR_E2E_DISPLAY` uses an existing one.
pub fn own_display() -> (String, Option<Child>) {
    if let Ok(d) = std::env::var("ONAIR_E2E_DISPLAY") {
        if !d.is_empty() {
            return (d, None);
        }
    }
    let mut x = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", "1366x900x24", "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is installed (scripts/deps.sh test installs xvfb)");
    let mut line = String::new();
    BufReader::new(x.stdout.take().expect("piped")).read_line(&mut line).expect("Xvfb prints its display");
    (format!(":{}", line.trim()), Some(x))
}

/// A private PulseAudio with one null sink, so the webview's media
/// pipeline has a real audio output (with none, WebKit's GStreamer falls
/// back through ALSA/OpenAL probing while the live player starts).
pub struct Pulse {
    child: Child,
    pub server: String,
    _dir: tempfile::TempDir,
}

impl Pulse {
    pub fn start() -> Option<Pulse> {
        let dir = tempfile::tempdir().ok()?;
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
            .ok()?;
        let server = format!("unix:{}", sock.display());
        let start = Instant::now();
        while start.elapsed() < secs(30) {
            let ok = Command::new("pactl").args(["--server", &server, "info"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
            if ok {
                return Some(Pulse { child, server, _dir: dir });
            }
            if !matches!(child.try_wait(), Ok(None)) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The driver's and the app's stderr go to `HOME/app.log` (read it when a
/// test fails; the test prints its path).
fn log_file(home: &Path) -> Stdio {
    std::fs::create_dir_all(home).ok();
    match std::fs::File::create(home.join("app.log")) {
        Ok(f) => Stdio::from(f),
        Err(_) => Stdio::null(),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// How to launch one app instance.
#[derive(Clone, Debug)]
pub struct Launch {
    pub home: PathBuf,
    /// `None`: the app starts its embedded relay.
    pub relay_url: Option<String>,
    /// Extra environment for the app.
    pub env: Vec<(String, String)>,
}

impl Launch {
    pub fn new(home: &Path) -> Self {
        Launch { home: home.to_path_buf(), relay_url: None, env: Vec::new() }
    }
}

/// A running app under WebDriver. Dropping it closes the app.
pub struct App {
    pub wd: WebDriver,
    driver: Child,
    xvfb: Option<Child>,
    _pulse: Option<Pulse>,
    display: String,
    pub home: PathBuf,
    info: Value,
}

fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_onair-app"))
}

impl App {
    /// Starts WebKitWebDriver and the app, waits until the UI has booted
    /// and answered `app_info` (60 s, for loaded machines).
    pub fn launch(l: Launch) -> App {
        let port = free_port();
        let (display, xvfb) = own_display();
        let pulse = Pulse::start();
        let mut cmd = Command::new("WebKitWebDriver");
        if let Some(p) = &pulse {
            cmd.env("PULSE_SERVER", &p.server);
        }
        cmd.arg(format!("--port={port}"))
            .env("DISPLAY", &display)
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("ONAIR_HOME", &l.home)
            .env("ONAIR_KEYCHAIN", "off")
            // The webview's storage (the language chosen, in localStorage)
            // per app home: another test's Chinese must not leak into this one.
            .env("XDG_DATA_HOME", l.home.join("xdg-data"))
            .env_remove("ONAIR_RELAY_URL")
            // WebKit's DMA-BUF renderer needs a GPU; Xvfb has none.
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .env("GDK_BACKEND", "x11")
            .stdout(Stdio::null())
            .stderr(log_file(&l.home));
        if let Some(u) = &l.relay_url {
            cmd.env("ONAIR_RELAY_URL", u);
        }
        for (k, v) in &l.env {
            cmd.env(k, v);
        }
        let driver = cmd.spawn().expect("WebKitWebDriver is installed (Debian: webkit2gtk-driver; scripts/deps.sh test)");
        let start = Instant::now();
        let caps = json!({ "webkitgtk:browserOptions": { "binary": app_binary(), "args": [] } });
        let wd = loop {
            match WebDriver::new_session(port, caps.clone()) {
                Ok(wd) => break wd,
                Err(e) => {
                    assert!(start.elapsed() < secs(60), "could not start the app under WebKitWebDriver: {e}");
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        };
        let mut app = App { wd, driver, xvfb, _pulse: pulse, display, home: l.home, info: Value::Null };
        app.wait_js("return document.body && (document.body.dataset.ready === '1' || document.body.dataset.placeholder === '1')", secs(60), "the UI to boot");
        assert!(
            app.eval("return document.body.dataset.placeholder") != json!("1"),
            "the app was built without its UI: run `npm --prefix ui ci && npm --prefix ui run build`, then cargo test again (scripts/test.sh does this)"
        );
        app.info = app.invoke("app_info", json!({})).expect("app_info answers");
        app
    }

    /// The relay this instance uses (its embedded one unless told otherwise).
    /// The app's private PulseAudio server (`unix:PATH`), if one started.
    pub fn pulse_server(&self) -> Option<String> {
        self._pulse.as_ref().map(|p| p.server.clone())
    }

    pub fn relay_url(&self) -> String {
        self.info["relay"]["url"].as_str().expect("relay url").to_string()
    }

    pub fn info(&self) -> &Value {
        &self.info
    }

    /// Calls a Tauri command through the page's real IPC; Err is the
    /// command's `{code, message}`.
    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let v = self
            .wd
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then(v => done({ ok: v === undefined ? null : v }), e => done({ err: e }));",
                json!([cmd, args]),
            )
            .unwrap_or_else(|e| panic!("invoke {cmd}: {e}"));
        match v.get("err") {
            Some(e) => Err(e.clone()),
            None => Ok(v.get("ok").cloned().unwrap_or(Value::Null)),
        }
    }

    /// Runs a synchronous script (`return …`) in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.wd.execute(script, json!([])).unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub fn eval_args(&self, script: &str, args: Value) -> Value {
        self.wd.execute(script, args).unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls a script until it returns something truthy; returns that.
    pub fn wait_js(&self, script: &str, timeout: Duration, what: &str) -> Value {
        let start = Instant::now();
        let mut last_err = String::new();
        loop {
            let v = self.wd.execute(script, json!([])).unwrap_or_else(|e| {
                last_err = e.to_string();
                Value::Null
            });
            let truthy = !matches!(&v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
            if truthy {
                return v;
            }
            if start.elapsed() > timeout {
                self.screenshot(&format!("timeout-{}", what.replace(|c: char| !c.is_ascii_alphanumeric(), "-")));
                // What the screen said: the newest error toast and the main heading's badge.
                let seen = self
                    .wd
                    .execute("const b = document.querySelector('[data-testid=state-badge]'); const s = document.querySelector('[data-testid=start-stop]'); return 'last error toast: ' + String(window.__onairLastError) + '; badge: ' + (b ? b.textContent : '-') + '; start-stop: ' + (s ? s.textContent + (s.disabled ? ' (disabled)' : '') : '-')", json!([]))
                    .unwrap_or_default();
                panic!("timed out after {timeout:?} waiting for {what} (last: {v}; last script error: {last_err}; {seen})\n--- app log (tail) ---\n{}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The WebKitWebDriver process (the app and its WebKit processes run
    /// under it).
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    /// Presses keys on the app's display as a user would (xdotool, e.g.
    /// `ctrl+shift+r`): what a global hotkey sees.
    pub fn press_keys(&self, keys: &str) {
        let ok = Command::new("xdotool")
            .args(["key", keys])
            .env("DISPLAY", &self.display)
            .status()
            .expect("xdotool is installed (scripts/deps.sh test installs it)")
            .success();
        assert!(ok, "xdotool key {keys} failed");
    }

    /// The last lines the driver and the app wrote to stderr.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.home.join("app.log")).unwrap_or_default();
        // Without the sound libraries' noise about devices this machine lacks.
        let noise = ["ALSA lib", "jack server", "JackShm", "Cannot connect to server"];
        let lines: Vec<&str> = log.lines().filter(|l| !noise.iter().any(|n| l.contains(n))).collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Waits for an element matching `css`; returns its WebDriver id.
    pub fn find(&self, css: &str) -> String {
        let start = Instant::now();
        loop {
            match self.wd.find(css) {
                Ok(e) => return e,
                Err(e) if start.elapsed() > secs(30) => panic!("no element {css}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Clicks an element (waiting for it, and for it to be enabled).
    pub fn click(&self, css: &str) {
        // Screens redraw (the Calls screen every second): an element found
        // a moment ago may have been replaced by its twin; find it again.
        let mut tries = 0;
        loop {
            self.wait_js(&format!("const e = document.querySelector({}); return !!e && !e.disabled", json!(css)), secs(30), &format!("{css} enabled"));
            let e = self.find(css);
            match self.wd.click(&e) {
                Ok(()) => return,
                Err(err) if tries < 10 && err.to_string().contains("stale element") => tries += 1,
                Err(err) => panic!("click {css}: {err}"),
            }
        }
    }

    /// Types into an input (after clearing it).
    pub fn type_text(&self, css: &str, text: &str) {
        let e = self.find(css);
        let _ = self.wd.clear(&e);
        self.wd.send_keys(&e, text).unwrap_or_else(|err| panic!("type into {css}: {err}"));
    }

    /// Sets a `<select>` and fires `change` (WebKitWebDriver cannot click
    /// native option popups reliably).
    pub fn select(&self, css: &str, value: &str) {
        self.find(css);
        let ok = self.eval_args(
            "const s = document.querySelector(arguments[0]); if (![...s.options].some(o => o.value === arguments[1])) return false;
             s.value = arguments[1]; s.dispatchEvent(new Event('change', { bubbles: true })); return true;",
            json!([css, value]),
        );
        assert_eq!(ok, json!(true), "{css} has no option {value}");
    }

    pub fn text(&self, css: &str) -> String {
        self.eval_args("const e = document.querySelector(arguments[0]); return e ? e.textContent : null", json!([css])).as_str().unwrap_or_default().to_string()
    }

    /// Waits until the element's text contains `needle`.
    pub fn wait_text(&self, css: &str, needle: &str, timeout: Duration) {
        self.wait_js(
            &format!("const e = document.querySelector({}); return !!e && e.textContent.includes({})", json!(css), json!(needle)),
            timeout,
            &format!("{css} to show {needle:?}"),
        );
    }

    /// Saves a screenshot to `target/e2e-artifacts/NAME.png`: the whole
    /// display with ImageMagick's `import` when the app has a display of its
    /// own (WebKit's own snapshot waits for a paint that an idle page may
    /// never make), else WebDriver's screenshot of the page.
    pub fn screenshot(&self, name: &str) -> Option<PathBuf> {
        let p = artifacts_dir().join(format!("{name}.png"));
        let ok = if self.xvfb.is_some() {
            Command::new("import")
                .args(["-display", &self.display, "-window", "root"])
                .arg(&p)
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        } else {
            self.wd.screenshot().ok().and_then(|png| std::fs::write(&p, png).ok()).is_some()
        };
        if !ok {
            eprintln!("screenshot {name} could not be taken");
        }
        ok.then_some(p)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.wd.close();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Some(mut x) = self.xvfb.take() {
            let _ = x.kill();
            let _ = x.wait();
        }
    }
}

/// Registers `user` on `relay` and saves the credentials in `home`, as
/// `onair account register` would (the app reads them from there).
pub fn sign_up(home: &Path, relay: &str, user: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let c = rt.block_on(onair_chat::account::sign_in(relay, user, "correct horse battery", true)).expect("register on the relay");
    onair_chat::account::save(home, &c).expect("save credentials");
}
