//! The call driver: owns the relay link, the peer connection, the recorder
//! and the timers, and moves messages between them and the sans-IO [`Call`]
//! state machine.
//!
//! The relay link is an [`onair_chat::net::RelayLink`]: its own ([`run`],
//! the CLI) or the device's link that chat rides on too ([`run_on`], the
//! app: the relay binds a call to the socket that rang and answered it, so
//! the call's signaling must travel on that one). The link reconnects by
//! itself; the driver hears Down and Up and the state machine resumes.
//!
//! ```text
//!  relay link ──call events, answers──▶ wire::decode ─▶ Input ─┐
//!  peer events (candidates, state, tracks) ────┼▶ Call::handle ─▶ Output ─▶ send frame / make offer / add candidate / record
//!  user commands (stdin, app) ─────────────────┤
//!  timers (Call::poll_timeout, stats 1 s) ─────┘
//! ```

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use onair_chat::net::{LinkEvent, LinkOptions, RelayLink, Subscription, Topic};
use onair_chat::NetError;
use onair_media::library::Library;
use onair_media::source::VideoSpec;
use serde::Serialize;
use tokio::sync::mpsc;
use webrtc::peer_connection::RTCPeerConnectionState;

use onair_beauty::BeautyParams;
use onair_proto::{ClientFrame, Event, ServerFrame};

use crate::error::{CallError, Result};
use crate::peer::{PeerEvent, PeerOptions};
use crate::record::{CallRecorder, RecordConfig};
use crate::send::{Control, SendConfig};
use crate::session::{MediaSession, NetQuality};
use crate::state::{Call, EndReason, Input, Notice, Output};
use crate::tap::TapItem;
use crate::wire::Wire;

/// Whom to call, or whom to wait for.
#[derive(Clone, Debug)]
pub enum Role {
    Dial(String),
    Answer { from: Option<String> },
    /// The invite already went out on the device's link and the relay named
    /// the call (the app's Call button).
    Invited { call_id: String, to: String },
    /// Answer this ringing call (the app's Answer button).
    Accept { call_id: String, from: String },
}

/// Everything a call needs. `Debug` hides the token.
#[derive(Clone)]
pub struct CallOptions {
    /// `ws://HOST:PORT/v1/ws` of the relay (unused by [`run_on`]).
    pub ws_url: String,
    /// The account's bearer token (never logged; unused by [`run_on`]).
    pub token: String,
    pub role: Role,
    pub peer: PeerOptions,
    pub send: SendConfig,
    /// Record to this file when asked (`record start`) or from the start.
    pub record_path: Option<PathBuf>,
    pub record_from_start: bool,
    /// Where the recording library lives (ONAIR_HOME).
    pub home: PathBuf,
    /// The library already open in this process (the app's); else opened
    /// from `home` when a recording starts.
    pub library: Option<Arc<Library>>,
    /// Play the other side's sound on the default speaker.
    pub play_audio: bool,
    /// Gets local and remote pictures for a call screen (bounded; a full
    /// queue skips pictures, never slows the call).
    pub viewer: Option<crossbeam_channel::Sender<TapItem>>,
    /// End the call after this long in the call.
    pub duration: Option<Duration>,
    /// Answer recording-consent requests without asking.
    pub auto_consent: Option<bool>,
    /// Gets the call's figures about once a second while it runs (the
    /// final report is [`run`]'s result). A full channel skips a snapshot.
    pub snapshots: Option<mpsc::Sender<CallReport>>,
    /// Told of each `cloud_recording` push from the relay (a server
    /// recording of our calls changed state), so a front door need not poll.
    pub cloud_pushes: Option<std::sync::mpsc::Sender<Event>>,
}

impl std::fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallOptions").field("ws_url", &self.ws_url).field("role", &self.role).finish_non_exhaustive()
    }
}

/// A user command while in a call.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Mute(bool),
    Camera(bool),
    Video(VideoSpec),
    /// The beauty filter on the camera (None: off).
    Beauty(Option<BeautyParams>),
    RecordStart,
    RecordStop,
    Bookmark(Option<String>),
    Consent(bool),
    /// A server recording of this call runs (Some): publish our media to
    /// its recorder over a second connection; None: stop doing so.
    CloudLeg(Option<crate::cloud::LegTarget>),
    Hangup,
}

