//! Server-side call recording (issue 16), the media half: each caller's
//! leg to the recorder, and the recorder worker that joins the call as a
//! third, receive-only participant.
//!
//! ```text
//! caller's send writer ─▶ call peer connection (to the other caller)
//!                     └─▶ leg peer connection (send-only) ══ POST /v1/cloud/recordings/ID/leg (SDP offer → answer) ══╗
//! worker: POST /v1/recorder/claim ─▶ GET …/jobs/ID/legs (long poll) ─▶ receive-only peer per side ◀═════════════════╝
//!   caller's leg ─▶ recv (decode) ─▶ left  ┐
//!   callee's leg ─▶ recv (decode) ─▶ right ┴▶ record::CallRecorder (side by side + voices mixed ─▶ H.264/AAC ─▶ fMP4)
//!   fMP4 part file, tailed ─▶ POST …/jobs/ID/media (the relay encrypts it) ; a leg missing or broken ─▶ POST …/fail
//! ```
//!
//! Calls are peer to peer (no SFU), so the recorder gets the media over a
//! second connection from each side. Each sender's writer hands the very
//! samples it already encoded for the call to the leg as well: no second
//! encode. (webrtc-rs 0.21 binds a local track to one connection, so the
//! leg has tracks of its own that share the encoded bytes.)
//!
//! A/V sync: the worker places each side's pictures and sound on its own
//! clock as they arrive (the same compositor as local call recordings:
//! latest picture per frame tick, audio mixed 100 ms behind real time).
//! Both sides' video and audio of one sender travel on one connection
//! through one jitter-free path on loopback or a LAN, so what arrives
//! together was captured together; RTCP sender reports are not used yet.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onair_chat::net::{Http, Method, RelayUrl};
use onair_proto::cloud::{RecorderJob, Tier};
use onair_proto::recorder::RecorderLeg;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::mpsc;
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::peer::{Peer, PeerEvent, PeerOptions};
use crate::record::{CallRecorder, RecordConfig};
use crate::recv::{self, RecvStats};
use crate::tap::{Tap, TapItem};

/// Where a caller publishes its leg. `Debug` hides the token.
#[derive(Clone, PartialEq)]
pub struct LegTarget {
    /// The relay's base URL (`http://HOST:PORT` or `https://…`).
    pub relay: String,
    /// The caller's bearer token.
    pub token: String,
    /// The running server recording.
    pub recording: String,
}

impl std::fmt::Debug for LegTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegTarget").field("relay", &self.relay).field("recording", &self.recording).finish_non_exhaustive()
    }
}

/// A connected leg, as the send writer uses it.
#[derive(Clone)]
pub struct LegSink {
    pub peer: Arc<Peer>,
    pub vpt: u8,
    pub apt: u8,
}

pub type LegSlot = Arc<Mutex<Option<LegSink>>>;

pub fn leg_of(slot: &LegSlot) -> Option<LegSink> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Takes the leg out of the slot and closes it (in the background).
pub fn drop_leg(slot: &LegSlot) {
    if let Some(l) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
        tokio::spawn(async move { l.peer.close().await });
    }
}

/// Waits for ICE gathering to finish (a non-trickle offer or answer needs
/// every candidate), up to `within`.
async fn gathered(events: &mut mpsc::Receiver<PeerEvent>, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(PeerEvent::GatheringComplete)) => return true,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return false,
        }
    }
}

