//! Group commit for chat messages. Sessions check a `send` (membership,
//! blocks, limits) on their own task and hand the resulting append to one
//! writer task through a bounded channel. The writer takes whatever has
//! queued up (up to [`MAX_BATCH`]), writes it with one
//! [`Store::append_batch`] (one SQLite transaction: one WAL write for many
//! messages instead of one per message), and only after the commit answers
//! each sender and fans the events out, in commit order:
//!
//! ```text
//! ws task:  frame -> Session -> Output::Append -> Committer::submit (bounded; waits when full)
//! writer:   loop { batch = recv().await + try_recv()...;
//!                  results = spawn_blocking(store.append_batch(batch) + members);
//!                  for each: hub.send_to(sender's connection, `sent`); publish(members, `message`) }
//! shutdown: Committer::stop(): no new appends; the writer commits and answers what is queued, then ends
//! ```
//!
//! Exactly once still holds: a resend of a client id inside the same batch
//! finds the first copy in the open transaction and gets its `seq`. The
//! answer goes through the connection's hub queue, the same queue events
//! use, so the sender sees `sent` before the `message` event it caused.

use crate::error::ApiError;
use crate::logic::{self, PendingSend};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::{Appended, NewEntry};
use onair_proto::{ErrorCode, ServerFrame};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Most appends written in one transaction: bounds how long the store's
/// lock is held (a few milliseconds) while other tasks wait to read.
pub const MAX_BATCH: usize = 256;

/// How long a batch smaller than [`LINGER_UNTIL`] waits for more appends
/// before it is written (group commit's usual trade).
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(1);
pub const LINGER_UNTIL: usize = 32;

/// One checked message waiting to be written, and where to answer.
#[derive(Debug)]
pub struct Job {
    pub conn: u64,
    pub user: String,
    /// The request id the `sent` answer carries.
    pub req: u64,
    pub send: PendingSend,
}

/// Why [`Committer::submit`] did not take a job.
#[derive(Debug)]
pub enum Refused {
    /// The writer was never started (the `app()` oneshot tests): append inline.
    NotRunning(Job),
    /// The relay is shutting down: the message was not accepted.
    Stopped(Job),
}

/// The relay's handle on the writer (in [`AppState`]).
#[derive(Default)]
pub struct Committer {
    state: Mutex<Run>,
}

#[derive(Default)]
enum Run {
    #[default]
    NotStarted,
    Running(mpsc::Sender<Job>, tokio::task::JoinHandle<()>),
    Stopped,
}

impl Committer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Run> {
        // Every update is one assignment: a panic cannot leave it half done.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a job for the writer; waits while the queue is full (which
    /// slows the sending connection, not everyone).
    pub async fn submit(&self, job: Job) -> Result<(), Refused> {
        let tx = match &*self.lock() {
            Run::Running(tx, _) => tx.clone(),
            Run::NotStarted => return Err(Refused::NotRunning(job)),
            Run::Stopped => return Err(Refused::Stopped(job)),
        };
        tx.send(job).await.map_err(|e| Refused::Stopped(e.0))
    }

    /// Stops taking jobs and waits until every queued one is committed and
    /// answered (its answer is in its connection's queue).
    pub async fn stop(&self) {
        let run = std::mem::replace(&mut *self.lock(), Run::Stopped);
        if let Run::Running(tx, task) = run {
            // The writer ends when the last sender is gone: ours here, and
            // those of submits already waiting for room, whose jobs it takes.
            drop(tx);
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the chat writer failed");
            }
        }
    }
}

/// Starts the writer task (once; later calls do nothing).
pub fn start(state: Arc<AppState>, queue: usize) {
    let mut run = state.appends.lock();
    if matches!(*run, Run::NotStarted) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let task = tokio::spawn(writer(state.clone(), rx));
        *run = Run::Running(tx, task);
    }
}