impl std::str::FromStr for Command {
    type Err = CallError;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let (word, rest) = s.split_once(' ').map(|(a, b)| (a, b.trim())).unwrap_or((s, ""));
        Ok(match (word, rest) {
            ("mute", "") => Command::Mute(true),
            ("unmute", "") => Command::Mute(false),
            ("camera", "off") => Command::Camera(false),
            ("camera", "on") => Command::Camera(true),
            ("share", "screen") => Command::Video(VideoSpec::Screen { display: None }),
            ("share", "camera") => Command::Video(VideoSpec::Camera { index: 0 }),
            ("share", "test") => Command::Video(VideoSpec::Test),
            ("share", spec) if !spec.is_empty() => Command::Video(spec.parse()?),
            ("beauty", "off") => Command::Beauty(None),
            ("beauty", spec) if !spec.is_empty() => {
                Command::Beauty(Some(spec.parse().map_err(|e| CallError::Invalid(format!("beauty {spec:?}: {e}")))?))
            }
            ("record", "start") => Command::RecordStart,
            ("record", "stop") => Command::RecordStop,
            ("b", label) => Command::Bookmark(Some(label).filter(|l| !l.is_empty()).map(String::from)),
            ("consent", "yes") => Command::Consent(true),
            ("consent", "no") => Command::Consent(false),
            ("hangup", "") | ("q", "") => Command::Hangup,
            _ => {
                return Err(CallError::Invalid(format!(
                    "unknown command {s:?}: mute | unmute | camera off | camera on | share screen | share camera | share file:PATH | \
                     beauty SMOOTH,WHITEN | beauty off | record start | record stop | b [LABEL] | consent yes | consent no | hangup"
                )))
            }
        })
    }
}

/// One entry of `recording_events`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[derive(ts_rs::TS)]
pub struct RecordingEvent {
    #[ts(type = "\"start\" | \"stop\" | \"declined\"")]
    pub event: &'static str,
    pub by: String,
    /// Unix milliseconds (the relay's clock when it says).
    #[ts(as = "f64")]
    pub at: i64,
}

/// What a finished call reports (`--stats-json`).
#[derive(Clone, Debug, Default, Serialize)]
#[derive(ts_rs::TS)]
pub struct CallReport {
    pub peer: Option<String>,
    pub call_id: Option<String>,
    pub ended: String,
    pub connected: bool,
    pub duration_s: f64,
    #[ts(as = "f64")]
    pub video_frames_sent: u64,
    #[ts(as = "f64")]
    pub video_frames_encoded: u64,
    #[ts(as = "f64")]
    pub video_frames_dropped: u64,
    #[ts(as = "f64")]
    pub video_frames_received: u64,
    #[ts(as = "f64")]
    pub video_frames_decoded: u64,
    #[ts(as = "f64")]
    pub video_frames_broken: u64,
    pub video_width: u32,
    pub video_height: u32,
    /// Mean colour (Y, U, V, 0-255) of the last picture decoded from the
    /// other side: black (16, 128, 128) while their camera is off.
    pub picture_yuv: Option<[f64; 3]>,
    /// Loudness of the other side's last ~0.5 s of audio (dBFS; about -100 while they are muted).
    pub audio_level_dbfs: Option<f64>,
    /// Our own controls: muted, camera off, and what video we send.
    pub muted: bool,
    pub camera_off: bool,
    /// Why our camera did not open (the call joined with video off).
    pub camera_error: Option<String>,
    /// The other side's microphone and camera as it last told us (None: not told yet).
    pub peer_muted: Option<bool>,
    pub peer_camera_off: Option<bool>,
    pub video_source: String,
    /// Whether our relay connection is up (false while reconnecting).
    pub relay_connected: bool,
    /// Whether our recorder is writing now.
    pub recording_now: bool,
    #[ts(as = "f64")]
    pub audio_packets_sent: u64,
    #[ts(as = "f64")]
    pub audio_packets_received: u64,
    #[ts(as = "f64")]
    pub audio_samples_decoded: u64,
    pub rtt_ms: Option<f64>,
    pub loss: f64,
    pub jitter_ms: f64,
    pub quality_score: f64,
    pub quality: Option<crate::quality::Band>,
    pub send_kbps: f64,
    pub target_kbps: u32,
    /// GCC's estimate from TWCC feedback (kbit/s); the encoder's target stays at or below it.
    pub gcc_kbps: Option<u32>,
    /// The picture size we send now, and each step it took with the network.
    pub send_width: u32,
    pub send_height: u32,
    pub size_steps: Vec<crate::rungs::Step>,
    pub latency_ms_p50: Option<f64>,
    pub latency_ms_p95: Option<f64>,
    pub latency_samples: usize,
    /// Our side of the selected ICE pair (`relay` when through TURN), when the stats name it.
    pub candidate_type: Option<String>,
    pub ice_restarts: u32,
    /// First connections that did not come up and were started again afresh.
    pub connect_retries: u32,
    pub relay_reconnects: u32,
    pub recording_events: Vec<RecordingEvent>,
    /// The other side's picture: freezes as WebRTC's stats count them (a gap ≥ max(3× the average, average + 150 ms)), time frozen, longest gap.
    #[ts(as = "f64")]
    pub freezes: u64,
    pub freeze_ms: f64,
    pub longest_gap_ms: f64,
    /// Their PLI/FIR, and how many came too soon after the last to make another keyframe.
    #[ts(as = "f64")]
    pub keyframe_requests: u64,
    #[ts(as = "f64")]
    pub keyframe_requests_ignored: u64,
    /// Retransmissions: sent within their budget, and dropped over it.
    pub resent_kbytes: f64,
    #[ts(as = "f64")]
    pub resends_dropped: u64,
    pub recording: Option<onair_media::pipeline::RecordingResult>,
    pub notices: Vec<String>,
}

