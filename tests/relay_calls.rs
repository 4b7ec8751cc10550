//! Call signaling through a real relay process on 127.0.0.1 with raw
//! WebSocket clients: the flows, the refusals, recording state, consent,
//! the audit record, reconnects, and ICE servers.

mod call_support;
mod chat_support;
use call_support::*;
use chat_support::*;
use serde_json::json;
use std::time::{Duration, Instant};

struct Party {
    relay: Relay,
    users: Vec<User>,
}

fn party(extra: &[&str], names: &[&str]) -> Party {
    let relay = Relay::start_with(extra, false);
    let users = names.iter().map(|n| User::register(&relay, n)).collect();
    Party { relay, users }
}

impl Party {
    async fn ws(&self, i: usize) -> Ws {
        Ws::connect(&self.relay.addr, &self.users[i].name, &self.users[i].token()).await
    }
}

async fn trickle(from: &mut Ws, to: &mut Ws, id: &str) {
    from.ok(json!({"op":"call_ice","call_id":id,"candidate":{"candidate":CANDIDATE,"sdp_mid":"0","sdp_m_line_index":0}})).await;
    from.ok(json!({"op":"call_ice","call_id":id,"candidate":null})).await;
    let c1 = to.event("call_ice").await;
    assert_eq!((c1["candidate"]["candidate"].as_str(), c1["candidate"]["sdp_mid"].as_str(), c1["from"].as_str()), (Some(CANDIDATE), Some("0"), Some(from.user.as_str())));
    assert!(to.event("call_ice").await["candidate"].is_null(), "end of candidates");
}