/// One try: offer, the relay's answer (the worker's), connected.
async fn publish_once(t: &LegTarget, opts: &PeerOptions) -> Result<(Arc<Peer>, mpsc::Receiver<PeerEvent>), String> {
    let (peer, mut events) = Peer::new(opts).await.map_err(|e| e.to_string())?;
    peer.offer(false).await.map_err(|e| e.to_string())?;
    if !gathered(&mut events, Duration::from_secs(10)).await {
        peer.close().await;
        return Err("ICE gathering did not finish".into());
    }
    let offer = peer.local_sdp().await.ok_or("no local description")?;
    let http = Http::new(RelayUrl::parse(&t.relay).map_err(|e| e.to_string())?);
    let path = format!("/v1/cloud/recordings/{}/leg", t.recording);
    let (status, body) = match http.call(Method::POST, &path, Some(&t.token), "application/sdp", offer.into_bytes()).await {
        Ok(r) => r,
        Err(e) => {
            peer.close().await;
            return Err(format!("posting the leg: {e}"));
        }
    };
    if !status.is_success() {
        peer.close().await;
        return Err(format!("the relay answered {status}: {}", String::from_utf8_lossy(&body).chars().take(200).collect::<String>()));
    }
    let answer = String::from_utf8(body).map_err(|_| "the answer is not text".to_string())?;
    if let Err(e) = peer.accept_answer(&answer).await {
        peer.close().await;
        return Err(e.to_string());
    }
    Ok((Arc::new(peer), events))
}

