//! A browser guest (the relay's `/call` page in headless Chromium) in a
//! call the relay records: `onair call --answer --record-cloud` starts the
//! server recording, the guest's standing answer allows it, and the page
//! shows "Recorded by the server" (its log says so) until it stops — here
//! because no recorder worker took the job, so it failed.

mod call_support;
mod chat_support;
use call_support::chromium::Browser;
use call_support::*;
use chat_support::*;

#[test]
fn a_browser_guest_sees_the_server_recording() {
    let secret = "cloud-browser-turn-secret";
    let (_turn, port) = coturn(secret);
    let turn_url = format!("turn:127.0.0.1:{port}?transport=udp");
    let relay = Relay::start_with(&["--turn-url", &turn_url, "--turn-secret", secret, "--metrics-token", "ops", "--cloud-min-free-mb", "20", "--cloud-claim-secs", "4"], false);
    let (alice, bob) = (User::register(&relay, "alice"), User::register(&relay, "bob"));
    alice.ok(&["recordings", "cloud", "consent", "allow"]);
    let mut app = bob
        .cmd(&["call", "--answer", "--from", "alice", "--video", "test", "--audio", "test", "--duration", "12", "--ice-relay-only", "--record-cloud"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run onair call --answer");
    wait_for(90, "onair call --answer to connect to the relay", || {
        let (_, m) = http(&relay.addr, "GET", "/metrics", Some("ops"), None);
        m.lines().any(|l| l == "onair_relay_connections 1").then_some(())
    });
    let url = format!("{}/call?user=alice&password={}&relay_only=1&call=bob", relay.url(), PASSWORD.replace(' ', "%20"));
    let page = Browser::open("alice", &url);
    page.wait_line("call state=connected", 120);
    let line = page.wait_line("cloud recording=start", 60);
    let at = line.find("id=").expect("the recording's id") + 3;
    let id: String = line[at..].chars().take(17).collect();
    // No recorder worker runs here: after --cloud-claim-secs the recording
    // fails, and the guest's banner goes at once.
    page.wait_line("cloud recording=stop", 30);
    let (st, body) = http(&relay.addr, "GET", &format!("/v1/cloud/recordings/{id}"), Some(&bob.token()), None);
    assert_eq!(st, 200);
    let r: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["state"], "failed", "{r}");
    let _ = app.kill();
    let _ = app.wait();
}