/// Runs one call to its end on a relay link of its own. `ui` gets a line
/// for everything the user should see; `commands` are the user's.
pub async fn run(opts: CallOptions, commands: mpsc::Receiver<Command>, ui: mpsc::UnboundedSender<String>) -> Result<CallReport> {
    let url = opts.ws_url.clone();
    let lopts = LinkOptions { connect_timeout: Duration::from_secs(10), max_backoff: Duration::from_secs(2), ..LinkOptions::default() };
    let (link, task) = match RelayLink::connect(&url, &opts.token, lopts).await {
        Ok(l) => l,
        Err(NetError::Timeout) => return Err(CallError::Signaling(format!("connecting to {url} timed out"))),
        Err(NetError::Refused { code, message }) => return Err(CallError::Signaling(format!("{code:?}: {message}"))),
        Err(e) => return Err(CallError::Signaling(format!("connecting to {url}: {e}"))),
    };
    let sub = link.subscribe(&[Topic::Call], 512);
    let me = link.user().unwrap_or_default();
    let task = tokio::spawn(task);
    let r = drive(opts, link.clone(), sub, me, commands, ui).await;
    link.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    r
}

/// Runs one call to its end with its signaling on `link`, the device's
/// link that someone else owns (the app's chat listener). `sub` is a
/// [`Topic::Call`] subscription made before the call's first request, so
/// no event of the call is missed; `me` is who the link is signed in as.
/// When the link ends for good (signed out), the call hangs up.
pub async fn run_on(opts: CallOptions, link: RelayLink, sub: Subscription, me: String, commands: mpsc::Receiver<Command>, ui: mpsc::UnboundedSender<String>) -> Result<CallReport> {
    drive(opts, link, sub, me, commands, ui).await
}

/// A request's answer as a frame for `wire` (None: lost with the connection).
type Answer = std::pin::Pin<Box<dyn std::future::Future<Output = Option<ServerFrame>> + Send>>;

/// Whether an event on a link the Calls screen shares is this call's: not
/// another call ringing (the screen shows it; the state machine would
/// decline it as busy), nor another call's signaling.
fn for_this_call(ev: &Event, ours: Option<&str>) -> bool {
    match (ev, ours, event_call_id(ev)) {
        (Event::CallIncoming { .. }, _, _) => false,
        (_, Some(ours), Some(id)) => id == ours,
        _ => true,
    }
}

/// The call a relay event is about.
fn event_call_id(ev: &Event) -> Option<&str> {
    Some(match ev {
        Event::CallIncoming { call_id, .. }
        | Event::CallRinging { call_id }
        | Event::CallAccepted { call_id }
        | Event::CallEnded { call_id, .. }
        | Event::CallSdp { call_id, .. }
        | Event::CallIce { call_id, .. }
        | Event::CallPeer { call_id, .. }
        | Event::CallRecording { call_id, .. }
        | Event::CallConsentRequest { call_id, .. }
        | Event::CallConsentResult { call_id, .. }
        | Event::CallMedia { call_id, .. } => call_id,
        _ => return None,
    })
}