/// Publishes the send tracks' samples to the recorder until aborted: a
/// leg that fails or never connects is tried again.
pub async fn publish(t: LegTarget, opts: PeerOptions, slot: LegSlot, keyframe: Arc<AtomicBool>) {
    loop {
        match publish_once(&t, &opts).await {
            Ok((peer, mut events)) => {
                tracing::info!(recording = %t.recording, "media leg to the cloud recorder negotiated");
                // The leg's PLI/FIR make our next frame a keyframe.
                peer.feedback.on_keyframe_request(keyframe.clone());
                let connect_by = tokio::time::Instant::now() + Duration::from_secs(15);
                let mut up = false;
                loop {
                    let ev = if up { events.recv().await } else { tokio::time::timeout_at(connect_by, events.recv()).await.ok().flatten() };
                    match ev {
                        Some(PeerEvent::State(RTCPeerConnectionState::Connected)) if !up => match peer.send_payload_types().await {
                            Ok((vpt, apt)) => {
                                up = true;
                                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(LegSink { peer: peer.clone(), vpt, apt });
                                keyframe.store(true, std::sync::atomic::Ordering::Release);
                            }
                            Err(e) => {
                                tracing::warn!("the recorder's leg: {e}");
                                break;
                            }
                        },
                        Some(PeerEvent::State(RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed)) | None => break,
                        Some(_) => {}
                    }
                }
                tracing::warn!(recording = %t.recording, "the media leg to the cloud recorder went down; trying again");
                let held = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                drop(held);
                peer.close().await;
            }
            Err(e) => tracing::warn!(recording = %t.recording, "media leg to the cloud recorder: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

// ---------------------------------------------------------------- worker

/// How a recorder worker runs its jobs.
#[derive(Clone)]
pub struct WorkerConfig {
    /// The relay's base URL.
    pub relay: String,
    /// The relay's `--recorder-token` (never logged).
    pub token: String,
    pub peer: PeerOptions,
    /// Frames per second of the composite.
    pub fps: u32,
    /// libx264's speed preset for the composite (None: veryfast).
    pub x264_preset: Option<String>,
    /// A side whose leg has not connected by then fails the job.
    pub leg_wait: Duration,
    /// Where the composite is written while it streams (a folder per job, removed after).
    pub work_dir: std::path::PathBuf,
    /// Gets a line for each step worth telling (a side's media arrived or broke).
    pub events: Option<mpsc::UnboundedSender<String>>,
}

impl std::fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerConfig").field("relay", &self.relay).field("fps", &self.fps).finish_non_exhaustive()
    }
}

/// How a job ended.
#[derive(Debug, PartialEq, Eq)]
pub enum JobEnd {
    /// The relay ended it (a participant stopped, a limit).
    Stopped,
    /// The worker gave up and told the relay why.
    Failed(String),
}

/// One side's state, shared with its leg tasks.
#[derive(Default)]
struct Side {
    connected: bool,
    /// When its connection dropped (None: up or never came).
    down_since: Option<Instant>,
    peer: Option<Arc<Peer>>,
    stats: Arc<RecvStats>,
}

struct Job {
    http: Http,
    token: String,
    id: String,
}

impl Job {
    async fn post(&self, path: &str, ct: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>), String> {
        let (s, b) = self.http.call(Method::POST, path, Some(&self.token), ct, body).await.map_err(|e| e.to_string())?;
        Ok((s.as_u16(), b))
    }
}

/// Claims one job if one waits.
pub async fn claim(cfg: &WorkerConfig) -> Result<Option<RecorderJob>, String> {
    let http = Http::new(RelayUrl::parse(&cfg.relay).map_err(|e| e.to_string())?);
    let (s, b) = http.call(Method::POST, "/v1/recorder/claim", Some(&cfg.token), "application/json", Vec::new()).await.map_err(|e| e.to_string())?;
    match s.as_u16() {
        200 => serde_json::from_slice(&b).map(Some).map_err(|e| format!("a job the worker cannot read: {e}")),
        204 => Ok(None),
        401 => Err("the relay refused the recorder token (--token must be the relay's --recorder-token)".into()),
        c => Err(format!("claiming a job: HTTP {c}")),
    }
}

/// Runs a claimed job to its end: legs in, composite out to the relay.
pub async fn run_job(cfg: &WorkerConfig, job: RecorderJob) -> JobEnd {
    let http = match RelayUrl::parse(&cfg.relay) {
        Ok(u) => Http::new(u),
        Err(e) => return JobEnd::Failed(e.to_string()),
    };
    let j = Arc::new(Job { http, token: cfg.token.clone(), id: job.id.clone() });
    let end = record(cfg, &job, j.clone()).await;
    if let JobEnd::Failed(why) = &end {
        tracing::warn!(job = %job.id, "failing the job: {why}");
        let _ = j.post(&format!("/v1/recorder/jobs/{}/fail", job.id), "text/plain", why.clone().into_bytes()).await;
    }
    end
}

async fn record(cfg: &WorkerConfig, job: &RecorderJob, j: Arc<Job>) -> JobEnd {
    let dir = cfg.work_dir.join(&job.id);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return JobEnd::Failed(format!("the worker cannot write {}: {e}", dir.display()));
    }
    let r = record_in(cfg, job, j, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    r
}

async fn record_in(cfg: &WorkerConfig, job: &RecorderJob, j: Arc<Job>, dir: &std::path::Path) -> JobEnd {
    let (w, h) = job.tier.composite().map(|(w, h)| (w / 2, h)).unwrap_or((320, 180));
    let audio_only = job.tier == Tier::Audio;
    let library = match onair_media::library::Library::open_only(dir) {
        Ok(l) => Arc::new(l),
        Err(e) => return JobEnd::Failed(format!("the worker's scratch library: {e}")),
    };
    let path = dir.join("composite.mp4");
    let mix = Tap::default();
    // Bitrate: about 0.1 bit per pixel per frame at 30 fps, as x264 veryfast needs for calls.
    let video_kbps = (2 * w * h) / 1000 * 3;
    let rc = RecordConfig { path: path.clone(), width: w, height: h, fps: cfg.fps, video_kbps, audio_only, x264_preset: cfg.x264_preset.clone(), align_audio: true };
    let rec = match CallRecorder::start(rc, library, mix.clone()) {
        Ok(r) => r,
        Err(e) => return JobEnd::Failed(format!("starting the composite: {e}")),
    };
    let part = onair_media::output::recorder::part_path_for(&path);
    let sides: Arc<Mutex<[Side; 2]>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let legs = tokio::spawn(take_legs(cfg.clone(), j.clone(), sides.clone(), mix.clone(), audio_only));
    let started = Instant::now();
    let mut sent = 0u64;
    let mut was_up = [false, false];
    let say = |m: String| {
        if let Some(tx) = &cfg.events {
            let _ = tx.send(format!("job {}: {m}", job.id));
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let end = loop {
        tick.tick().await;
        // New bytes of the fragmented MP4 go to the relay as they land.
        match stream_new(&part, &mut sent, &j).await {
            Ok(true) => {}
            Ok(false) => break JobEnd::Stopped,
            Err(e) => break JobEnd::Failed(e),
        }
        let now = Instant::now();
        let s = sides.lock().unwrap_or_else(|p| p.into_inner());
        let mut failed = None;
        for (i, side) in s.iter().enumerate() {
            let name = if i == 0 { "caller" } else { "callee" };
            if side.connected != was_up[i] {
                was_up[i] = side.connected;
                say(format!("the {name}'s media {}", if side.connected { "arrives" } else { "stopped" }));
            }
            if !side.connected && side.down_since.is_none() && now - started > cfg.leg_wait {
                failed = Some(format!("no media from the {name} within {} s", cfg.leg_wait.as_secs()));
            }
            if side.down_since.is_some_and(|t| now - t > Duration::from_secs(8)) {
                failed = Some(format!("the {name}'s media leg broke"));
            }
        }
        drop(s);
        if let Some(f) = failed {
            break JobEnd::Failed(f);
        }
        if started.elapsed() > Duration::from_secs(job.max_secs + 60) {
            break JobEnd::Stopped;
        }
    };
    stop.store(true, std::sync::atomic::Ordering::Release);
    legs.abort();
    let peers: Vec<Arc<Peer>> = sides.lock().unwrap_or_else(|p| p.into_inner()).iter().filter_map(|s| s.peer.clone()).collect();
    for p in peers {
        p.close().await;
    }
    let decoded: Vec<u64> =
        sides.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|s| s.stats.video_frames_decoded.load(std::sync::atomic::Ordering::Relaxed)).collect();
    tracing::info!(job = %job.id, ?end, bytes = sent, ?decoded, "job ended");
    // What the compositor still holds goes out if the relay still takes it.
    let _ = tokio::task::spawn_blocking(move || rec.stop()).await;
    if matches!(end, JobEnd::Failed(_)) {
        let _ = stream_new(&part, &mut sent, &j).await;
    }
    end
}

/// Posts what the part file gained since `sent`. Ok(false): the relay
/// ended the job (404/409: stopped, or past a limit).
async fn stream_new(part: &std::path::Path, sent: &mut u64, j: &Job) -> Result<bool, String> {
    use std::io::{Read, Seek, SeekFrom};
    let len = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    while *sent < len {
        let n = (len - *sent).min(4 << 20) as usize;
        let mut buf = vec![0u8; n];
        let read = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::open(part)?;
            f.seek(SeekFrom::Start(*sent))?;
            f.read_exact(&mut buf)
        })();
        read.map_err(|e| format!("reading the composite: {e}"))?;
        match j.post(&format!("/v1/recorder/jobs/{}/media", j.id), "application/octet-stream", buf).await {
            Ok((204, _)) => *sent += n as u64,
            Ok((404 | 409, _)) => return Ok(false),
            Ok((c, b)) => return Err(format!("the relay refused media: HTTP {c} {}", String::from_utf8_lossy(&b).chars().take(200).collect::<String>())),
            Err(e) => return Err(format!("sending media to the relay: {e}")),
        }
    }
    Ok(true)
}

/// Answers the job's legs as they come until the job ends.
async fn take_legs(cfg: WorkerConfig, j: Arc<Job>, sides: Arc<Mutex<[Side; 2]>>, mix: Tap, audio_only: bool) {
    loop {
        let res = j.http.request(Method::GET, &format!("/v1/recorder/jobs/{}/legs", j.id), Some(&j.token));
        let res = match res {
            Ok(r) => j.http.send(r).await,
            Err(e) => Err(e),
        };
        let leg: RecorderLeg = match res {
            Ok((s, b)) if s.as_u16() == 200 => match serde_json::from_slice(&b) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!("a leg the worker cannot read: {e}");
                    continue;
                }
            },
            Ok((s, _)) if s.as_u16() == 204 => continue,
            Ok((s, _)) => {
                tracing::info!(job = %j.id, "legs: HTTP {s}; the job ended");
                return;
            }
            Err(e) => {
                tracing::warn!(job = %j.id, "waiting for legs: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let side = if leg.side == "caller" { 0 } else { 1 };
        match accept_leg(&cfg, &leg, side, sides.clone(), mix.clone(), audio_only).await {
            Ok(answer) => {
                let r = j.post(&format!("/v1/recorder/jobs/{}/legs/{}", j.id, leg.leg), "application/sdp", answer.into_bytes()).await;
                if !matches!(r, Ok((204, _))) {
                    tracing::warn!(job = %j.id, "answering {}'s leg: {r:?}", leg.user);
                }
            }
            Err(e) => tracing::warn!(job = %j.id, "{}'s leg refused: {e}", leg.user),
        }
    }
}

/// A receive-only connection for one side's offer; its tracks feed the
/// compositor (caller left, callee right). Returns the answer SDP.
async fn accept_leg(cfg: &WorkerConfig, leg: &RecorderLeg, side: usize, sides: Arc<Mutex<[Side; 2]>>, mix: Tap, audio_only: bool) -> Result<String, String> {
    let (peer, mut events) = Peer::receive_only(&cfg.peer).await.map_err(|e| e.to_string())?;
    peer.answer(&leg.offer).await.map_err(|e| e.to_string())?;
    if !gathered(&mut events, Duration::from_secs(10)).await {
        peer.close().await;
        return Err("ICE gathering did not finish".into());
    }
    let answer = peer.local_sdp().await.ok_or("no local description")?;
    let peer = Arc::new(peer);
    // A new leg for a side replaces its old one (the caller reconnected).
    let stats = Arc::new(RecvStats::default());
    let old = {
        let mut s = sides.lock().unwrap_or_else(|p| p.into_inner());
        let old = s[side].peer.replace(peer.clone());
        s[side].stats = stats.clone();
        old
    };
    if let Some(o) = old {
        o.close().await;
    }
    // The side's own tap, forwarded into the compositor as its side.
    let tap = Tap::default();
    let (tx, rx) = crossbeam_channel::bounded::<TapItem>(256);
    tap.set(Some(tx));
    std::thread::Builder::new()
        .name("recorder-side".into())
        .spawn(move || {
            for item in rx {
                let item = match (side, item) {
                    (_, TapItem::RemoteVideo(_) | TapItem::LocalVideo(_)) if audio_only => continue,
                    (0, TapItem::RemoteVideo(f)) => TapItem::LocalVideo(f),
                    (0, TapItem::RemoteAudio(a)) => TapItem::LocalAudio(a),
                    (_, i) => i,
                };
                mix.send(item);
            }
        })
        .map_err(|e| e.to_string())?;
    let p2 = peer.clone();
    tokio::spawn(async move {
        let (mut got_v, mut got_a) = (false, false);
        while let Some(ev) = events.recv().await {
            match ev {
                PeerEvent::Track(track, RtpCodecKind::Video) if !got_v => {
                    got_v = true;
                    // Pictures and sound carry the sender's capture time (its RTCP
                    // sender reports): the compositor keeps them in sync by it.
                    let clock = recv::SenderClock::new(p2.feedback.clone());
                    if let Err(e) = recv::spawn_video(track, stats.clone(), tap.clone(), Some(clock)) {
                        tracing::warn!("{e}");
                    }
                }
                PeerEvent::Track(track, RtpCodecKind::Audio) if !got_a => {
                    got_a = true;
                    let clock = recv::SenderClock::new(p2.feedback.clone());
                    if let Err(e) = recv::spawn_audio(track, stats.clone(), tap.clone(), false, Arc::default(), None, Some(clock)) {
                        tracing::warn!("{e}");
                    }
                }
                PeerEvent::State(st) => {
                    let mut s = sides.lock().unwrap_or_else(|p| p.into_inner());
                    // Only the side's current connection speaks for it.
                    if !s[side].peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, &p2)) {
                        continue;
                    }
                    match st {
                        RTCPeerConnectionState::Connected => {
                            s[side].connected = true;
                            s[side].down_since = None;
                        }
                        RTCPeerConnectionState::Disconnected | RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                            s[side].connected = false;
                            s[side].down_since.get_or_insert_with(Instant::now);
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        // The tracks' tasks end with the connection; the tap then closes.
        drop(tap);
    });
    Ok(answer)
}
