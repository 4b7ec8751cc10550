//! The app against a relay on `https://`: a real `onair relay` serving its
//! own certificate from a private CA made here with `openssl`; the app
//! trusts that CA through `ONAIR_CA_FILE` (as the OS trust store would a
//! public one), creates an account through the Chat screen and its chat
//! socket comes online over `wss://`.

mod support;
#[path = "../../tests/chat_support/pki.rs"]
mod pki;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use support::{secs, App, Launch};

/// The `onair` binary `cargo test --workspace` builds beside the app.
fn onair_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let p = target.join("debug").join("onair");
    assert!(p.exists(), "{} is missing: build it with `cargo build --bin onair` (cargo test --workspace does)", p.display());
    p
}

struct Relay(Child);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_app_signs_up_and_chats_on_an_https_relay() {
    let pki = pki::Pki::new();
    let (cert, key) = pki.leaf("relay", "DNS:localhost,IP:127.0.0.1", 2, false);
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let child = Command::new(onair_bin())
        .args(["relay", "--listen", "127.0.0.1:0", "--rtmp", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("relay"))
        .arg("--ready-file")
        .arg(&ready)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("ONAIR_HOME", dir.path())
        .stdout(Stdio::null())
        .spawn()
        .expect("start onair relay");
    let _relay = Relay(child);
    let start = std::time::Instant::now();
    let addr = loop {
        if let Some(a) = std::fs::read_to_string(&ready).ok().filter(|s| !s.is_empty()) {
            break a;
        }
        assert!(start.elapsed() < secs(60), "the relay did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let url = format!("https://{addr}");

    let home = tempfile::tempdir().unwrap();
    let mut l = Launch::new(home.path());
    l.relay_url = Some(url.clone());
    l.env.push(("ONAIR_CA_FILE".into(), pki.ca().display().to_string()));
    let app = App::launch(l);
    assert_eq!(app.relay_url(), url);

    app.click("[data-testid=nav-chat]");
    app.type_text("[data-testid=chat-user]", "alice");
    app.type_text("[data-testid=chat-password]", "correct horse battery");
    app.click("[data-testid=chat-register]");
    // Registered over HTTPS, and the chat socket is up over WSS.
    app.wait_text("[data-testid=chat-online]", "Online", secs(60));
    app.screenshot("chat-https-relay");

    // The account really is on that relay: the CLI signs in to it.
    let cli_home = tempfile::tempdir().unwrap();
    let out = Command::new(onair_bin())
        .args(["account", "login", "--relay", &url, "--user", "alice"])
        .env("ONAIR_HOME", cli_home.path())
        .env("ONAIR_PASSWORD", "correct horse battery")
        .env("ONAIR_KEYCHAIN", "off")
        .env("ONAIR_CA_FILE", pki.ca())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    app.click("[data-testid=nav-settings]");
    app.wait_text("[data-testid=settings-relay-now]", "https://", secs(30));
    app.screenshot("settings-https-relay");
}