async fn drive(opts: CallOptions, link: RelayLink, sub: Subscription, me: String, mut commands: mpsc::Receiver<Command>, ui: mpsc::UnboundedSender<String>) -> Result<CallReport> {
    let say = |s: String| {
        let _ = ui.send(s);
    };
    // STUN/TURN from the relay (time-limited TURN credentials), plus ours.
    // Call events that come meanwhile wait in `sub`.
    let relay_servers = fetch_ice_servers(&link).await;
    // Whether the link is up, as far as the call has been told.
    let mut up = link.is_up();
    // Answers to the call's requests on their way, as frames for `wire`.
    let mut answers: FuturesUnordered<Answer> = FuturesUnordered::new();
    // The app's calls (invited / accepting by id) share the link with the
    // Calls screen: another call ringing is the screen's to show, not this
    // call's to decline.
    let only_ours = matches!(opts.role, Role::Invited { .. } | Role::Accept { .. });
    let mut link_events = Some(sub);
    let mut wire = Wire::new(me.clone(), 2);
    let mut call = Call::new(me.clone());
    let now = Instant::now();
    match &opts.role {
        Role::Dial(to) => call.handle(now, Input::Dial { to: to.clone() }),
        Role::Answer { from } => {
            call.handle(now, Input::Wait { from: from.clone() });
            say(format!("waiting for a call{} as {me}", from.as_ref().map(|f| format!(" from {f}")).unwrap_or_default()));
        }
        Role::Invited { call_id, to } => call.handle(now, Input::Invited { call_id: call_id.clone(), to: to.clone() }),
        Role::Accept { call_id, from } => call.handle(now, Input::Answer { call_id: call_id.clone(), from: from.clone() }),
    }
    let mut report = CallReport::default();
    let mut session: Option<MediaSession> = None;
    let mut peer_events: Option<mpsc::Receiver<PeerEvent>> = None;
    let mut recorder: Option<CallRecorder> = None;
    let mut library: Option<Arc<Library>> = opts.library.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut connected_at: Option<Instant> = None;
    let mut ended: Option<EndReason> = None;
    let mut recordings = 0u32;
    // Our mute / camera state as last told to the other side (None: not yet).
    let mut told: Option<(bool, bool)> = None;
    // When it was last told unasked: the state is told again every few
    // seconds, so one lost or overtaken note (a relay refusing it under
    // load, a tell racing the send thread's own change) is put right
    // within that time instead of leaving "camera off" on the other screen.
    let mut retold = Instant::now();
    // The server recording's leg we should publish (kept across a fresh peer connection).
    let mut cloud_leg: Option<crate::cloud::LegTarget> = None;

    loop {
        // Do what the state machine asked for.
        while let Some(out) = call.poll_output() {
            match out {
                Output::Send(sig) => {
                    // While down, the state machine resumes once the link is back.
                    if up {
                        if let ClientFrame::Req { id, body } = wire.encode_frame(&sig) {
                            // Queued now, so requests go out in order.
                            let answer = link.start(body);
                            answers.push(Box::pin(async move {
                                match answer.await {
                                    Ok(r) => Some(ServerFrame::ok(id, r)),
                                    Err(NetError::Refused { code, message }) => Some(ServerFrame::err(id, code, message)),
                                    // Lost with the connection: the link says Down.
                                    Err(e) => {
                                        tracing::debug!("call request {id}: {e}");
                                        None
                                    }
                                }
                            }));
                        }
                    }
                }
                Output::CreatePeer { ice_servers } => {
                    let mut popts = opts.peer.clone();
                    popts.ice_servers.extend(ice_servers);
                    popts.ice_servers.extend(relay_servers.iter().cloned());
                    let (mut s, ev) = MediaSession::new(&popts, opts.send.clone()).await?;
                    s.tap.set_viewer(opts.viewer.clone());
                    s.play_audio = opts.play_audio;
                    // A camera that would not open: the call goes on, and the user hears why.
                    for n in s.local.notices.lock().map(|v| v.clone()).unwrap_or_default() {
                        say(n);
                    }
                    if cloud_leg.is_some() {
                        s.set_cloud_leg(cloud_leg.clone());
                    }
                    session = Some(s);
                    peer_events = Some(ev);
                }
                Output::DropPeer => {
                    peer_events = None;
                    if let Some(s) = session.take() {
                        s.close().await;
                    }
                }
                Output::MakeOffer { ice_restart } => {
                    if let Some(s) = &session {
                        if ice_restart {
                            report.ice_restarts += 1;
                        }
                        match s.peer.offer(ice_restart).await {
                            Ok(sdp) => call.handle(Instant::now(), Input::LocalSdp { offer: true, sdp }),
                            Err(e) => say(format!("could not make an offer: {e}")),
                        }
                    }
                }
                Output::MakeAnswer { sdp } => {
                    if let Some(s) = &session {
                        match s.peer.answer(&sdp).await {
                            Ok(sdp) => call.handle(Instant::now(), Input::LocalSdp { offer: false, sdp }),
                            Err(e) => say(format!("refused the other side's offer: {e}")),
                        }
                    }
                }
                Output::ApplyAnswer { sdp } => {
                    if let Some(s) = &session {
                        if let Err(e) = s.peer.accept_answer(&sdp).await {
                            say(format!("refused the other side's answer: {e}"));
                        }
                    }
                }
                Output::AddCandidate(c) => {
                    if let Some(s) = &session {
                        if let Err(e) = s.peer.add_candidate(&c).await {
                            tracing::debug!("{e}");
                        }
                    }
                }
                Output::StartSending => {
                    connected_at = Some(Instant::now());
                    report.connected = true;
                    if let Some(s) = session.as_mut() {
                        s.start_sending().await?;
                        told = None;
                        tell_media(&link, call.call_id(), local_media(s), &mut told);
                    }
                    if opts.record_from_start {
                        call.handle(Instant::now(), Input::RecordStart);
                    }
                }
                Output::StartRecording => {
                    let (Some(path), Some(s)) = (&opts.record_path, &session) else {
                        say("recording needs --record FILE".into());
                        continue;
                    };
                    if library.is_none() {
                        library = Some(Arc::new(Library::open(&opts.home)?.0));
                    }
                    let lib = library.clone().expect("opened above");
                    // A second recording in the same call gets a file of its own.
                    recordings += 1;
                    let path = numbered(path, recordings);
                    let cfg = RecordConfig {
                        path: path.clone(),
                        width: opts.send.width,
                        height: opts.send.height,
                        fps: opts.send.fps,
                        video_kbps: opts.send.video_kbps * 2,
                        audio_only: false,
                        x264_preset: None,
                        align_audio: false,
                    };
                    match CallRecorder::start(cfg, lib, s.tap.clone()) {
                        Ok(r) => {
                            say(format!("recording to {}", path.display()));
                            recorder = Some(r);
                        }
                        Err(e) => say(format!("could not start recording: {e}")),
                    }
                }
                Output::StopRecording => {
                    if let Some(r) = recorder.take() {
                        match tokio::task::spawn_blocking(move || r.stop()).await {
                            Ok(Ok(res)) => {
                                say(format!("recording saved: {} ({} ms, {} bookmarks)", res.path.display(), res.duration_ms, res.bookmarks.len()));
                                report.recording = Some(res);
                            }
                            Ok(Err(e)) => say(format!("finishing the recording failed: {e}")),
                            Err(e) => say(format!("finishing the recording failed: {e}")),
                        }
                    }
                }
                Output::Notify(n) => {
                    match &n {
                        Notice::RecordingStarted { by, at } => {
                            report.recording_events.push(RecordingEvent { event: "start", by: by.clone(), at: *at });
                        }
                        Notice::RecordingStopped { by, at } => {
                            report.recording_events.push(RecordingEvent { event: "stop", by: by.clone(), at: *at });
                        }
                        Notice::RecordingDeclined { by, at } => {
                            report.recording_events.push(RecordingEvent { event: "declined", by: by.clone(), at: *at });
                        }
                        Notice::ConsentRequested { .. } => {
                            if let Some(v) = opts.auto_consent {
                                call.handle(Instant::now(), Input::Consent(v));
                            }
                        }
                        _ => {}
                    }
                    say(describe(&n, &me));
                }
                Output::End(reason) => ended = Some(reason),
            }
        }
        if let Some(reason) = ended.take() {
            report.ended = reason.to_string();
            say(format!("call ended: {reason}"));
            break;
        }
        if let (Some(d), Some(t)) = (opts.duration, connected_at) {
            if t.elapsed() >= d {
                call.handle(Instant::now(), Input::Hangup);
                continue;
            }
        }

        let sleep_until = call.poll_timeout();
        tokio::select! {
            msg = next_link(&mut link_events) => match msg {
                Some(LinkEvent::Event(ev)) => {
                    // The relay answers before it sends what the answer
                    // caused (the call id before `call_ringing`); the link
                    // has settled every answer that came before this event.
                    while let Some(Some(answer)) = answers.next().now_or_never() {
                        for input in answer.into_iter().flat_map(|f| wire.decode_frame(f)) {
                            call.handle(Instant::now(), input);
                        }
                    }
                    if let Event::CloudRecording { .. } = &ev {
                        if let Some(tx) = &opts.cloud_pushes {
                            let _ = tx.send(ev);
                        }
                        continue;
                    }
                    if let Event::CallMedia { call_id, from, muted, camera_off } = &ev {
                        if call.call_id() == Some(call_id.as_str()) && *from != me {
                            for line in peer_media_lines(from, &report, *muted, *camera_off) {
                                say(line);
                            }
                            report.peer_muted = Some(*muted);
                            report.peer_camera_off = Some(*camera_off);
                        }
                        continue;
                    }
                    if !only_ours || for_this_call(&ev, call.call_id()) {
                        for input in wire.decode_frame(ServerFrame::Event { ev }) {
                            call.handle(Instant::now(), input);
                        }
                    }
                }
                Some(LinkEvent::Down { .. }) => {
                    if up {
                        up = false;
                        call.handle(Instant::now(), Input::RelayDown);
                        say("lost the relay connection; reconnecting".into());
                    }
                }
                Some(LinkEvent::Up { .. }) => {
                    if !up {
                        up = true;
                        report.relay_reconnects += 1;
                        say("relay connection back".into());
                        call.handle(Instant::now(), Input::RelayUp);
                        // The other side may have missed a change meanwhile (the tick resends).
                        told = None;
                    }
                }
                Some(LinkEvent::Lagged(n)) => tracing::warn!(n, "call: relay events were dropped (queue full)"),
                Some(LinkEvent::Failed(e)) => {
                    say(format!("the relay link stopped: {e}"));
                    up = false;
                    call.handle(Instant::now(), Input::RelayDown);
                    call.handle(Instant::now(), Input::Hangup);
                }
                None => {
                    // The link's owner is gone (the app signed out or quits):
                    // hang up; what could not be sent is dropped with it.
                    if up {
                        up = false;
                        call.handle(Instant::now(), Input::RelayDown);
                    }
                    call.handle(Instant::now(), Input::Hangup);
                    // Nothing more comes: stop asking.
                    link_events = None;
                }
            },
            Some(answer) = answers.next(), if !answers.is_empty() => {
                for input in answer.into_iter().flat_map(|f| wire.decode_frame(f)) {
                    call.handle(Instant::now(), input);
                }
            },
            ev = next_peer(&mut peer_events) => match ev {
                Some(PeerEvent::Candidate(c)) => call.handle(Instant::now(), Input::LocalCandidate(c)),
                Some(PeerEvent::State(st)) => {
                    tracing::info!("peer connection: {st}");
                    let input = match st {
                        RTCPeerConnectionState::Connected => Some(Input::PeerConnected),
                        RTCPeerConnectionState::Disconnected => Some(Input::PeerDisconnected),
                        RTCPeerConnectionState::Failed => Some(Input::PeerFailed),
                        _ => None,
                    };
                    if let Some(i) = input {
                        call.handle(Instant::now(), i);
                    }
                }
                Some(ev) => {
                    if let Some(s) = session.as_mut() {
                        s.on_peer_event(ev).await?;
                    }
                }
                None => peer_events = None,
            },
            cmd = commands.recv() => match cmd {
                Some(Command::CloudLeg(t)) => {
                    if t != cloud_leg {
                        say(if t.is_some() { "sending our media to the server's recorder".into() } else { "stopped sending media to the server's recorder".into() });
                        cloud_leg = t.clone();
                        if let Some(s) = session.as_mut() {
                            s.set_cloud_leg(t);
                        }
                    }
                }
                Some(c) => {
                    let muting = matches!(c, Command::Mute(_));
                    let media = match (&c, session.as_ref()) {
                        (Command::Mute(m), Some(s)) => Some((*m, local_media(s).1)),
                        (Command::Camera(false), Some(s)) => Some((local_media(s).0, true)),
                        _ => None,
                    };
                    apply(c, &mut call, session.as_ref(), recorder.as_ref(), &say);
                    // The send thread marks it too when it gets there; marked
                    // now, the next tick does not tell the state from before.
                    // Only the one that changed: the other may be on its way.
                    if let (Some((muted, camera_off)), Some(s)) = (media, session.as_ref()) {
                        if muting {
                            s.send_stats().muted.store(muted, Ordering::Relaxed);
                        } else {
                            s.send_stats().camera_off.store(camera_off, Ordering::Relaxed);
                        }
                    }
                    // Told at once; a camera turned on is told by the next
                    // tick, once it did open (it may not).
                    if let (Some(m), true) = (media, connected_at.is_some()) {
                        tell_media(&link, call.call_id(), m, &mut told);
                    }
                }
                None => {
                    // stdin closed: keep going until --duration or the other side ends.
                    let (tx, rx) = mpsc::channel(1);
                    std::mem::forget(tx);
                    commands = rx;
                }
            },
            _ = tick.tick() => {
                if let Some(s) = session.as_mut() {
                    let q: NetQuality = s.tick().await.clone();
                    tracing::debug!(?q, "network");
                    if connected_at.is_some() && up {
                        if retold.elapsed() >= MEDIA_RETELL {
                            told = None;
                            retold = Instant::now();
                        }
                        tell_media(&link, call.call_id(), local_media(s), &mut told);
                    }
                }
                if let Some(tx) = &opts.snapshots {
                    let mut snap = report.clone();
                    snap.peer = call.peer_user.clone();
                    snap.connect_retries = call.fresh_starts;
                    snap.call_id = call.call_id().map(String::from);
                    snap.duration_s = connected_at.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
                    snap.relay_connected = up;
                    snap.recording_now = recorder.is_some();
                    if let Some(s) = &session {
                        fill(&mut snap, s);
                    }
                    let _ = tx.try_send(snap);
                }
            },
            _ = sleep_opt(sleep_until) => call.handle_timeout(Instant::now()),
        }
    }

    report.peer = call.peer_user.clone();
    report.connect_retries = call.fresh_starts;
    report.call_id = call.call_id().map(String::from);
    report.relay_connected = up;
    report.duration_s = connected_at.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
    if let Some(r) = recorder.take() {
        if let Ok(Ok(res)) = tokio::task::spawn_blocking(move || r.stop()).await {
            report.recording = Some(res);
        }
    }
    if let Some(s) = session {
        s.tap.set_viewer(None);
        // Let in-flight frames land before counting.
        tokio::time::sleep(Duration::from_millis(300)).await;
        fill(&mut report, &s);
        s.close().await;
    }
    Ok(report)
}