#[tokio::test(flavor = "current_thread")]
async fn invite_answer_offer_answer_ice_hangup_decline_busy_cancel_timeout_offline_blocked() {
    let p = party(&["--ring-timeout", "2"], &["alice", "bob", "carol", "dave"]);
    let (mut a, mut b, mut c) = (p.ws(0).await, p.ws(1).await, p.ws(2).await);

    // The full flow.
    let id = accepted_call(&mut a, &mut b).await;
    assert!(id.len() == 17 && id.starts_with('c'), "call id {id}");
    a.ok(json!({"op":"call_sdp","call_id":id,"kind":"offer","sdp":SDP})).await;
    let offer = b.event("call_sdp").await;
    assert_eq!((offer["from"].as_str(), offer["kind"].as_str(), offer["sdp"].as_str()), (Some("alice"), Some("offer"), Some(SDP)));
    b.ok(json!({"op":"call_sdp","call_id":id,"kind":"answer","sdp":SDP})).await;
    assert_eq!(a.event("call_sdp").await["kind"], "answer");
    trickle(&mut a, &mut b, &id).await;
    trickle(&mut b, &mut a, &id).await;
    a.ok(json!({"op":"call_hangup","call_id":id})).await;
    let end = b.ended(&id).await;
    assert_eq!((end["reason"].as_str(), end["by"].as_str()), (Some("hangup"), Some("alice")));
    assert_eq!(a.ended(&id).await["reason"], "hangup", "the one who hangs up is told too");
    assert_eq!(a.refused(json!({"op":"call_sdp","call_id":id,"kind":"offer","sdp":SDP})).await, "no_such_call");

    // Decline.
    let id = a.ok(json!({"op":"call_invite","to":"bob","media":["audio"]})).await["call_id"].as_str().unwrap().to_string();
    assert_eq!(b.event("call_incoming").await["media"], json!(["audio"]));
    b.ok(json!({"op":"call_decline","call_id":id})).await;
    assert_eq!(a.ended(&id).await["reason"], "declined");
    b.ended(&id).await;

    // Busy while ringing, then cancel.
    let id = a.ok(json!({"op":"call_invite","to":"bob","media":["audio","video"]})).await["call_id"].as_str().unwrap().to_string();
    b.event("call_incoming").await;
    assert_eq!(c.refused(json!({"op":"call_invite","to":"bob","media":["audio"]})).await, "busy");
    assert_eq!(a.refused(json!({"op":"call_invite","to":"carol","media":["audio"]})).await, "busy", "one call per device");
    a.ok(json!({"op":"call_cancel","call_id":id})).await;
    assert_eq!(b.ended(&id).await["reason"], "cancelled");
    a.ended(&id).await;

    // Ring timeout (2 s here; 30 s by default, see the router's unit test).
    let t = Instant::now();
    let id = a.ok(json!({"op":"call_invite","to":"bob","media":["audio"]})).await["call_id"].as_str().unwrap().to_string();
    assert_eq!(b.event("call_incoming").await["call_id"], id.as_str());
    let end = a.ended(&id).await;
    assert_eq!(end["reason"], "timeout");
    assert!(t.elapsed() >= Duration::from_millis(1900), "ended after {:?}", t.elapsed());
    assert_eq!(b.ended(&id).await["reason"], "timeout");

    // Offline, unknown, blocked, stranger.
    assert_eq!(a.refused(json!({"op":"call_invite","to":"dave","media":["audio"]})).await, "offline");
    assert_eq!(a.refused(json!({"op":"call_invite","to":"nobody","media":["audio"]})).await, "not_found");
    assert_eq!(a.refused(json!({"op":"call_invite","to":"Bad Name","media":["audio"]})).await, "invalid");
    b.ok(json!({"op":"block","user":"carol"})).await;
    assert_eq!(c.refused(json!({"op":"call_invite","to":"bob","media":["audio"]})).await, "blocked");
    b.ok(json!({"op":"set_privacy","accept_from":"friends"})).await;
    assert_eq!(a.refused(json!({"op":"call_invite","to":"bob","media":["audio"]})).await, "stranger_refused");
    let stray = b.call_events_now().await;
    assert!(stray.is_empty(), "bob was never rung by refused invites: {stray:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn third_parties_wrong_ids_and_garbage_sdp_are_refused_and_the_relay_keeps_serving() {
    let p = party(&["--metrics-token", "ops"], &["alice", "bob", "carol"]);
    let (mut a, mut b, mut c) = (p.ws(0).await, p.ws(1).await, p.ws(2).await);
    let id = accepted_call(&mut a, &mut b).await;

    // carol injects into alice and bob's call.
    assert_eq!(c.refused(json!({"op":"call_sdp","call_id":id,"kind":"offer","sdp":SDP})).await, "not_participant");
    assert_eq!(c.refused(json!({"op":"call_ice","call_id":id,"candidate":{"candidate":CANDIDATE}})).await, "not_participant");
    assert_eq!(c.refused(json!({"op":"call_hangup","call_id":id})).await, "not_participant");
    assert_eq!(c.refused(json!({"op":"call_accept","call_id":id})).await, "not_participant");
    assert_eq!(c.refused(json!({"op":"call_audit","call_id":id})).await, "not_participant");
    // Wrong ids, from a participant too.
    assert_eq!(a.refused(json!({"op":"call_ice","call_id":"c0123456789abcdef","candidate":null})).await, "no_such_call");
    assert_eq!(a.refused(json!({"op":"call_sdp","call_id":"../../etc/passwd","kind":"offer","sdp":SDP})).await, "no_such_call");
    // Garbage and oversized SDP, bad candidates.
    for sdp in ["garbage".to_string(), "v=0\r\n<script>alert(1)</script>\r\n".into(), format!("{SDP}{}", "a=x-filler\r\n".repeat(3500))] {
        assert_eq!(a.refused(json!({"op":"call_sdp","call_id":id,"kind":"offer","sdp":sdp})).await, "bad_sdp");
    }
    assert_eq!(a.refused(json!({"op":"call_ice","call_id":id,"candidate":{"candidate":"DROP TABLE calls"}})).await, "bad_sdp");
    assert_eq!(a.refused(json!({"op":"call_sdp","call_id":id,"kind":"offer","sdp":"v=0\r\n".repeat(20_000)})).await, "too_large", "over the frame limit");
    assert_eq!(a.refused(json!({"op":"call_sdp","call_id":id,"kind":"sideways","sdp":SDP})).await, "bad_frame");

    // Nothing of that reached bob; the call still works.
    assert!(b.call_events_now().await.is_empty());
    a.ok(json!({"op":"call_sdp","call_id":id,"kind":"offer","sdp":SDP})).await;
    assert_eq!(b.event("call_sdp").await["sdp"], SDP);
    assert!(p.relay.healthz());
    let (_, metrics) = http(&p.relay.addr, "GET", "/metrics", Some("ops"), None);
    assert!(metrics.contains("onair_relay_calls_active 1\n") && metrics.contains("onair_relay_calls_started_total 1\n"), "{metrics}");
    let refused: u64 = metrics.lines().find_map(|l| l.strip_prefix("onair_relay_call_refusals_total ")).unwrap().parse().unwrap();
    assert!(refused >= 10, "refusals counted: {refused}");
    // Everyone else is still served.
    c.ok(json!({"op":"conversations"})).await;
}

#[tokio::test(flavor = "current_thread")]
async fn recording_state_reaches_the_other_side_within_a_second_and_is_audited() {
    let p = party(&[], &["alice", "bob", "carol"]);
    let (mut a, mut b) = (p.ws(0).await, p.ws(1).await);
    let id = accepted_call(&mut a, &mut b).await;
    let t = Instant::now();
    let r = a.ok(json!({"op":"call_record","call_id":id,"action":"start"})).await;
    assert_eq!(r, json!({"kind":"recording","call_id":id,"may_record":true}));
    let ev = b.event("call_recording").await;
    let took = t.elapsed();
    assert_eq!((ev["by"].as_str(), ev["action"].as_str()), (Some("alice"), Some("start")));
    assert!(took < Duration::from_secs(1), "bob learned of the recording after {took:?}");
    a.ok(json!({"op":"call_record","call_id":id,"action":"stop"})).await;
    assert_eq!(b.event("call_recording").await["action"], "stop");
    b.ok(json!({"op":"call_record","call_id":id,"action":"start"})).await;
    assert_eq!(a.event("call_recording").await["by"], "bob");
    b.ok(json!({"op":"call_hangup","call_id":id})).await;
    a.ended(&id).await;

    // The audit record, over HTTP and the socket, for participants only.
    let (st, body) = http(&p.relay.addr, "GET", &format!("/v1/calls/{id}/audit"), Some(&p.users[0].token()), None);
    assert_eq!(st, 200, "{body}");
    let audit: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((audit["caller"].as_str(), audit["callee"].as_str(), audit["end_reason"].as_str()), (Some("alice"), Some("bob"), Some("hangup")));
    assert!(audit["accepted_at"].as_i64().is_some() && audit["ended_at"].as_i64() >= audit["accepted_at"].as_i64());
    let rows: Vec<(String, String)> = audit["events"].as_array().unwrap().iter().map(|e| (e["event"].as_str().unwrap().into(), e["by"].as_str().unwrap().into())).collect();
    let want = [("start", "alice"), ("stop", "alice"), ("start", "bob"), ("stop", "bob")].map(|(e, b)| (e.to_string(), b.to_string()));
    assert_eq!(rows, want, "the hang-up closes bob's recording");
    assert_eq!(b.ok(json!({"op":"call_audit","call_id":id})).await["audit"], audit);
    assert_eq!(http(&p.relay.addr, "GET", &format!("/v1/calls/{id}/audit"), Some(&p.users[2].token()), None).0, 403);
    assert_eq!(http(&p.relay.addr, "GET", &format!("/v1/calls/{id}/audit"), None, None).0, 401);
    assert_eq!(http(&p.relay.addr, "GET", "/v1/calls/c0000000000000000/audit", Some(&p.users[0].token()), None).0, 404);
}

#[tokio::test(flavor = "current_thread")]
async fn with_required_consent_recording_waits_for_accept_and_a_decline_is_shown() {
    let p = party(&["--require-recording-consent"], &["alice", "bob"]);
    let (mut a, mut b) = (p.ws(0).await, p.ws(1).await);
    let id = accepted_call(&mut a, &mut b).await;
    let r = a.ok(json!({"op":"call_record","call_id":id,"action":"start"})).await;
    assert_eq!(r["may_record"], false);
    assert_eq!(b.event("call_consent_request").await["by"], "alice");
    b.ok(json!({"op":"call_consent","call_id":id,"accept":false})).await;
    let res = a.event("call_consent_result").await;
    assert_eq!((res["accepted"].as_bool(), res["by"].as_str()), (Some(false), Some("bob")));
    assert!(b.call_events_now().await.is_empty(), "no recording started on a decline");

    a.ok(json!({"op":"call_record","call_id":id,"action":"start"})).await;
    b.event("call_consent_request").await;
    b.ok(json!({"op":"call_consent","call_id":id,"accept":true})).await;
    assert_eq!(a.event("call_consent_result").await["accepted"], true);
    assert_eq!(b.event("call_recording").await["action"], "start");
    assert_eq!(b.refused(json!({"op":"call_consent","call_id":id,"accept":true})).await, "wrong_state");
    a.ok(json!({"op":"call_record","call_id":id,"action":"stop"})).await;
    assert_eq!(b.event("call_recording").await["action"], "stop");

    let audit = a.ok(json!({"op":"call_audit","call_id":id})).await["audit"].clone();
    let rows: Vec<String> = audit["events"].as_array().unwrap().iter().map(|e| format!("{}:{}", e["event"].as_str().unwrap(), e["by"].as_str().unwrap())).collect();
    assert_eq!(rows, ["requested:alice", "declined:bob", "requested:alice", "start:alice", "stop:alice"]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_relay_connection_resumes_within_the_grace_period_else_the_call_ends() {
    let p = party(&["--call-grace", "3"], &["alice", "bob"]);
    let (mut a, mut b) = (p.ws(0).await, p.ws(1).await);
    let id = accepted_call(&mut a, &mut b).await;
    a.close().await;
    assert_eq!(b.event("call_peer").await["connected"], false);
    let mut a = p.ws(0).await;
    a.ok(json!({"op":"call_resume","call_id":id})).await;
    assert_eq!(b.event("call_peer").await["connected"], true);
    // An ICE restart offer flows on the new connection.
    a.ok(json!({"op":"call_sdp","call_id":id,"kind":"offer","sdp":SDP})).await;
    assert_eq!(b.event("call_sdp").await["kind"], "offer");
    // Wait past the grace period: the call must still be on.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(b.call_events_now().await.is_empty());

    // Now bob goes and does not come back.
    let t = Instant::now();
    b.close().await;
    assert_eq!(a.event("call_peer").await["connected"], false);
    let end = a.ended(&id).await;
    assert_eq!(end["reason"], "peer_lost");
    assert!(t.elapsed() >= Duration::from_millis(2900), "ended after {:?}", t.elapsed());
    let mut b = p.ws(1).await;
    assert_eq!(b.refused(json!({"op":"call_resume","call_id":id})).await, "no_such_call");
}

#[tokio::test(flavor = "current_thread")]
async fn ice_servers_hand_out_stun_and_time_limited_turn_credentials_and_never_log_the_secret() {
    let secret = "s3cr3t-turn-shared-key-for-tests";
    let relay = Relay::start_with(&["--stun-url", "stun:127.0.0.1:3478", "--turn-url", "turn:127.0.0.1:3478?transport=udp", "--turn-secret", secret, "--turn-ttl", "600"], true);
    let alice = User::register(&relay, "alice");
    let mut a = Ws::connect(&relay.addr, "alice", &alice.token()).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let r = a.ok(json!({"op":"ice_servers"})).await;
    let servers = r["ice_servers"].as_array().unwrap();
    assert_eq!(servers[0], json!({"urls":["stun:127.0.0.1:3478"]}));
    let user = servers[1]["username"].as_str().unwrap();
    let (expiry, name) = user.split_once(':').unwrap();
    let expiry: i64 = expiry.parse().unwrap();
    assert_eq!(name, "alice");
    assert!((expiry - now - 600).abs() <= 60, "expiry {expiry} vs now {now}");
    assert_eq!(r["expires_at"].as_i64(), Some(expiry * 1000));
    // The credential is HMAC-SHA1(secret, username), computed here by openssl.
    let out = std::process::Command::new("sh").arg("-c").arg(format!("printf '%s' '{user}' | openssl dgst -sha1 -hmac '{secret}' -binary | base64")).output().unwrap();
    assert_eq!(servers[1]["credential"].as_str().unwrap(), String::from_utf8(out.stdout).unwrap().trim());
    // Also over HTTP RPC.
    let (st, body) = http(&relay.addr, "POST", "/v1/rpc", Some(&alice.token()), Some(r#"{"op":"ice_servers"}"#));
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("turn:127.0.0.1:3478"));
    assert!(!relay.log().contains(secret), "the TURN secret must never be logged");
    assert!(relay.log().contains("DEBUG") || relay.log().contains("INFO"), "the log was captured");
}
