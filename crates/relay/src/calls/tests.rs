//! The call router's rules, driven with explicit times (no sockets, no
//! sleeping: the 30 s ring timeout is a number).

use super::router::*;
use onair_proto::*;

const SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n";
// Connections: alice 1, bob 2 and 3 (two devices), carol 4.
const A: ConnId = 1;
const B: ConnId = 2;
const B2: ConnId = 3;
const C: ConnId = 4;

fn router(consent: bool) -> Router {
    let mut n = 0u64;
    let mut r = Router::new(
        RouterConfig { ring_timeout_ms: 30_000, grace_ms: 10_000, require_consent: consent },
        Box::new(move || {
            n += 1;
            format!("c{n:016x}")
        }),
    );
    r.opened(A, "alice");
    r.opened(B, "bob");
    r.opened(B2, "bob");
    r.opened(C, "carol");
    r
}

fn drain(r: &mut Router) -> Vec<Output> {
    std::iter::from_fn(|| r.poll_output()).collect()
}

/// The frames sent to `conn`, as JSON for terse matching.
fn to(out: &[Output], conn: ConnId) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(c, f) if *c == conn => Some(f.to_json()),
            _ => None,
        })
        .collect()
}

fn code(out: &[Output], conn: ConnId) -> Option<ErrorCode> {
    out.iter().find_map(|o| match o {
        Output::Send(c, ServerFrame::Res { err: Some(e), .. }) if *c == conn => Some(e.code),
        _ => None,
    })
}

fn req(r: &mut Router, now: i64, conn: ConnId, body: Request) -> Vec<Output> {
    r.request(now, conn, 9, body);
    drain(r)
}

fn invite(r: &mut Router, now: i64) -> String {
    let out = req(r, now, A, Request::CallInvite { to: "bob".into(), media: vec![MediaKind::Audio, MediaKind::Video] });
    match &out[0] {
        Output::Send(A, ServerFrame::Res { ok: Some(Response::Call { call_id }), .. }) => call_id.clone(),
        o => panic!("invite answered {o:?}"),
    }
}

fn accepted(r: &mut Router) -> String {
    let id = invite(r, 0);
    let out = req(r, 1, B, Request::CallAccept { call_id: id.clone() });
    assert_eq!(code(&out, B), None);
    id
}

fn sdp(id: &str, kind: SdpKind) -> Request {
    Request::CallSdp { call_id: id.into(), kind, sdp: SDP.into() }
}

