//! The relay's browser guest page (`/call`) in real headless Chromium: two
//! pages call each other through the relay, with media forced through a
//! real coturn on 127.0.0.1 (relay-only ICE, so nothing leaves loopback),
//! and both decode video and audio. Recording consent runs through the
//! page's prompt; the caller hangs up and the relay's audit tells the
//! story. All of it over HTTPS and WSS: the relay serves its own
//! certificate (a private CA made here; Chromium is told to accept exactly
//! that key, the `onair` clients trust the CA through `ONAIR_CA_FILE`).

mod call_support;
mod chat_support;
use call_support::chromium::Browser;
use call_support::*;
use chat_support::pki::Pki;
use chat_support::*;

/// GET over HTTPS with our CA; the status and body.
fn https_get(relay: &Relay, ca: &std::path::Path, path: &str, token: Option<&str>) -> (u16, String) {
    let mut c = std::process::Command::new("curl");
    c.args(["-sS", "--max-time", "20", "-w", "\n%{http_code}", "--cacert"]).arg(ca);
    if let Some(t) = token {
        c.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let o = c.arg(format!("{}{path}", relay.url())).output().expect("curl");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn page(relay: &Relay, user: &str, extra: &str) -> String {
    format!("{}/call?user={user}&password={}&relay_only=1{extra}", relay.url(), PASSWORD.replace(' ', "%20"))
}

#[test]
fn two_browsers_call_through_the_relay_and_turn_decode_both_ways_and_ask_consent_to_record() {
    let secret = "browser-test-turn-secret";
    let (_turn, port) = coturn(secret);
    let turn_url = format!("turn:127.0.0.1:{port}?transport=udp");
    let pki = Pki::new();
    let (cert, key) = pki.leaf("relay", "DNS:localhost,IP:127.0.0.1", 2, false);
    std::env::set_var("ONAIR_CA_FILE", pki.ca());
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let relay = Relay::start_with(&["--tls-cert", cert_s, "--tls-key", key_s, "--turn-url", &turn_url, "--turn-secret", secret, "--require-recording-consent"], false);
    assert!(relay.url().starts_with("https://"));
    let trust = vec![format!("--ignore-certificate-errors-spki-list={}", Pki::spki_hash(&cert))];
    let (alice, bob) = (User::register(&relay, "alice"), User::register(&relay, "bob"));

    // The page itself: strict CSP, no inline script.
    let (st, html) = https_get(&relay, &pki.ca(), "/call", None);
    assert_eq!(st, 200);
    assert!(html.contains(r#"<script src="/call.js" defer></script>"#) && !html.contains("<script>"));

    let b = Browser::open_with("bob", &page(&relay, &bob.name, "&answer=1&consent=accept"), &trust);
    b.wait_line("call state=signed_in user=bob", 90);
    let a = Browser::open_with("alice", &page(&relay, &alice.name, "&call=bob&record=1&hangup_after_frames=90"), &trust);
    a.wait_line("call state=ringing", 90);
    b.wait_line("call state=incoming from=alice", 30);
    a.wait_line("call state=connected", 90);
    b.wait_line("call state=connected", 90);

    let (fa, aa, codec_a, pair_a) = a.wait_decoded(60, 120);
    let (fb, ab, codec_b, pair_b) = b.wait_decoded(60, 120);
    println!("alice decoded {fa} frames, {aa} audio packets ({codec_a}, {pair_a}); bob {fb}, {ab} ({codec_b}, {pair_b})");
    for (codec, pair) in [(&codec_a, &pair_a), (&codec_b, &pair_b)] {
        assert_eq!(codec, "video/H264", "the page prefers H.264");
        assert_eq!(pair, "relay/127.0.0.1", "media went through coturn on loopback");
    }

    // Recording with consent: alice asks, bob's page accepts, alice records
    // and bob's page shows the banner.
    b.wait_line("consent request by=alice", 60);
    a.wait_line("consent result accepted=true by=bob", 60);
    a.wait_line("recording=start", 30);
    b.wait_line("peer recording=start by=alice", 30);

    // alice hangs up after 90 frames; bob's page hears it, and the relay's
    // audit has the whole story.
    b.wait_line("call state=ended reason=hangup", 120);
    a.wait_line("call state=ended reason=hangup", 30);
    let line = a.wait_line("call state=calling to=bob", 5);
    let call_id = line.split("call_id=").nth(1).expect("the page logs the call id").trim();
    let (st, body) = https_get(&relay, &pki.ca(), &format!("/v1/calls/{call_id}/audit"), Some(&alice.token()));
    assert_eq!(st, 200, "{body}");
    let audit: serde_json::Value = serde_json::from_str(&body).unwrap();
    let rows: Vec<String> = audit["events"].as_array().unwrap().iter().map(|e| format!("{}:{}", e["event"].as_str().unwrap(), e["by"].as_str().unwrap())).collect();
    assert_eq!(rows, ["requested:alice", "start:alice", "stop:alice"], "{audit}");
    assert_eq!((audit["end_reason"].as_str(), audit["caller"].as_str(), audit["callee"].as_str()), (Some("hangup"), Some("alice"), Some("bob")));
}
