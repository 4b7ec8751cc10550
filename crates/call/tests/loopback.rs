//! Two peer connections in one process exchange H.264 and Opus over
//! 127.0.0.1: the media path end to end without the relay.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use onair_call::peer::PeerEvent;
use onair_call::send::SendConfig;
use webrtc::peer_connection::RTCPeerConnectionState;

fn cfg() -> SendConfig {
    SendConfig { width: 320, height: 240, fps: 30, video_kbps: 400, x264_preset: "ultrafast".into(), ..SendConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_exchange_h264_and_opus() {
    let ((mut a, mut a_ev), (mut b, mut b_ev)) = common::negotiated_pair(cfg(), cfg()).await;

    let run_for = Duration::from_secs(8);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut a_up, mut b_up) = (None::<Instant>, None::<Instant>);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            Some(ev) = a_ev.recv() => match ev {
                PeerEvent::Candidate(c) => b.peer.add_candidate(&c).await.unwrap(),
                PeerEvent::State(RTCPeerConnectionState::Connected) => { a.start_sending().await.unwrap(); a_up.get_or_insert(Instant::now()); }
                ev => a.on_peer_event(ev).await.unwrap(),
            },
            Some(ev) = b_ev.recv() => match ev {
                PeerEvent::Candidate(c) => a.peer.add_candidate(&c).await.unwrap(),
                PeerEvent::State(RTCPeerConnectionState::Connected) => { b.start_sending().await.unwrap(); b_up.get_or_insert(Instant::now()); }
                ev => b.on_peer_event(ev).await.unwrap(),
            },
            _ = tick.tick() => {
                a.tick().await;
                b.tick().await;
                assert!(Instant::now() < deadline, "the call did not run in time (a up {a_up:?}, b up {b_up:?})");
                if a_up.zip(b_up).is_some_and(|(x, y)| x.max(y).elapsed() > run_for) { break; }
            }
        }
    }
    // Stop sending, let the last frames land, then count.
    for s in [&a, &b] {
        s.local.control(onair_call::send::Control::Camera(false)).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (name, tx, rx) in [("a→b", &a, &b), ("b→a", &b, &a)] {
        let sent = tx.send_stats().video_frames_sent.load(Ordering::Relaxed);
        let decoded = rx.recv.video_frames_decoded.load(Ordering::Relaxed);
        let audio = rx.recv.audio_packets_received.load(Ordering::Relaxed);
        let lat = rx.recv.latency_percentiles();
        eprintln!("{name}: sent {sent}, decoded {decoded}, audio packets {audio}, latency {lat:?}, net {:?}", rx.net);
        assert!(sent >= 100, "{name}: only {sent} frames sent in 8 s");
        assert!(decoded as f64 >= 0.9 * sent as f64, "{name}: decoded {decoded} of {sent}");
        assert!(audio >= 200, "{name}: {audio} audio packets");
        assert!(lat.is_some(), "{name}: no latency measured");
        assert_eq!(rx.recv.width.load(Ordering::Relaxed), 320);
    }
    for s in [&a, &b] {
        assert!(s.net.rtt_ms.is_some_and(|r| r < 1000.0), "{:?}", s.net);
        assert!(s.net.quality_score > 40.0, "loopback should score good or better: {:?}", s.net);
    }
    a.close().await;
    b.close().await;
}
