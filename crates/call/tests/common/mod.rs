//! Shared by the in-process call tests: two media sessions on 127.0.0.1
//! that have exchanged offer and answer (ICE and DTLS follow by themselves).

use onair_call::peer::{PeerEvent, PeerOptions};
use onair_call::send::SendConfig;
use onair_call::session::MediaSession;
use tokio::sync::mpsc::Receiver;

pub type Side = (MediaSession, Receiver<PeerEvent>);

pub async fn negotiated_pair(a_cfg: SendConfig, b_cfg: SendConfig) -> (Side, Side) {
    let opts = PeerOptions { bind_ip: [127, 0, 0, 1].into(), ..PeerOptions::default() };
    let (a, a_ev) = MediaSession::new(&opts, a_cfg).await.expect("session a");
    let (b, b_ev) = MediaSession::new(&opts, b_cfg).await.expect("session b");
    let offer = a.peer.offer(false).await.expect("offer");
    let answer = b.peer.answer(&offer).await.expect("answer");
    a.peer.accept_answer(&answer).await.expect("accept the answer");
    ((a, a_ev), (b, b_ev))
}