/// `call.mp4` for the first recording of a call, `call-2.mp4` for the second…
fn numbered(path: &std::path::Path, n: u32) -> PathBuf {
    if n <= 1 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "call".into());
    let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    path.with_file_name(format!("{stem}-{n}{ext}"))
}

fn fill(report: &mut CallReport, s: &MediaSession) {
    let tx = s.send_stats();
    let rx = &s.recv;
    let l = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    report.video_frames_sent = l(&tx.video_frames_sent);
    report.video_frames_encoded = l(&tx.video_frames_encoded);
    report.video_frames_dropped = l(&tx.video_frames_dropped);
    report.audio_packets_sent = l(&tx.audio_packets_sent);
    report.video_frames_received = l(&rx.video_frames_received);
    report.video_frames_decoded = l(&rx.video_frames_decoded);
    report.video_frames_broken = l(&rx.video_frames_broken);
    report.audio_packets_received = l(&rx.audio_packets_received);
    report.audio_samples_decoded = l(&rx.audio_samples_decoded);
    report.video_width = rx.width.load(Ordering::Relaxed);
    report.video_height = rx.height.load(Ordering::Relaxed);
    report.picture_yuv = rx.picture_yuv();
    report.audio_level_dbfs = rx.audio_level_dbfs().map(|d| (d * 10.0).round() / 10.0);
    report.muted = tx.muted.load(Ordering::Relaxed);
    report.camera_off = tx.camera_off.load(Ordering::Relaxed);
    report.camera_error = tx.camera_error.lock().map(|e| e.clone()).unwrap_or_else(|p| p.into_inner().clone());
    report.video_source = s.local.current_video.lock().map(|v| spec_name(&v)).unwrap_or_default();
    if let Some((p50, p95)) = rx.latency_percentiles() {
        report.latency_ms_p50 = Some((p50 * 10.0).round() / 10.0);
        report.latency_ms_p95 = Some((p95 * 10.0).round() / 10.0);
    }
    report.latency_samples = rx.latencies_ms.lock().map(|v| v.len()).unwrap_or(0);
    if let Ok(f) = rx.freezes.lock() {
        (report.freezes, report.freeze_ms, report.longest_gap_ms) = (f.freezes, f.freeze_ms.round(), f.longest_gap_ms.round());
    }
    let fb = &s.peer.feedback;
    report.keyframe_requests = l(&fb.keyframe_requests);
    report.keyframe_requests_ignored = l(&fb.keyframe_requests_ignored);
    report.resent_kbytes = (l(&fb.resent_bytes) as f64 / 100.0).round() / 10.0;
    report.resends_dropped = l(&fb.resends_dropped);
    let n = &s.net;
    report.rtt_ms = n.rtt_ms.map(|r| (r * 10.0).round() / 10.0);
    report.loss = n.loss;
    report.jitter_ms = n.jitter_ms;
    report.quality_score = n.quality_score;
    report.quality = n.band;
    report.send_kbps = n.send_kbps.round();
    report.target_kbps = n.target_kbps;
    report.gcc_kbps = n.gcc_kbps;
    report.size_steps = n.size_steps.clone();
    report.send_width = tx.send_width.load(Ordering::Relaxed);
    report.send_height = tx.send_height.load(Ordering::Relaxed);
    report.candidate_type = n.candidate_type.clone();
    report.notices = s.local.notices.lock().map(|v| v.clone()).unwrap_or_default();
}