async fn writer(state: Arc<AppState>, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Whatever queued while the last batch was written becomes the next.
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A small batch waits up to LINGER for company: a commit costs about
        // as much as 15 appends, so under load this buys throughput for at
        // most a millisecond or two of latency.
        if batch.len() < LINGER_UNTIL {
            let until = tokio::time::Instant::now() + LINGER;
            while batch.len() < MAX_BATCH {
                let room = MAX_BATCH - batch.len();
                match tokio::time::timeout_at(until, rx.recv_many(&mut batch, room)).await {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
        let st = state.clone();
        let jobs = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        // SQLite blocks: off the async workers, one batch at a time (so
        // sequence numbers and fan-out follow the order of the queue).
        let done = match tokio::task::spawn_blocking(move || commit(&st, jobs)).await {
            Ok(d) => d,
            Err(e) => {
                // A panic in the store: those jobs got no answer; their
                // senders time out and resend (idempotent by client id).
                tracing::error!(error = %e, "chat batch panicked");
                continue;
            }
        };
        for (job, result) in done {
            answer(&state, job, result);
        }
    }
}

/// Writes one batch and builds every answer and event (blocking).
fn commit(state: &AppState, jobs: Vec<Job>) -> Vec<(Answer, Result<logic::Handled, ApiError>)> {
    let items: Vec<(&str, &NewEntry)> = jobs.iter().map(|j| (j.send.conv.as_str(), &j.send.entry)).collect();
    let results = state.store.append_batch(&items);
    drop(items);
    Metrics::inc(&state.metrics.append_batches);
    let results: Vec<Result<Appended, ApiError>> = match results {
        Ok(r) => r.into_iter().map(|r| r.map_err(ApiError::from)).collect(),
        Err(e) => {
            // Nothing was written: every sender is told to send again.
            tracing::error!(error = %e, n = jobs.len(), "chat batch commit failed");
            jobs.iter().map(|_| Err(ApiError::new(ErrorCode::Internal, "internal error; send again"))).collect()
        }
    };
    jobs.into_iter()
        .zip(results)
        .map(|(j, r)| {
            let to = Answer { conn: j.conn, user: j.user, req: j.req };
            (to, r.and_then(|a| state.with_ctx(|ctx| logic::sent(ctx, j.send, a))))
        })
        .collect()
}

/// Where a job's answer goes.
struct Answer {
    conn: u64,
    user: String,
    req: u64,
}

fn answer(state: &AppState, to: Answer, result: Result<logic::Handled, ApiError>) {
    match result {
        Ok(h) => {
            if !h.events.is_empty() {
                Metrics::inc(&state.metrics.messages_stored);
            }
            // The answer first: the sender's own copy of the event follows
            // it in the same queue.
            state.hub.send_to(&to.user, to.conn, &ServerFrame::ok(to.req, h.response));
            for (users, ev) in h.events {
                crate::ws::publish(state, &users, ev);
            }
        }
        Err(e) => {
            Metrics::inc(&state.metrics.frame_errors);
            let (code, msg) = e.to_wire();
            state.hub.send_to(&to.user, to.conn, &ServerFrame::err(to.req, code, msg));
        }
    }
}

/// The answer to a job the writer did not take because the relay is stopping.
pub fn refused_frame(req: u64) -> ServerFrame {
    ServerFrame::err(req, ErrorCode::Internal, "the relay is shutting down; send again")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::store::{SqliteStore, Store};
    use axum::extract::ws::Utf8Bytes;
    use onair_proto::EntryKind;
    use std::path::Path;

    const GROUP: &str = "g:0000000000000001";

    fn state_on_disk(dir: &Path) -> Arc<AppState> {
        let store = SqliteStore::open(&dir.join("relay.db")).unwrap();
        for u in ["ann", "bob", "cy"] {
            store.create_user(u, "h", 0).unwrap();
        }
        store.create_group(GROUP, "g", "ann", &["bob".into(), "cy".into()], 0).unwrap();
        AppState::new(Arc::new(store), Limits::default(), None)
    }

    fn job(user: &str, conn: u64, req: u64, id: &str) -> Job {
        let entry = NewEntry { id: id.into(), sender: user.into(), sent_at: req as i64, kind: EntryKind::Message, text: format!("t {id}"), ref_seq: None, burn_secs: None, attachment: None };
        Job { conn, user: user.into(), req, send: PendingSend { conv: GROUP.into(), entry } }
    }

    fn connect(state: &AppState, user: &str, conn: u64) -> mpsc::Receiver<Utf8Bytes> {
        let (tx, rx) = mpsc::channel(100_000);
        state.hub.register(user, conn, tx);
        rx
    }

    async fn next(rx: &mut mpsc::Receiver<Utf8Bytes>) -> serde_json::Value {
        let t = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv()).await.expect("a frame in time").expect("queue open");
        serde_json::from_str(t.as_str()).unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_batch_dedupes_keeps_order_and_commits_before_answering() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_on_disk(dir.path());
        let mut ann = connect(&state, "ann", 1);
        let mut bob = connect(&state, "bob", 2);
        start(state.clone(), 64);
        // On this single-threaded runtime the writer cannot run before we
        // wait: all five land in its first batch, two of them resends.
        for (req, id) in [(1, "a1"), (2, "a2"), (3, "a1"), (4, "a3"), (5, "a2")] {
            state.appends.submit(job("ann", 1, req, id)).await.unwrap();
        }
        // A second connection to the file sees only committed rows.
        let outside = SqliteStore::open(&dir.path().join("relay.db")).unwrap();
        let mut got = Vec::new();
        while got.len() < 8 {
            let f = next(&mut ann).await;
            if f["t"] == "res" {
                let (id, seq) = (f["ok"]["id"].as_str().unwrap().to_string(), f["ok"]["seq"].as_u64().unwrap());
                let stored = outside.own_message("ann", &id).unwrap().expect("answered only after the commit");
                assert_eq!(stored.seq, seq);
                got.push(format!("res {} {id} {seq}", f["id"]));
            } else {
                got.push(format!("ev {} {}", f["ev"]["entry"]["id"].as_str().unwrap(), f["ev"]["entry"]["seq"]));
            }
        }
        // Each answer comes before the event it caused; resends get the
        // first copy's seq and are not pushed again.
        assert_eq!(got, ["res 1 a1 1", "ev a1 1", "res 2 a2 2", "ev a2 2", "res 3 a1 1", "res 4 a3 3", "ev a3 3", "res 5 a2 2"]);
        let seqs: Vec<u64> = [next(&mut bob).await, next(&mut bob).await, next(&mut bob).await].iter().map(|f| f["ev"]["entry"]["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(state.metrics.append_batches.load(std::sync::atomic::Ordering::Relaxed), 1, "one transaction");
        assert_eq!(outside.conv(GROUP).unwrap().unwrap().last_seq, 3);
        state.appends.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stop_commits_and_answers_everything_it_took() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_on_disk(dir.path());
        let users: [&'static str; 3] = ["ann", "bob", "cy"];
        let mut queues: Vec<_> = users.iter().enumerate().map(|(i, u)| connect(&state, u, i as u64 + 1)).collect();
        // A short queue, so senders also wait for room while it stops.
        start(state.clone(), 4);
        let mut senders = Vec::new();
        for (i, u) in users.into_iter().enumerate() {
            let st = state.clone();
            senders.push(tokio::spawn(async move {
                let mut taken = Vec::new();
                for n in 0..2000u64 {
                    match st.appends.submit(job(u, i as u64 + 1, n, &format!("{u}-{n}"))).await {
                        Ok(()) => taken.push(n),
                        Err(Refused::Stopped(_)) => break,
                        Err(Refused::NotRunning(_)) => panic!("the writer runs"),
                    }
                }
                taken
            }));
        }
        // Stop while they are sending.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while state.metrics.messages_stored.load(std::sync::atomic::Ordering::Relaxed) < 300 {
            assert!(std::time::Instant::now() < deadline, "the writer stores messages");
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        state.appends.stop().await;
        let mut total = 0;
        for ((i, u), s) in users.iter().enumerate().zip(senders) {
            let taken = s.await.unwrap();
            assert!(!taken.is_empty());
            // Every message taken was answered (before stop returned), in
            // the order sent, with rising seqs, and is stored.
            let mut last = 0;
            let mut answered = Vec::new();
            while let Ok(t) = queues[i].try_recv() {
                let f: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                if f["t"] == "res" {
                    let seq = f["ok"]["seq"].as_u64().expect("sent");
                    assert!(seq > last, "{u}: seqs rise in the order sent");
                    last = seq;
                    answered.push(f["id"].as_u64().unwrap());
                }
            }
            assert_eq!(answered, taken, "{u}: every taken message answered");
            for n in &taken {
                assert!(state.store.own_message(u, &format!("{u}-{n}")).unwrap().is_some());
            }
            assert!(state.store.own_message(u, &format!("{u}-{}", taken.len())).unwrap().is_none(), "a refused one is not stored");
            total += taken.len() as u64;
        }
        assert_eq!(state.store.conv(GROUP).unwrap().unwrap().last_seq, total, "no gaps, nothing extra");
        assert!(matches!(state.appends.submit(job("ann", 1, 0, "late")).await, Err(Refused::Stopped(_))));
    }
}
