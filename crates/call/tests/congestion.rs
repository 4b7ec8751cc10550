//! Congestion control against real loss: two peer connections in one
//! process, with a UDP forwarder on 127.0.0.1 between them that drops a
//! fifth of the RTP packets going one way (a→b). The loss reaches a through
//! b's real RTCP receiver reports (webrtc-rs's stats), and a's controller
//! lowers its encoder's bitrate; b, whose direction is clean, does not.
//!
//! The forwarder stands in for the network: each side is given the other's
//! host candidate rewritten to one of the forwarder's two sockets, so every
//! packet (STUN, DTLS, SRTP) goes through it and there is no direct path.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use onair_call::peer::{IceCandidate, PeerEvent};
use onair_call::send::SendConfig;
use tokio::net::UdpSocket;
use webrtc::peer_connection::RTCPeerConnectionState;

const START_KBPS: u32 = 800;

fn cfg() -> SendConfig {
    SendConfig {
        width: 320,
        height: 240,
        fps: 30,
        video_kbps: START_KBPS,
        min_video_kbps: 150,
        max_video_kbps: 2500,
        x264_preset: "ultrafast".into(),
        ..SendConfig::default()
    }
}

/// `candidate:F C udp P ADDR PORT typ host …` → its address, for UDP host candidates.
fn host_addr(c: &IceCandidate) -> Option<SocketAddr> {
    let f: Vec<&str> = c.candidate.split_whitespace().collect();
    (f.len() >= 8 && f[2].eq_ignore_ascii_case("udp") && f[6] == "typ" && f[7] == "host").then(|| format!("{}:{}", f[4], f[5]).parse().ok())?
}

fn rewrite(c: &IceCandidate, to: SocketAddr) -> IceCandidate {
    let mut f: Vec<String> = c.candidate.split_whitespace().map(String::from).collect();
    f[4] = to.ip().to_string();
    f[5] = to.port().to_string();
    IceCandidate { candidate: f.join(" "), ..c.clone() }
}

/// RTP (not RTCP, STUN or DTLS): version 2 and a payload type outside
/// RTCP's 192–223 (RFC 5761 demultiplexing; SRTP leaves the header clear).
fn is_rtp(p: &[u8]) -> bool {
    p.len() >= 12 && p[0] >> 6 == 2 && !(192..=223).contains(&p[1])
}

/// Whether the path loses this RTP packet: a fifth of them, decided by
/// (SSRC, sequence number), so a NACK retransmission of a lost packet is
/// lost again and the receiver really misses that fifth (SRTP keeps the
/// header in the clear).
fn lost(p: &[u8]) -> bool {
    let key = u64::from(u32::from_be_bytes([p[8], p[9], p[10], p[11]])) << 16 | u64::from(u16::from_be_bytes([p[2], p[3]]));
    let mut h = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 29;
    h % 5 == 0
}

