//! The relay on the open internet, TLS: a real `onair relay` serving its
//! own certificate (made here by `openssl`, from a private CA the clients
//! trust through `ONAIR_CA_FILE`), and a real nginx terminating TLS in
//! front of a relay that believes it through `--trusted-proxy`.

mod call_support;
mod chat_support;
use call_support::chromium::Browser;
use chat_support::pki::Pki;
use chat_support::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// One CA for the whole binary; every child process trusts it.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let p = Pki::new();
        // Set once, before any child starts; inherited by every `onair`.
        std::env::set_var("ONAIR_CA_FILE", p.ca());
        p
    })
}

fn curl(args: &[&str]) -> (bool, String) {
    let o = Command::new("curl").args(["-sS", "--max-time", "20"]).args(args).output().expect("curl");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// The serial number of the certificate the server at `addr` presents.
fn served_serial(addr: &str) -> String {
    let s = Command::new("sh")
        .arg("-c")
        .arg(format!("openssl s_client -connect {addr} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&s.stdout).trim().to_string()
}

fn serial_of(cert: &Path) -> String {
    let o = Command::new("openssl").args(["x509", "-noout", "-serial", "-in"]).arg(cert).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn relay_with(cert: &Path, key: &Path, extra: &[&str]) -> Relay {
    let mut args = vec!["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    args.extend_from_slice(extra);
    Relay::start_with(&args, false)
}

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn chat_attachments_rooms_live_watch_and_calls_over_https_wss_and_rtmps() {
    let pki = pki();
    let (cert, key) = pki.leaf("good", "DNS:localhost,IP:127.0.0.1", 2, false);
    let relay = relay_with(&cert, &key, &["--rtmps", "127.0.0.1:0"]);
    assert!(relay.url().starts_with("https://"));

    // curl trusts it with our CA; plain HTTP is not spoken on the TLS port.
    let (ok, body) = curl(&["--cacert", pki.ca().to_str().unwrap(), &format!("{}/healthz", relay.url())]);
    assert!(ok && body.trim() == "ok", "{body}");
    let (ok, _) = curl(&[&format!("http://{}/healthz", relay.addr)]);
    assert!(!ok, "plain HTTP must not be answered on the TLS port");

    // Accounts and chat (HTTPS + WSS).
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    alice.ok(&["chat", "send", "--to", "bob", "hello over TLS"]);
    let file = alice.home_path().join("note.txt");
    std::fs::write(&file, b"an attachment that crossed TLS").unwrap();
    alice.ok(&["chat", "send", "--to", "bob", "see file", "--file", file.to_str().unwrap()]);
    bob.ok(&["chat", "sync"]);
    let h = bob.history("alice", true);
    assert_eq!(texts(&h), ["hello over TLS", "see file"]);
    let att = h[1]["attachment"]["id"].as_str().expect("attachment id").to_string();
    let got = bob.home_path().join("got.txt");
    bob.ok(&["chat", "download", &att, "--out", got.to_str().unwrap()]);
    assert_eq!(std::fs::read(&got).unwrap(), b"an attachment that crossed TLS");

    // A room; `onair live --to relay://ROOM` publishes over RTMPS because
    // the relay is reached over TLS, and a viewer watches over HTTPS.
    let room: serde_json::Value = serde_json::from_str(alice.ok(&["room", "create", "TLS room", "--json"]).trim()).unwrap();
    let id = room["id"].as_str().unwrap().to_string();
    assert!(room["rtmps_url"].as_str().is_some_and(|u| u.starts_with("rtmps://")), "{room}");
    let live_stats = alice.home_path().join("live.json");
    let live = alice
        .cmd(&["live", "--to", &format!("relay://{id}"), "--video", "test", "--audio", "test", "--preset", "480p30", "--x264-preset", "ultrafast", "--duration", "30"])
        .args(["--stats-json", live_stats.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let watch_stats = bob.home_path().join("watch.json");
    let w = bob.run(&["watch", &id, "--low-latency", "--duration", "4", "--wait", "60", "--stats-json", watch_stats.to_str().unwrap()]);
    assert!(w.status.success(), "watch over https: {}", stderr_of(&w));
    let ws: serde_json::Value = serde_json::from_slice(&std::fs::read(&watch_stats).unwrap()).unwrap();
    assert!(ws["video_frames_decoded"].as_u64().unwrap() > 10, "{ws}");
    // The relay's MSE player page in a real browser, over HTTPS (Chromium
    // accepts exactly this certificate's key).
    let trust = vec![format!("--ignore-certificate-errors-spki-list={}", Pki::spki_hash(&cert))];
    let browser = Browser::open_with("viewer", &format!("{}/watch/{id}", relay.url()), &trust);
    let frames = |b: &Browser| b.lines().iter().rev().find_map(|l| l.strip_prefix("player frames=")?.split_whitespace().next()?.parse::<u64>().ok());
    let first = wait_for(90, "the browser player's first progress line", || frames(&browser));
    wait_for(90, "the browser player to decode 30 more frames over https", || {
        assert!(!browser.lines().iter().any(|l| l.starts_with("player error")), "{:?}", browser.lines());
        frames(&browser).filter(|f| *f >= first + 30)
    });
    drop(browser);
    unsafe { libc::kill(live.id() as i32, libc::SIGTERM) };
    let out = live.wait_with_output().unwrap();
    let ls: serde_json::Value = serde_json::from_slice(&std::fs::read(&live_stats).unwrap()).unwrap_or_default();
    assert!(ls["bytes_sent"].as_u64().unwrap_or(0) > 10_000, "live over rtmps: {ls} {}", stderr_of(&out));

    // A call: signaling over WSS, media peer to peer.
    let mut b = bob
        .cmd(&["call", "--answer", "--from", "alice", "--video", "test", "--audio", "test", "--size", "320x240", "--ice-ip", "127.0.0.1", "--x264-preset", "ultrafast", "--no-speaker"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let bob_stdout = b.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(bob_stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    wait_for(60, "bob to wait for the call", || rx.try_iter().any(|l| l.contains("waiting for a call")).then_some(()));
    let a = alice.run(&["call", "bob", "--duration", "3", "--video", "test", "--audio", "test", "--size", "320x240", "--ice-ip", "127.0.0.1", "--x264-preset", "ultrafast", "--no-speaker"]);
    let b_out = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while b.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = b.kill();
        b.wait_with_output().unwrap()
    };
    assert!(a.status.success(), "alice's call over wss: {}", stderr_of(&a));
    assert!(b_out.status.success(), "bob's call over wss: {}", stderr_of(&b_out));
}

#[test]
fn a_certificate_that_fails_is_refused_with_the_reason_and_nothing_is_sent() {
    let pki = pki();
    let (good_cert, good_key) = pki.leaf("relay", "DNS:localhost,IP:127.0.0.1", 2, false);
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let install = |c: &Path, k: &Path| {
        // As certbot does: new files renamed into place.
        std::fs::copy(k, dir.path().join("key.tmp")).unwrap();
        std::fs::copy(c, dir.path().join("cert.tmp")).unwrap();
        std::fs::rename(dir.path().join("key.tmp"), &key).unwrap();
        std::fs::rename(dir.path().join("cert.tmp"), &cert).unwrap();
    };
    install(&good_cert, &good_key);
    let relay = relay_with(&cert, &key, &[]);
    let served = |want: &Path| {
        let want = serial_of(want);
        wait_for(30, "the relay to serve the new certificate", || (served_serial(&relay.addr) == want).then_some(()));
    };
    served(&good_cert);
    let url = relay.url();
    let try_register = |name: &str| {
        let u = User { name: name.into(), home: tempfile::tempdir().unwrap() };
        let o = u.run(&["account", "register", "--relay", &url, "--user", name]);
        (o.status.success(), stderr_of(&o))
    };

    // An unknown issuer: the client without our CA.
    let stranger = User { name: "mallory".into(), home: tempfile::tempdir().unwrap() };
    let o = stranger.cmd(&["account", "register", "--relay", &url, "--user", "mallory"]).env_remove("ONAIR_CA_FILE").output().unwrap();
    let err = stderr_of(&o);
    assert!(!o.status.success() && err.contains("127.0.0.1") && err.contains("unknown authority"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // A certificate for another name (the relay picks it up without a restart).
    let (c, k) = pki.leaf("elsewhere", "DNS:other.example", 2, false);
    install(&c, &k);
    served(&c);
    let (ok, err) = try_register("carol");
    assert!(!ok && err.contains("another host name"), "{err}");

    // An expired certificate.
    let (c, k) = pki.leaf("expired", "DNS:localhost,IP:127.0.0.1", 0, false);
    install(&c, &k);
    served(&c);
    std::thread::sleep(std::time::Duration::from_millis(1100)); // notAfter is this very second
    let (ok, err) = try_register("dave");
    assert!(!ok && err.contains("expired"), "{err}");

    // A self-signed certificate.
    let (c, k) = pki.leaf("selfsigned", "DNS:localhost,IP:127.0.0.1", 2, true);
    install(&c, &k);
    served(&c);
    let (ok, err) = try_register("erin");
    assert!(!ok && err.contains("unknown authority"), "{err}");

    // A renewal that is half written keeps the old certificate served.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\ngarbage").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(served_serial(&relay.addr), serial_of(&c), "a broken renewal must not take the relay down");

    // Back to a good certificate: nothing that failed reached the relay, so
    // every name refused above is still free.
    install(&good_cert, &good_key);
    served(&good_cert);
    for name in ["mallory", "carol", "dave", "erin"] {
        let (ok, err) = try_register(name);
        assert!(ok, "{name} should be free: {err}");
    }
}

#[test]
fn plain_http_is_refused_for_remote_relays_unless_asked_for() {
    let u = User { name: "x".into(), home: tempfile::tempdir().unwrap() };
    let o = u.run(&["account", "register", "--relay", "http://relay.example.org:7380", "--user", "x"]);
    let err = stderr_of(&o);
    assert!(!o.status.success() && err.contains("unencrypted") && err.contains("https://"), "{err}");
    // With the opt-in the URL is accepted (and then fails to connect: the
    // name does not resolve here) after a warning.
    let o = u.run(&["--insecure-http", "account", "register", "--relay", "http://relay.invalid:7380", "--user", "x"]);
    let err = stderr_of(&o);
    assert!(!o.status.success() && err.contains("warning: --insecure-http") && !err.contains("is plain http://"), "{err}");
}

/// nginx on a port of its own, terminating TLS for a relay in plain HTTP.
struct Nginx {
    dir: tempfile::TempDir,
    port: u16,
    child: std::process::Child,
}

impl Nginx {
    fn start(relay_addr: &str, cert: &Path, key: &Path) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let relay_port = relay_addr.rsplit(':').next().unwrap();
        let conf = include_str!("../deploy/nginx-relay.conf")
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@PORT@", &port.to_string())
            .replace("@RELAYPORT@", relay_port)
            .replace("@CERT@", &cert.display().to_string())
            .replace("@KEY@", &key.display().to_string());
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
        wait_for(20, "nginx to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
        Nginx { dir, port, child }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

/// Logs in with a wrong password from `ip` through nginx; the HTTP status.
fn bad_login_from(ip: &str, url: &str, user: &str) -> String {
    let body = format!(r#"{{"user":"{user}","password":"not the password"}}"#);
    let (_, out) = curl(&["--interface", ip, "--cacert", pki().ca().to_str().unwrap(), "-o", "/dev/null", "-w", "%{http_code}", "-H", "content-type: application/json", "-H", "X-Forwarded-For: 198.51.100.77", "--data", &body, &format!("{url}/v1/login")]);
    out.trim().to_string()
}

#[test]
fn behind_nginx_tls_the_relay_sees_each_clients_own_address() {
    let pki = pki();
    let (cert, key) = pki.leaf("proxy", "DNS:localhost,IP:127.0.0.1", 2, false);
    let relay = Relay::start_with(&["--trusted-proxy", "127.0.0.1"], false);
    let nginx = Nginx::start(&relay.addr, &cert, &key);
    let url = format!("https://127.0.0.1:{}", nginx.port);

    // Chat through the proxy: HTTPS and WSS (nginx upgrades the socket).
    let reg = |name: &str| {
        let u = User { name: name.into(), home: tempfile::tempdir().unwrap() };
        u.ok(&["account", "register", "--relay", &url, "--user", name]);
        u
    };
    let (alice, bob) = (reg("alice"), reg("bob"));
    alice.ok(&["chat", "send", "--to", "bob", "through nginx"]);
    bob.ok(&["chat", "sync"]);
    assert_eq!(texts(&bob.history("alice", true)), ["through nginx"]);

    // Wrong passwords for one account from 127.0.0.2 (each claiming to be
    // 198.51.100.77) use up 127.0.0.2's allowance for it only: the relay
    // counts the address nginx saw, not nginx's own, and not the one the
    // client wrote into the header.
    let mut limited = false;
    for _ in 0..30 {
        let code = bad_login_from("127.0.0.2", &url, "someone");
        assert!(code == "401" || code == "429", "unexpected answer {code}");
        if code == "429" {
            limited = true;
            break;
        }
    }
    assert!(limited, "failed logins from one address must be limited");
    assert_eq!(bad_login_from("127.0.0.3", &url, "someone"), "401", "another address has its own allowance");
    // Alice (on 127.0.0.1) still signs in, however she types her name.
    alice.ok(&["account", "login", "--relay", &url, "--user", "Alice"]);
    assert!(alice.ok(&["account", "whoami"]).contains("alice"));
}

#[test]
fn no_log_level_prints_a_password_token_stream_key_or_turn_secret() {
    let pki = pki();
    let (cert, key) = pki.leaf("logs", "DNS:localhost,IP:127.0.0.1", 2, false);
    let turn_secret = "turn-secret-never-logged-7f3a";
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    // The most verbose the relay gets: -vvv is trace for everything.
    let relay = Relay::start_with(&["-vvv", "--tls-cert", c, "--tls-key", k, "--rtmps", "127.0.0.1:0", "--turn-url", "turn:127.0.0.1:3478", "--turn-secret", turn_secret], true);
    let url = relay.url();
    let mut client_logs = String::new();
    let mut run = |u: &User, args: &[&str]| -> String {
        let mut a = vec!["-vvv"];
        a.extend_from_slice(args);
        let o = u.run(&a);
        client_logs.push_str(&String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let alice = User { name: "alice".into(), home: tempfile::tempdir().unwrap() };
    let bob = User { name: "bob".into(), home: tempfile::tempdir().unwrap() };
    run(&alice, &["account", "register", "--relay", &url, "--user", "alice"]);
    run(&bob, &["account", "register", "--relay", &url, "--user", "bob"]);
    run(&alice, &["account", "login", "--relay", &url, "--user", "alice"]);
    run(&alice, &["chat", "send", "--to", "bob", "a secret-free message"]);
    run(&bob, &["chat", "sync"]);
    let room: serde_json::Value = serde_json::from_str(run(&alice, &["room", "create", "Logged room", "--json"]).trim()).unwrap();
    let (id, stream_key) = (room["id"].as_str().unwrap().to_string(), room["stream_key"].as_str().unwrap().to_string());
    run(&alice, &["live", "--to", &format!("relay://{id}"), "--video", "test", "--audio", "test", "--preset", "480p30", "--x264-preset", "ultrafast", "--duration", "3"]);
    // A TURN credential request on a signed-in socket, over the call path.
    run(&bob, &["chat", "sync"]);
    let tokens = [alice.token(), bob.token()];
    let relay_log = relay.log();
    assert!(relay_log.contains("room created") && relay_log.contains("publisher on air"), "the relay's log: {relay_log}");
    assert!(!client_logs.is_empty(), "the clients logged");
    for (what, secret) in [("password", PASSWORD), ("alice's token", tokens[0].as_str()), ("bob's token", tokens[1].as_str()), ("the stream key", stream_key.as_str()), ("the TURN secret", turn_secret)] {
        assert!(!relay_log.contains(secret), "the relay's -vvv log shows {what}");
        assert!(!client_logs.contains(secret), "a client's -vvv log shows {what}");
    }
    // `relay://ROOM` publishes with a publish ticket (pt.ROOM.EXPIRES.SIG): a secret too.
    let ticket = format!("pt.{id}.");
    assert!(!relay_log.contains(&ticket) && !client_logs.contains(&ticket), "a -vvv log shows the publish ticket");
}
