//! The relay's TURN credentials against a real coturn on 127.0.0.1
//! (`use-auth-secret`): coturn's own test client allocates a relay with the
//! username and credential the relay handed out, and moves packets through
//! it to a peer. A wrong credential is refused, so the check is real.

mod call_support;
mod chat_support;
use call_support::*;
use chat_support::*;
use serde_json::json;
use std::process::{Command, Stdio};

fn uclient(port: u16, peer: u16, user: &str, pass: &str) -> (bool, String) {
    let o = Command::new("turnutils_uclient")
        .args(["-p", &port.to_string(), "-u", user, "-w", pass, "-e", "127.0.0.1", "-r", &peer.to_string(), "-n", "5", "-m", "1", "-X", "127.0.0.1"])
        .output()
        .expect("run turnutils_uclient (Debian package coturn)");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[tokio::test(flavor = "current_thread")]
async fn coturn_accepts_the_relays_turn_credentials() {
    let secret = "coturn-shared-secret-for-the-test";
    let (_turn, port) = coturn(secret);
    let peer = free_port();
    let _peer = Proc(Command::new("turnutils_peer").args(["-L", "127.0.0.1", "-p", &peer.to_string()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("turnutils_peer"), None);

    let turn_url = format!("turn:127.0.0.1:{port}?transport=udp");
    let relay = Relay::start_with(&["--turn-url", &turn_url, "--turn-secret", secret], false);
    let alice = User::register(&relay, "alice");
    let mut a = Ws::connect(&relay.addr, "alice", &alice.token()).await;
    let r = a.ok(json!({"op":"ice_servers"})).await;
    let s = &r["ice_servers"][0];
    assert_eq!(s["urls"], json!([turn_url]));
    let (user, cred) = (s["username"].as_str().unwrap().to_string(), s["credential"].as_str().unwrap().to_string());

    // coturn may take a moment to listen on a loaded machine: retry.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let out = loop {
        let (ok, out) = uclient(port, peer, &user, &cred);
        if ok || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert!(out.contains("tot_recv_msgs=10") || out.contains("tot_recv_msgs=5"), "packets went through the TURN relay:\n{out}");
    assert!(out.contains("Total lost packets 0"), "{out}");
    let (ok, out) = uclient(port, peer, &user, "not-the-credential");
    assert!(!ok && out.contains("Cannot complete Allocation"), "a wrong credential is refused:\n{out}");
}