/// Forwards between a (real address `a`) and b (real address `b`): a sends
/// to `for_a` and b sees it come from `for_b`, and the other way round.
/// Drops the RTP packets a→b that [`lost`] picks.
async fn forwarder(a: SocketAddr, b: SocketAddr, dropped: Arc<AtomicU64>) -> (SocketAddr, SocketAddr) {
    let for_a = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap()); // a sends here
    let for_b = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap()); // b sends here
    let addrs = (for_a.local_addr().unwrap(), for_b.local_addr().unwrap());
    let (ra, wb) = (for_a.clone(), for_b.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, from)) = ra.recv_from(&mut buf).await {
            if from != a {
                continue;
            }
            if is_rtp(&buf[..n]) && lost(&buf[..n]) {
                dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let _ = wb.send_to(&buf[..n], b).await;
        }
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, from)) = for_b.recv_from(&mut buf).await {
            if from == b {
                let _ = for_a.send_to(&buf[..n], a).await;
            }
        }
    });
    addrs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_on_one_direction_lowers_that_senders_bitrate_only() {
    let ((mut a, mut a_ev), (mut b, mut b_ev)) = common::negotiated_pair(cfg(), cfg()).await;

    // Each side's first UDP host candidate; the forwarder starts once both are known.
    let (mut a_cand, mut b_cand) = (None::<IceCandidate>, None::<IceCandidate>);
    let dropped = Arc::new(AtomicU64::new(0));
    let mut forwarding = false;
    let deadline = Instant::now() + Duration::from_secs(90);
    let (mut a_up, mut b_up) = (None::<Instant>, None::<Instant>);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            Some(ev) = a_ev.recv() => match ev {
                PeerEvent::Candidate(c) => if a_cand.is_none() && host_addr(&c).is_some() { a_cand = Some(c) },
                PeerEvent::State(RTCPeerConnectionState::Connected) => { a.start_sending().await.unwrap(); a_up.get_or_insert(Instant::now()); }
                ev => a.on_peer_event(ev).await.unwrap(),
            },
            Some(ev) = b_ev.recv() => match ev {
                PeerEvent::Candidate(c) => if b_cand.is_none() && host_addr(&c).is_some() { b_cand = Some(c) },
                PeerEvent::State(RTCPeerConnectionState::Connected) => { b.start_sending().await.unwrap(); b_up.get_or_insert(Instant::now()); }
                ev => b.on_peer_event(ev).await.unwrap(),
            },
            _ = tick.tick() => {
                assert!(Instant::now() < deadline, "no result in time (a up {a_up:?}, b up {b_up:?}, a {:?})", a.net);
                if a_up.zip(b_up).is_some() {
                    a.tick().await;
                    b.tick().await;
                    eprintln!("a→b loss {:.2} target {} kbps · b→a loss {:.2} target {} kbps", a.net.loss, a.net.target_kbps, b.net.loss, b.net.target_kbps);
                    // Done once a's target has come well down and stayed there a while.
                    if a.net.target_kbps <= START_KBPS / 2 && a_up.unwrap().elapsed() > Duration::from_secs(8) {
                        break;
                    }
                }
            }
        }
        if !forwarding {
            if let (Some(ca), Some(cb)) = (&a_cand, &b_cand) {
                let (for_a, for_b) = forwarder(host_addr(ca).unwrap(), host_addr(cb).unwrap(), dropped.clone()).await;
                // a talks to b through `for_a`; b sees a at `for_b`.
                a.peer.add_candidate(&rewrite(cb, for_a)).await.unwrap();
                b.peer.add_candidate(&rewrite(ca, for_b)).await.unwrap();
                forwarding = true;
            }
        }
    }
    let sent_video = a.send_stats().video_frames_sent.load(Ordering::Relaxed);
    let b_decoded = b.recv.video_frames_decoded.load(Ordering::Relaxed);
    eprintln!("a: {:?}\nb: {:?}\ndropped {} RTP packets; a sent {sent_video} frames, b decoded {b_decoded}", a.net, b.net, dropped.load(Ordering::Relaxed));
    assert!(dropped.load(Ordering::Relaxed) > 100, "the forwarder dropped packets");
    // a learnt the loss from b's receiver reports (about 20 %) …
    assert!((0.08..0.5).contains(&a.net.loss), "a's reported loss: {:?}", a.net);
    // … and lowered its encoder's bitrate, which the encoder took.
    assert!(a.net.target_kbps <= START_KBPS / 2, "{:?}", a.net);
    assert!(a.send_stats().video_kbps.load(Ordering::Relaxed) <= START_KBPS / 2 + 50, "the encoder did not follow");
    // b measures the same loss on what it receives (its `loss` is the worse
    // of both directions) …
    assert!((0.08..0.5).contains(&b.net.loss), "b's loss: {:?}", b.net);
    // … but its own sending is clean: a reported no loss, so b did not back off.
    assert!(b.net.target_kbps >= START_KBPS, "{:?}", b.net);
    // Video still got through the lossy direction. With the jitter buffer b
    // shows only frames whose references all arrived: at about 20 % loss,
    // with resends held to the send budget, a frame that could not be
    // repaired waits for the next keyframe, which comes on PLI only (the
    // periodic one every 10 s), and here a keyframe's own lost packets are
    // never repaired either: about one in two arrives whole. Measured 23
    // frames in ~10 s with 1 s keyframes; 5–6 in 8.6 s with PLI keyframes at
    // most every 500 ms, asked again 800 ms after a lost one, and a request
    // inside the 500 ms dropped; 14–30 in ~8.5 s (five runs) since a lost
    // keyframe is asked again every 300 ms and a request inside the sender's
    // 250 ms is held back, not dropped: at least one a second on average.
    let secs = a_up.map_or(8.0, |t| t.elapsed().as_secs_f64());
    assert!(b_decoded as f64 >= secs.floor(), "b decoded {b_decoded} frames in {secs:.1} s");
    a.close().await;
    b.close().await;
}