/// How often our mute / camera state is told again though unchanged.
const MEDIA_RETELL: Duration = Duration::from_secs(5);

/// Our microphone and camera as the send path has them: (muted, camera off).
fn local_media(s: &MediaSession) -> (bool, bool) {
    let tx = s.send_stats();
    (tx.muted.load(Ordering::Relaxed), tx.camera_off.load(Ordering::Relaxed))
}

/// Tells the other side our mute / camera state when it changed since last
/// told. Nobody waits for the answer: a lost one is sent again after a
/// reconnect (`told` is cleared then).
fn tell_media(link: &RelayLink, call_id: Option<&str>, now: (bool, bool), told: &mut Option<(bool, bool)>) {
    let Some(call_id) = call_id else { return };
    if *told == Some(now) || !link.is_up() {
        return;
    }
    *told = Some(now);
    drop(link.start(onair_proto::Request::CallMedia { call_id: call_id.into(), muted: now.0, camera_off: now.1 }));
}

/// What to show when the other side's state changes ("bob muted").
fn peer_media_lines(from: &str, report: &CallReport, muted: bool, camera_off: bool) -> Vec<String> {
    let mut lines = Vec::new();
    match report.peer_muted {
        None if muted => lines.push(format!("{from} is muted")),
        Some(was) if was != muted => lines.push(format!("{from} {}", if muted { "muted" } else { "unmuted" })),
        _ => {}
    }
    match report.peer_camera_off {
        None if camera_off => lines.push(format!("{from}'s camera is off")),
        Some(was) if was != camera_off => lines.push(format!("{from} turned the camera {}", if camera_off { "off" } else { "on" })),
        _ => {}
    }
    lines
}

