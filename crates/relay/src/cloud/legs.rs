//! The recorder's media legs, signalled WHIP-style through the relay.
//!
//! ```text
//! participant: POST /v1/cloud/recordings/ID/leg (application/sdp offer, gathering complete)
//!   ─▶ queue of ID ─▶ worker: GET /v1/recorder/jobs/ID/legs (long poll) ─▶ {leg, side, user, offer}
//!   ◀─ worker: POST /v1/recorder/jobs/ID/legs/LEG (answer SDP) ◀─ the participant's POST returns it (201)
//! ```
//!
//! Nothing here is stored: a leg that no worker answers within
//! [`ANSWER_WITHIN`] fails with 504 and the client may post again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onair_proto::recorder::RecorderLeg;
use tokio::sync::{mpsc, oneshot};

/// How long a participant's POST waits for the worker's answer.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(20);
/// How long a worker's long poll waits for an offer before answering 204.
pub const POLL_FOR: Duration = Duration::from_secs(10);

struct Queue {
    tx: mpsc::Sender<RecorderLeg>,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<RecorderLeg>>>,
}

#[derive(Default)]
pub struct Legs {
    queues: Mutex<HashMap<String, Queue>>,
    answers: Mutex<HashMap<String, oneshot::Sender<String>>>,
}

impl Legs {
    fn queue<R>(&self, id: &str, f: impl FnOnce(&Queue) -> R) -> R {
        let mut q = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let e = q.entry(id.to_string()).or_insert_with(|| {
            // A few legs at most per recording (two sides, a reconnect each).
            let (tx, rx) = mpsc::channel(8);
            Queue { tx, rx: Arc::new(tokio::sync::Mutex::new(rx)) }
        });
        f(e)
    }

    /// Queues an offer for recording `id`'s worker; the receiver gets its answer.
    pub fn offer(&self, id: &str, side: &str, user: &str, sdp: String) -> Option<(String, oneshot::Receiver<String>)> {
        let leg = {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).ok()?;
            format!("l{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
        };
        let (tx, rx) = oneshot::channel();
        self.answers.lock().unwrap_or_else(|p| p.into_inner()).insert(leg.clone(), tx);
        let l = RecorderLeg { leg: leg.clone(), side: side.into(), user: user.into(), offer: sdp };
        let sent = self.queue(id, |q| q.tx.try_send(l).is_ok());
        if !sent {
            self.answers.lock().unwrap_or_else(|p| p.into_inner()).remove(&leg);
            return None;
        }
        Some((leg, rx))
    }

    /// Forgets a leg whose participant stopped waiting.
    pub fn forget(&self, leg: &str) {
        self.answers.lock().unwrap_or_else(|p| p.into_inner()).remove(leg);
    }

    /// The next offer for recording `id`, waiting up to [`POLL_FOR`].
    pub async fn next(&self, id: &str) -> Option<RecorderLeg> {
        let rx = self.queue(id, |q| q.rx.clone());
        let mut rx = rx.lock().await;
        tokio::time::timeout(POLL_FOR, rx.recv()).await.ok().flatten()
    }

    /// The worker's answer to `leg`; false when nobody waits for it.
    pub fn answer(&self, leg: &str, sdp: String) -> bool {
        let tx = self.answers.lock().unwrap_or_else(|p| p.into_inner()).remove(leg);
        tx.is_some_and(|tx| tx.send(sdp).is_ok())
    }

    /// The recording ended: its queue goes (waiting participants get 504).
    pub fn end(&self, id: &str) {
        self.queues.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_offer_reaches_the_worker_and_its_answer_the_participant() {
        let legs = Legs::default();
        let (leg, rx) = legs.offer("r1", "callee", "bob", "v=0 offer".into()).unwrap();
        let got = legs.next("r1").await.unwrap();
        assert_eq!((got.leg.as_str(), got.side.as_str(), got.user.as_str(), got.offer.as_str()), (leg.as_str(), "callee", "bob", "v=0 offer"));
        assert!(legs.answer(&leg, "v=0 answer".into()));
        assert_eq!(rx.await.unwrap(), "v=0 answer");
        // A leg answered twice, or one nobody waits for, is refused.
        assert!(!legs.answer(&leg, "again".into()));
        let (gone, _rx) = legs.offer("r1", "caller", "alice", "v=0".into()).unwrap();
        legs.forget(&gone);
        assert!(!legs.answer(&gone, "late".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_waits_a_while_then_hears_nothing_and_queues_are_bounded() {
        let legs = Legs::default();
        assert!(legs.next("r2").await.is_none(), "the long poll ends empty");
        let mut kept = Vec::new();
        while let Some(x) = legs.offer("r2", "caller", "alice", "v=0".into()) {
            kept.push(x);
            assert!(kept.len() <= 8, "a recording's queue is bounded");
        }
        legs.end("r2");
        assert!(legs.offer("r2", "caller", "alice", "v=0".into()).is_some(), "a fresh queue after the end");
    }
}