#[test]
fn invite_rings_every_free_device_accept_routes_sdp_and_ice_then_hangup() {
    let mut r = router(false);
    let out = req(&mut r, 0, A, Request::CallInvite { to: "bob".into(), media: vec![MediaKind::Video] });
    let id = "c0000000000000001";
    assert_eq!(to(&out, A), [format!(r#"{{"t":"res","id":9,"ok":{{"kind":"call","call_id":"{id}"}}}}"#), format!(r#"{{"t":"event","ev":{{"ev":"call_ringing","call_id":"{id}"}}}}"#)]);
    for dev in [B, B2] {
        assert_eq!(to(&out, dev), [format!(r#"{{"t":"event","ev":{{"ev":"call_incoming","call_id":"{id}","from":"alice","media":["video"]}}}}"#)]);
    }
    assert!(out.iter().any(|o| matches!(o, Output::Audit(AuditOp::Created { caller, callee, .. }) if caller == "alice" && callee == "bob")));
    assert_eq!(code(&req(&mut r, 1, A, sdp(id, SdpKind::Offer)), A), Some(ErrorCode::WrongState), "no SDP before the answer");

    let out = req(&mut r, 2, B2, Request::CallAccept { call_id: id.into() });
    assert_eq!(to(&out, A), [format!(r#"{{"t":"event","ev":{{"ev":"call_accepted","call_id":"{id}"}}}}"#)]);
    assert!(to(&out, B)[0].contains(r#""reason":"answered_elsewhere""#), "bob's other device stops ringing");
    // That other device is out of the call now.
    assert_eq!(code(&req(&mut r, 3, B, sdp(id, SdpKind::Answer)), B), Some(ErrorCode::NotParticipant));

    let out = req(&mut r, 3, A, sdp(id, SdpKind::Offer));
    assert!(to(&out, B2)[0].contains(r#""ev":"call_sdp""#) && to(&out, B2)[0].contains(r#""from":"alice","kind":"offer""#));
    let out = req(&mut r, 4, B2, sdp(id, SdpKind::Answer));
    assert!(to(&out, A)[0].contains(r#""kind":"answer""#));
    let cand = IceCandidate { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host".into(), sdp_mid: Some("0".into()), sdp_m_line_index: Some(0), username_fragment: None };
    let out = req(&mut r, 5, B2, Request::CallIce { call_id: id.into(), candidate: Some(cand) });
    assert!(to(&out, A)[0].contains(r#""candidate":{"candidate":"candidate:1"#));
    let out = req(&mut r, 5, A, Request::CallIce { call_id: id.into(), candidate: None });
    assert!(to(&out, B2)[0].contains(r#""candidate":null"#), "end of candidates is forwarded");

    let out = req(&mut r, 6, A, Request::CallHangup { call_id: id.into() });
    assert!(to(&out, A)[0].contains(r#""ok":{"kind":"done"}"#), "the answer comes first");
    assert!(to(&out, B2)[0].contains(r#""reason":"hangup","by":"alice""#));
    assert_eq!(r.active_calls(), 0);
    assert_eq!(code(&req(&mut r, 7, A, sdp(id, SdpKind::Offer)), A), Some(ErrorCode::NoSuchCall));
    // Both devices are free again.
    invite(&mut r, 8);
}

#[test]
fn third_parties_and_wrong_ids_are_refused_and_nothing_is_forwarded() {
    let mut r = router(false);
    let id = accepted(&mut r);
    for (body, want) in [
        (sdp(&id, SdpKind::Offer), ErrorCode::NotParticipant),
        (Request::CallIce { call_id: id.clone(), candidate: None }, ErrorCode::NotParticipant),
        (Request::CallHangup { call_id: id.clone() }, ErrorCode::NotParticipant),
        (Request::CallRecord { call_id: id.clone(), action: RecordAction::Start }, ErrorCode::NotParticipant),
        (Request::CallResume { call_id: id.clone() }, ErrorCode::NotParticipant),
        (sdp("c00000000000000ff", SdpKind::Offer), ErrorCode::NoSuchCall),
        (sdp("'; DROP TABLE calls", SdpKind::Offer), ErrorCode::NoSuchCall),
    ] {
        let out = req(&mut r, 5, C, body);
        assert_eq!(code(&out, C), Some(want));
        assert_eq!(out.len(), 1, "only the refusal: {out:?}");
    }
    // Garbage and oversized SDP / candidates from a participant.
    for bad in ["hello", "v=0\r\nrm -rf /\r\n", &format!("{SDP}{}", "a=x\r\n".repeat(8000))] {
        let out = req(&mut r, 6, A, Request::CallSdp { call_id: id.clone(), kind: SdpKind::Offer, sdp: bad.into() });
        assert_eq!((code(&out, A), out.len()), (Some(ErrorCode::BadSdp), 1));
    }
    let bad = IceCandidate { candidate: "candidate:1\r\nm=audio".into(), sdp_mid: None, sdp_m_line_index: None, username_fragment: None };
    let out = req(&mut r, 6, A, Request::CallIce { call_id: id.clone(), candidate: Some(bad) });
    assert_eq!((code(&out, A), out.len()), (Some(ErrorCode::BadSdp), 1));
    assert_eq!(r.active_calls(), 1, "the call goes on");
}

#[test]
fn busy_offline_self_decline_cancel() {
    let mut r = router(false);
    let id = invite(&mut r, 0);
    let out = req(&mut r, 1, C, Request::CallInvite { to: "bob".into(), media: vec![MediaKind::Audio] });
    assert_eq!(code(&out, C), Some(ErrorCode::Busy), "both of bob's devices are ringing");
    let out = req(&mut r, 1, A, Request::CallInvite { to: "carol".into(), media: vec![MediaKind::Audio] });
    assert_eq!(code(&out, A), Some(ErrorCode::Busy), "alice's device is already in a call");
    let out = req(&mut r, 1, C, Request::CallInvite { to: "dave".into(), media: vec![MediaKind::Audio] });
    assert_eq!(code(&out, C), Some(ErrorCode::Offline));
    let out = req(&mut r, 1, C, Request::CallInvite { to: "carol".into(), media: vec![MediaKind::Audio] });
    assert_eq!(code(&out, C), Some(ErrorCode::Invalid));
    assert_eq!(code(&req(&mut r, 1, A, Request::CallAccept { call_id: id.clone() }), A), Some(ErrorCode::WrongState), "the caller cannot accept");

    let out = req(&mut r, 2, B, Request::CallDecline { call_id: id.clone() });
    assert!(to(&out, A)[0].contains(r#""reason":"declined","by":"bob""#));
    assert!(to(&out, B2)[0].contains(r#""reason":"declined""#), "every ringing device stops");
    assert!(out.iter().any(|o| matches!(o, Output::Audit(AuditOp::Ended { reason: EndReason::Declined, .. }))));

    let id = invite(&mut r, 3);
    let out = req(&mut r, 4, A, Request::CallCancel { call_id: id.clone() });
    assert!(to(&out, B)[0].contains(r#""reason":"cancelled","by":"alice""#));
    assert_eq!(r.active_calls(), 0);
}

#[test]
fn ring_timeout_is_thirty_seconds() {
    let mut r = router(false);
    let id = invite(&mut r, 1_000);
    assert_eq!(r.next_deadline(), Some(31_000));
    r.handle_timeout(30_999);
    assert!(drain(&mut r).is_empty());
    r.handle_timeout(31_000);
    let out = drain(&mut r);
    for dev in [A, B, B2] {
        assert_eq!(to(&out, dev), [format!(r#"{{"t":"event","ev":{{"ev":"call_ended","call_id":"{id}","reason":"timeout"}}}}"#)]);
    }
    assert_eq!(r.next_deadline(), None);
}

#[test]
fn a_lost_connection_may_resume_within_the_grace_period() {
    let mut r = router(false);
    let id = accepted(&mut r);
    r.closed(100, A);
    let out = drain(&mut r);
    assert!(to(&out, B)[0].contains(r#""ev":"call_peer","call_id":"c0000000000000001","connected":false"#));
    assert_eq!(r.next_deadline(), Some(10_100));
    // Signaling meanwhile is dropped, not an error.
    let out = req(&mut r, 200, B, sdp(&id, SdpKind::Offer));
    assert_eq!((code(&out, B), out.len()), (None, 1));
    // Back on a new connection.
    r.opened(9, "alice");
    let out = req(&mut r, 5_000, 9, Request::CallResume { call_id: id.clone() });
    assert_eq!(code(&out, 9), None);
    assert!(to(&out, B)[0].contains(r#""connected":true"#));
    r.handle_timeout(20_000);
    assert!(drain(&mut r).is_empty(), "resumed: the grace timer is gone");
    let out = req(&mut r, 20_001, 9, sdp(&id, SdpKind::Offer));
    assert!(to(&out, B)[0].contains("call_sdp"), "ICE restart offer flows on the new connection");

    r.closed(21_000, B);
    drain(&mut r);
    r.handle_timeout(31_000);
    let out = drain(&mut r);
    assert!(to(&out, 9)[0].contains(r#""reason":"peer_lost""#));
    assert_eq!(r.active_calls(), 0);
}

#[test]
fn an_adopted_call_after_a_relay_restart_resumes_side_by_side_or_ends_peer_lost() {
    // A fresh router (the relay restarted): the driver adopts the call it
    // found answered and open in the audit store.
    let mut r = router(false);
    let id = "c00000000000000aa";
    r.adopt(1_000, id, "alice", "bob", [true, false]);
    assert_eq!(r.next_deadline(), Some(11_000), "both sides get the grace to come back");
    // A third party cannot take it over.
    assert_eq!(code(&req(&mut r, 1_100, C, Request::CallResume { call_id: id.into() }), C), Some(ErrorCode::NotParticipant));
    assert_eq!(code(&req(&mut r, 1_200, A, Request::CallResume { call_id: id.into() }), A), None);
    let out = req(&mut r, 1_300, B, Request::CallResume { call_id: id.into() });
    assert_eq!(code(&out, B), None);
    assert!(to(&out, B).iter().any(|f| f.contains(r#""ev":"call_recording""#) && f.contains(r#""by":"alice""#)), "bob hears alice still records: {out:?}");
    let out = req(&mut r, 1_350, A, Request::CallRecord { call_id: id.into(), action: RecordAction::Stop });
    assert_eq!(code(&out, A), None, "alice can stop the recording the relay took back");
    let out = req(&mut r, 1_400, A, Request::CallIce { call_id: id.into(), candidate: None });
    assert_eq!(code(&out, A), None);
    assert!(to(&out, B).iter().any(|f| f.contains("call_ice")), "signaling flows again: {out:?}");
    r.handle_timeout(20_000);
    assert!(drain(&mut r).is_empty(), "both resumed: no grace timer left");
    let out = req(&mut r, 20_001, B, Request::CallHangup { call_id: id.into() });
    assert!(to(&out, A).iter().any(|f| f.contains(r#""reason":"hangup""#)), "{out:?}");
    assert_eq!(r.active_calls(), 0);

    // Only one side comes back: the call ends as peer_lost after the grace.
    r.adopt(30_000, "c00000000000000bb", "alice", "bob", [false, false]);
    assert_eq!(code(&req(&mut r, 30_100, A, Request::CallResume { call_id: "c00000000000000bb".into() }), A), None);
    r.handle_timeout(40_000);
    let out = drain(&mut r);
    assert!(to(&out, A)[0].contains(r#""reason":"peer_lost""#), "{out:?}");
}

#[test]
fn a_stopping_relay_ends_ringing_calls_but_leaves_answered_ones_to_resume() {
    let mut r = router(false);
    let answered = accepted(&mut r);
    r.opened(5, "carol");
    r.opened(6, "dave");
    let out = req(&mut r, 2, 5, Request::CallInvite { to: "dave".into(), media: vec![MediaKind::Audio] });
    assert_eq!(code(&out, 5), None);
    r.shutdown(3);
    let out = drain(&mut r);
    assert!(to(&out, 5).iter().any(|f| f.contains(r#""reason":"shutdown""#)), "the ringing call ends: {out:?}");
    assert!(to(&out, A).is_empty() && to(&out, B).is_empty(), "the answered call goes on: {out:?}");
    assert!(!out.iter().any(|o| matches!(o, Output::Audit(AuditOp::Ended { call_id, .. }) if *call_id == answered)), "{out:?}");
}

#[test]
fn a_caller_that_disconnects_while_ringing_cancels() {
    let mut r = router(false);
    invite(&mut r, 0);
    r.closed(1, A);
    let out = drain(&mut r);
    assert!(to(&out, B)[0].contains(r#""reason":"cancelled""#));
    assert_eq!(r.active_calls(), 0);
}

#[test]
fn recording_without_consent_is_announced_at_once_and_audited() {
    let mut r = router(false);
    let id = accepted(&mut r);
    let out = req(&mut r, 10, A, Request::CallRecord { call_id: id.clone(), action: RecordAction::Start });
    assert!(to(&out, A)[0].contains(r#""kind":"recording","call_id":"c0000000000000001","may_record":true"#));
    assert_eq!(to(&out, B), [format!(r#"{{"t":"event","ev":{{"ev":"call_recording","call_id":"{id}","by":"alice","action":"start"}}}}"#)]);
    assert!(out.contains(&Output::Audit(AuditOp::Event { call_id: id.clone(), event: AuditEvent::Start, by: "alice".into(), at: 10 })));
    assert_eq!(code(&req(&mut r, 11, A, Request::CallRecord { call_id: id.clone(), action: RecordAction::Start }), A), Some(ErrorCode::WrongState));
    let out = req(&mut r, 12, A, Request::CallRecord { call_id: id.clone(), action: RecordAction::Stop });
    assert!(to(&out, B)[0].contains(r#""action":"stop""#));
    assert!(out.contains(&Output::Audit(AuditOp::Event { call_id: id.clone(), event: AuditEvent::Stop, by: "alice".into(), at: 12 })));
    // A hang-up while recording closes the audit trail with a stop.
    req(&mut r, 13, B, Request::CallRecord { call_id: id.clone(), action: RecordAction::Start });
    let out = req(&mut r, 14, A, Request::CallHangup { call_id: id.clone() });
    assert!(out.contains(&Output::Audit(AuditOp::Event { call_id: id, event: AuditEvent::Stop, by: "bob".into(), at: 14 })));
}

#[test]
fn consent_mode_waits_for_the_other_side() {
    let mut r = router(true);
    let id = accepted(&mut r);
    let out = req(&mut r, 10, A, Request::CallRecord { call_id: id.clone(), action: RecordAction::Start });
    assert!(to(&out, A)[0].contains(r#""may_record":false"#));
    assert_eq!(to(&out, B), [format!(r#"{{"t":"event","ev":{{"ev":"call_consent_request","call_id":"{id}","by":"alice"}}}}"#)]);
    assert_eq!(code(&req(&mut r, 11, A, Request::CallConsent { call_id: id.clone(), accept: true }), A), Some(ErrorCode::WrongState), "one cannot consent to oneself");
    let out = req(&mut r, 12, B, Request::CallConsent { call_id: id.clone(), accept: false });
    assert_eq!(to(&out, A), [format!(r#"{{"t":"event","ev":{{"ev":"call_consent_result","call_id":"{id}","by":"bob","accepted":false}}}}"#)]);
    assert!(out.contains(&Output::Audit(AuditOp::Event { call_id: id.clone(), event: AuditEvent::Declined, by: "bob".into(), at: 12 })));

    req(&mut r, 13, A, Request::CallRecord { call_id: id.clone(), action: RecordAction::Start });
    let out = req(&mut r, 14, B, Request::CallConsent { call_id: id.clone(), accept: true });
    assert!(to(&out, A)[0].contains(r#""accepted":true"#));
    assert!(to(&out, B)[1].contains(r#""ev":"call_recording","call_id":"c0000000000000001","by":"alice","action":"start""#));
    assert!(out.contains(&Output::Audit(AuditOp::Event { call_id: id, event: AuditEvent::Start, by: "alice".into(), at: 14 })));
}

#[test]
fn random_request_storms_never_panic_and_never_leak_to_an_outsider() {
    // A cheap in-tree stand-in for a fuzzer: alice and bob's two devices
    // do anything in any order (ids real and made up, times jumping,
    // connections dropping and coming back); carol only pokes at call ids.
    let mut r = router(true);
    let mut x: u64 = 0x2545f4914f6cdd1d;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut ids: Vec<String> = vec!["c0000000000000001".into(), "nonsense".into()];
    let mut now = 0;
    for step in 0..20_000 {
        now += rnd(3_000) as i64;
        let conn = [A, B, B2, C][rnd(4) as usize];
        let id = ids[rnd(ids.len() as u64) as usize].clone();
        let body = match (conn, rnd(12)) {
            (C, 0) => Request::CallHangup { call_id: id },
            (C, _) => Request::CallIce { call_id: id, candidate: None },
            (_, 0) => Request::CallInvite { to: ["alice", "bob", "carol", "zed"][rnd(4) as usize].into(), media: vec![MediaKind::Video] },
            (_, 1) => Request::CallAccept { call_id: id },
            (_, 2) => Request::CallDecline { call_id: id },
            (_, 3) => Request::CallCancel { call_id: id },
            (_, 4) => Request::CallHangup { call_id: id },
            (_, 5) => Request::CallResume { call_id: id },
            (_, 6) => sdp(&id, SdpKind::Offer),
            (_, 7) => Request::CallIce { call_id: id, candidate: None },
            (_, 8) => Request::CallRecord { call_id: id, action: if rnd(2) == 0 { RecordAction::Start } else { RecordAction::Stop } },
            (_, 9) => Request::CallConsent { call_id: id, accept: rnd(2) == 0 },
            (_, 10) => {
                r.closed(now, conn);
                r.opened(conn, if conn == A { "alice" } else { "bob" });
                continue;
            }
            _ => {
                r.handle_timeout(now);
                continue;
            }
        };
        r.request(now, conn, step, body);
        for o in drain(&mut r) {
            if let Output::Send(to, ServerFrame::Res { ok: Some(Response::Call { call_id }), .. }) = &o {
                assert_ne!(*to, C);
                ids.push(call_id.clone());
            }
            if let Output::Send(C, f) = &o {
                let j = f.to_json();
                assert!(j.contains(r#""t":"res""#) || j.contains("call_incoming") || j.contains("call_ended"), "carol got {j}");
            }
        }
    }
    assert!(ids.len() > 10, "the storm made real calls too ({} ids)", ids.len());
}

#[test]
fn media_state_reaches_the_other_side_only() {
    let mut r = router(false);
    let id = invite(&mut r, 0);
    let media = |muted| Request::CallMedia { call_id: id.clone(), muted, camera_off: false };
    assert_eq!(code(&req(&mut r, 1, A, media(true)), A), Some(ErrorCode::WrongState), "not before the answer");
    req(&mut r, 1, B, Request::CallAccept { call_id: id.clone() });
    let out = req(&mut r, 2, A, media(true));
    assert_eq!(to(&out, B), [format!(r#"{{"t":"event","ev":{{"ev":"call_media","call_id":"{id}","from":"alice","muted":true,"camera_off":false}}}}"#)]);
    assert!(to(&out, B2).is_empty() && to(&out, C).is_empty());
    // Carol cannot claim to be in the call, nor make bob look muted.
    let out = req(&mut r, 3, C, media(true));
    assert_eq!((code(&out, C), out.len()), (Some(ErrorCode::NotParticipant), 1));
    let out = req(&mut r, 3, B2, media(true));
    assert_eq!((code(&out, B2), out.len()), (Some(ErrorCode::NotParticipant), 1), "bob's other device is not in the call");
}