/// A video source as the user would type it (`test`, `screen`, `file:PATH`).
fn spec_name(v: &VideoSpec) -> String {
    match v {
        VideoSpec::None => "none".into(),
        VideoSpec::Test => "test".into(),
        VideoSpec::File { path } => format!("file:{}", path.display()),
        VideoSpec::Screen { display: None } => "screen".into(),
        VideoSpec::Screen { display: Some(d) } => format!("screen:{d}"),
        VideoSpec::Window { target } => format!("window:{target}"),
        VideoSpec::Camera { index } => format!("camera:{index}"),
    }
}

fn apply(c: Command, call: &mut Call, s: Option<&MediaSession>, rec: Option<&CallRecorder>, say: &dyn Fn(String)) {
    let now = Instant::now();
    let ctl = |c: Control| match s {
        Some(s) => {
            if let Err(e) = s.local.control(c) {
                say(e.to_string());
            }
        }
        None => say("not in a call yet".into()),
    };
    match c {
        Command::Mute(m) => {
            ctl(Control::Mute(m));
            say(if m { "muted".into() } else { "unmuted".into() });
        }
        Command::Camera(on) => {
            ctl(Control::Camera(on));
            say(format!("camera {}", if on { "on" } else { "off (sending black)" }));
        }
        Command::Video(spec) => {
            say(format!("sharing {spec:?}"));
            ctl(Control::Video(spec));
        }
        Command::Beauty(p) => {
            say(match p {
                Some(p) => format!("beauty smooth {} whiten {}", p.smooth, p.whiten),
                None => "beauty off".into(),
            });
            ctl(Control::Beauty(p));
        }
        Command::RecordStart => call.handle(now, Input::RecordStart),
        Command::RecordStop => call.handle(now, Input::RecordStop),
        Command::Bookmark(label) => match rec {
            Some(r) => match r.bookmark(label.as_deref()) {
                Ok(b) => say(format!("bookmark {:?} at {} ms", b.label, b.t_ms)),
                Err(e) => say(format!("bookmark failed: {e}")),
            },
            None => say("bookmarks need a running recording (record start)".into()),
        },
        Command::Consent(v) => call.handle(now, Input::Consent(v)),
        Command::CloudLeg(_) => {}
        Command::Hangup => call.handle(now, Input::Hangup),
    }
}

fn describe(n: &Notice, me: &str) -> String {
    let who = |by: &str| if by == me { "you".to_string() } else { by.to_string() };
    match n {
        Notice::Ringing => "ringing…".into(),
        Notice::Incoming { from } => format!("incoming call from {from}: answering"),
        Notice::Connected => "connected".into(),
        Notice::Reconnecting => "connection lost; restarting ICE".into(),
        Notice::Retrying => "the connection did not come up; trying again on a fresh one".into(),
        Notice::RecordingStarted { by, .. } if by == me => "recording started".into(),
        Notice::RecordingStarted { by, .. } => format!("{by} is recording this call"),
        Notice::RecordingStopped { by, .. } => format!("recording stopped by {}", who(by)),
        Notice::RecordingDeclined { by, .. } => format!("{by} declined to be recorded: not recording"),
        Notice::ConsentRequested { by } => format!("{by} asks to record this call: type `consent yes` or `consent no`"),
        Notice::PeerRelay { connected: false } => "the other side lost its relay connection (media may continue)".into(),
        Notice::PeerRelay { connected: true } => "the other side is back on the relay".into(),
        Notice::Refused(m) => format!("refused: {m}"),
    }
}

/// Asks the relay for its STUN/TURN servers (time-limited TURN
/// credentials); without an answer the call uses host candidates only.
async fn fetch_ice_servers(link: &RelayLink) -> Vec<onair_proto::IceServer> {
    match link.request(onair_proto::Request::IceServers).await {
        Ok(onair_proto::Response::IceServers { ice_servers, .. }) => ice_servers,
        Ok(other) => {
            tracing::warn!("no STUN/TURN servers from the relay (it answered {other:?}); host candidates only");
            Vec::new()
        }
        Err(e) => {
            tracing::warn!("no STUN/TURN servers from the relay ({e}); host candidates only");
            Vec::new()
        }
    }
}

async fn next_link(sub: &mut Option<Subscription>) -> Option<LinkEvent> {
    match sub.as_mut() {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

async fn next_peer(ev: &mut Option<mpsc::Receiver<PeerEvent>>) -> Option<PeerEvent> {
    match ev.as_mut() {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_link_hands_the_call_only_its_own_events() {
        let ring = Event::CallIncoming { call_id: "c2".into(), from: "carol".into(), media: vec![] };
        assert!(!for_this_call(&ring, Some("c1")), "another call ringing is the screen's, not declined as busy");
        assert!(!for_this_call(&ring, None));
        assert!(for_this_call(&Event::CallRinging { call_id: "c1".into() }, Some("c1")));
        assert!(!for_this_call(&Event::CallAccepted { call_id: "c2".into() }, Some("c1")));
        assert!(for_this_call(&Event::CallAccepted { call_id: "c2".into() }, None), "before the call has an id");
        assert!(for_this_call(&Event::ConvChanged { conv: "g".into() }, Some("c1")));
    }
}
