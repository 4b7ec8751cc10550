//! The call state machine, sans-IO: signaling messages, user commands,
//! connection states and the passing of time go in through
//! [`Call::handle`] / [`Call::handle_timeout`] (time is a parameter); what
//! to do comes out of [`Call::poll_output`]. No socket, clock or task in
//! here — the driver owns those.
//!
//! ```text
//!  Idle ─dial─▶ Inviting ─ringing─▶ Ringing ─accepted─▶ Connecting ─peer up─▶ Active ─hang up─▶ Ended
//!  Idle ─wait─▶ Waiting ─incoming─▶ (answer) ───────────▶ Connecting            │  ▲
//!                                                                  peer failed ─▶ Restarting (caller: ICE restart offer)
//! ```
//!
//! Recording: we *ask* (`RecordRequest`); the relay confirms with a
//! recording event naming us — immediately, or once the other side
//! consented when the relay requires consent — and only then do we start
//! writing. A decline comes back as [`Notice::RecordingDeclined`]: no file.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use onair_proto::{IceCandidate, IceServer};

/// Why a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    HungUp,
    RemoteHungUp,
    Declined,
    Busy,
    NoAnswer,
    Cancelled,
    Refused(String),
    ConnectionLost,
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndReason::HungUp => write!(f, "you hung up"),
            EndReason::RemoteHungUp => write!(f, "the other side hung up"),
            EndReason::Declined => write!(f, "declined"),
            EndReason::Busy => write!(f, "busy"),
            EndReason::NoAnswer => write!(f, "no answer"),
            EndReason::Cancelled => write!(f, "the caller cancelled"),
            EndReason::Refused(m) => write!(f, "refused: {m}"),
            EndReason::ConnectionLost => write!(f, "the connection was lost and did not come back"),
        }
    }
}

/// What goes in.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    // The user.
    Dial { to: String },
    /// Wait for an incoming call (from anyone, or only from `from`).
    Wait { from: Option<String> },
    /// We already sent the invite ourselves (the app rings from its own
    /// socket) and the relay named the call: follow it from here.
    Invited { call_id: String, to: String },
    /// Answer a call the user saw ring (the app asked them first).
    Answer { call_id: String, from: String },
    Hangup,
    RecordStart,
    RecordStop,
    /// Our answer to the other side's request to record.
    Consent(bool),
    // The relay connection.
    RelayUp,
    RelayDown,
    // Signaling from the relay.
    Incoming { call_id: String, from: String, ice_servers: Vec<IceServer> },
    /// The relay's answer to our invite: the call's id.
    Created { call_id: String },
    Ringing { call_id: String },
    Accepted { call_id: String, ice_servers: Vec<IceServer> },
    /// The other side's relay connection dropped or came back.
    PeerRelay { call_id: String, connected: bool },
    Ended { call_id: String, reason: EndReason },
    Sdp { call_id: String, offer: bool, sdp: String },
    Candidate { call_id: String, candidate: IceCandidate },
    /// Recording started or stopped by `by` (us or them), as the relay says.
    Recording { call_id: String, by: String, on: bool, at: i64 },
    /// The other side asks to record (consent required).
    ConsentRequested { call_id: String, by: String },
    /// The other side declined our request to record.
    RecordingDeclined { call_id: String, by: String, at: i64 },
    /// The relay refused a request (wrong call, not allowed, …).
    Refused { message: String },
    // The peer connection.
    /// Our offer or answer is ready to go out.
    LocalSdp { offer: bool, sdp: String },
    /// A candidate we gathered.
    LocalCandidate(IceCandidate),
    PeerConnected,
    PeerDisconnected,
    PeerFailed,
}

/// A signaling message to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    Invite { to: String },
    Accept { call_id: String },
    Decline { call_id: String },
    Hangup { call_id: String },
    Sdp { call_id: String, offer: bool, sdp: String },
    Candidate { call_id: String, candidate: IceCandidate },
    /// Re-attach to the call after our relay connection came back.
    Resume { call_id: String },
    Record { call_id: String, on: bool },
    Consent { call_id: String, accept: bool },
}

/// Something the user should see (and `--stats-json` records).
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    Ringing,
    Incoming { from: String },
    Connected,
    Reconnecting,
    /// The first connection did not come up: trying again on a fresh one.
    Retrying,
    RecordingStarted { by: String, at: i64 },
    RecordingStopped { by: String, at: i64 },
    RecordingDeclined { by: String, at: i64 },
    ConsentRequested { by: String },
    PeerRelay { connected: bool },
    Refused(String),
}

/// What comes out.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Send(Signal),
    /// Create the peer connection (with these ICE servers).
    CreatePeer { ice_servers: Vec<IceServer> },
    /// Close the peer connection and forget it: a handshake that never
    /// completed is started again on a fresh one (CreatePeer follows).
    DropPeer,
    /// Make an offer (the caller) and send it.
    MakeOffer { ice_restart: bool },
    /// Apply the other side's offer, send our answer.
    MakeAnswer { sdp: String },
    ApplyAnswer { sdp: String },
    AddCandidate(IceCandidate),
    StartSending,
    StartRecording,
    StopRecording,
    Notify(Notice),
    End(EndReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Waiting { from: Option<String> },
    Inviting { to: String },
    Ringing,
    Connecting,
    Active,
    Restarting { since: Instant },
    Ended,
}

/// How long to wait for an answer before giving up (the relay times out at 30 s).
pub const NO_ANSWER: Duration = Duration::from_secs(40);
/// A connection that stays disconnected this long gets an ICE restart.
pub const DISCONNECTED_GRACE: Duration = Duration::from_secs(2);
/// ICE restarts are retried this often while the connection is down.
pub const RESTART_EVERY: Duration = Duration::from_secs(5);
/// A call whose connection is down this long ends.
pub const GIVE_UP: Duration = Duration::from_secs(30);
/// A first connection not up this long after the offer is started again
/// on fresh peer connections. webrtc-rs 0.21's DTLS client stops
/// retransmitting its last flight once the server repeats its own, so a
/// lost flight 5 leaves the handshake stuck until it times out; an ICE
/// restart keeps the same DTLS association, a fresh connection does not.
pub const CONNECT_RETRY: Duration = Duration::from_secs(8);

pub struct Call {
    me: String,
    phase: Phase,
    call_id: Option<String>,
    pub peer_user: Option<String>,
    caller: bool,
    out: VecDeque<Output>,
    /// Candidates that arrived before the peer connection could take them.
    early_candidates: Vec<IceCandidate>,
    have_remote_sdp: bool,
    peer_created: bool,
    recording: bool,
    record_pending: bool,
    consent_pending_from: Option<String>,
    deadline: Option<Instant>,
    disconnected_at: Option<Instant>,
    last_restart: Option<Instant>,
    relay_up: bool,
    /// Signals that could not go out while the relay was down.
    held: Vec<Signal>,
    /// The ICE servers the relay named for this call (a fresh peer needs them again).
    ice_servers: Vec<IceServer>,
    /// Whether the connection was ever up (before that, a retry starts afresh).
    ever_connected: bool,
    /// When the caller starts the first connection again (CONNECT_RETRY).
    retry_at: Option<Instant>,
    /// Fresh starts so far.
    pub fresh_starts: u32,
}

impl Call {
    pub fn new(me: impl Into<String>) -> Self {
        Call {
            me: me.into(),
            phase: Phase::Idle,
            call_id: None,
            peer_user: None,
            caller: false,
            out: VecDeque::new(),
            early_candidates: Vec::new(),
            have_remote_sdp: false,
            peer_created: false,
            recording: false,
            record_pending: false,
            consent_pending_from: None,
            deadline: None,
            disconnected_at: None,
            last_restart: None,
            relay_up: true,
            held: Vec::new(),
            ice_servers: Vec::new(),
            ever_connected: false,
            retry_at: None,
            fresh_starts: 0,
        }
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    pub fn call_id(&self) -> Option<&str> {
        self.call_id.as_deref()
    }

    pub fn is_recording(&self) -> bool {
        self.recording
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Call::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let restart = match self.phase {
            Phase::Restarting { .. } => self.last_restart.map(|t| t + RESTART_EVERY),
            Phase::Active => self.disconnected_at.map(|t| t + DISCONNECTED_GRACE),
            Phase::Connecting => self.retry_at,
            _ => None,
        };
        [self.deadline, restart].into_iter().flatten().min()
    }

    fn send(&mut self, s: Signal) {
        if self.relay_up {
            self.out.push_back(Output::Send(s));
        } else {
            self.held.push(s);
        }
    }

    fn end(&mut self, reason: EndReason) {
        if self.phase == Phase::Ended {
            return;
        }
        if self.recording {
            self.recording = false;
            self.out.push_back(Output::StopRecording);
        }
        self.phase = Phase::Ended;
        self.deadline = None;
        self.out.push_back(Output::End(reason));
    }

    fn ours(&self, call_id: &str) -> bool {
        self.call_id.as_deref() == Some(call_id)
    }

    fn create_peer(&mut self, ice_servers: Vec<IceServer>) {
        if !self.peer_created {
            self.peer_created = true;
            self.ice_servers = ice_servers.clone();
            self.out.push_back(Output::CreatePeer { ice_servers });
        }
    }

    /// Drops the peer connection that never came up and makes a new one;
    /// the caller then offers again, the callee answers that offer.
    fn fresh_peer(&mut self) {
        self.fresh_starts += 1;
        self.out.push_back(Output::DropPeer);
        self.peer_created = false;
        self.have_remote_sdp = false;
        self.early_candidates.clear();
        let servers = std::mem::take(&mut self.ice_servers);
        self.create_peer(servers);
    }

    /// The caller's retry of a first connection that did not come up.
    fn start_again(&mut self, now: Instant) {
        self.fresh_peer();
        self.phase = Phase::Connecting;
        self.retry_at = Some(now + CONNECT_RETRY);
        self.out.push_back(Output::MakeOffer { ice_restart: false });
    }

    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Dial { to } if self.phase == Phase::Idle => {
                self.caller = true;
                self.peer_user = Some(to.clone());
                self.phase = Phase::Inviting { to: to.clone() };
                self.deadline = Some(now + NO_ANSWER);
                self.send(Signal::Invite { to });
            }
            Input::Wait { from } if self.phase == Phase::Idle => self.phase = Phase::Waiting { from },
            Input::Invited { call_id, to } if self.phase == Phase::Idle => {
                self.caller = true;
                self.call_id = Some(call_id);
                self.peer_user = Some(to.clone());
                self.phase = Phase::Inviting { to };
                self.deadline = Some(now + NO_ANSWER);
            }
            Input::Answer { call_id, from } if self.phase == Phase::Idle => self.accept(now, call_id, from, Vec::new()),
            Input::Incoming { call_id, from, ice_servers } => match &self.phase {
                Phase::Waiting { from: want } if want.as_ref().is_none_or(|w| *w == from) => self.accept(now, call_id, from, ice_servers),
                _ => self.send(Signal::Decline { call_id }),
            },
            Input::Created { call_id } => {
                if matches!(self.phase, Phase::Inviting { .. }) && self.call_id.is_none() {
                    self.call_id = Some(call_id);
                }
            }
            Input::PeerRelay { call_id, connected } if self.ours(&call_id) => {
                self.out.push_back(Output::Notify(Notice::PeerRelay { connected }));
            }
            Input::Ringing { call_id } => {
                if matches!(self.phase, Phase::Inviting { .. }) {
                    self.call_id = Some(call_id);
                    self.phase = Phase::Ringing;
                    self.out.push_back(Output::Notify(Notice::Ringing));
                }
            }
            Input::Accepted { call_id, ice_servers } => {
                if matches!(self.phase, Phase::Inviting { .. } | Phase::Ringing) && self.call_id.as_ref().is_none_or(|c| *c == call_id) {
                    self.call_id = Some(call_id);
                    self.phase = Phase::Connecting;
                    self.create_peer(ice_servers);
                    self.retry_at = Some(now + CONNECT_RETRY);
                    self.out.push_back(Output::MakeOffer { ice_restart: false });
                }
            }
            Input::Ended { call_id, reason } => {
                let before_id = matches!(self.phase, Phase::Inviting { .. }) && self.call_id.is_none();
                if self.ours(&call_id) || before_id {
                    self.end(reason);
                }
            }
            Input::Sdp { call_id, offer, sdp } if self.ours(&call_id) => {
                if offer && !self.caller {
                    // A second offer before the connection ever came up: the
                    // caller started again on a fresh connection; so do we.
                    if self.have_remote_sdp && !self.ever_connected {
                        self.fresh_peer();
                    }
                    self.have_remote_sdp = true;
                    self.out.push_back(Output::MakeAnswer { sdp });
                    self.flush_candidates();
                } else if !offer && self.caller {
                    self.have_remote_sdp = true;
                    self.out.push_back(Output::ApplyAnswer { sdp });
                    self.flush_candidates();
                } else {
                    self.out.push_back(Output::Notify(Notice::Refused("an SDP in the wrong direction was ignored".into())));
                }
            }
            Input::Candidate { call_id, candidate } if self.ours(&call_id) => {
                if self.have_remote_sdp {
                    self.out.push_back(Output::AddCandidate(candidate));
                } else if self.early_candidates.len() < 200 {
                    self.early_candidates.push(candidate);
                }
            }
            Input::LocalSdp { offer, sdp } => {
                if let (Some(call_id), false) = (self.call_id.clone(), self.phase == Phase::Ended) {
                    self.send(Signal::Sdp { call_id, offer, sdp });
                }
            }
            Input::LocalCandidate(candidate) => {
                if let (Some(call_id), false) = (self.call_id.clone(), self.phase == Phase::Ended) {
                    self.send(Signal::Candidate { call_id, candidate });
                }
            }
            Input::PeerConnected => {
                self.disconnected_at = None;
                self.ever_connected = true;
                self.retry_at = None;
                match self.phase {
                    Phase::Connecting => {
                        self.phase = Phase::Active;
                        self.deadline = None;
                        self.out.push_back(Output::StartSending);
                        self.out.push_back(Output::Notify(Notice::Connected));
                    }
                    Phase::Restarting { .. } => {
                        self.phase = Phase::Active;
                        self.deadline = None;
                        self.out.push_back(Output::Notify(Notice::Connected));
                    }
                    _ => {}
                }
            }
            Input::PeerDisconnected if self.phase == Phase::Active => {
                self.disconnected_at.get_or_insert(now);
            }
            Input::PeerFailed if matches!(self.phase, Phase::Active | Phase::Connecting) => self.restart(now),
            Input::Hangup => {
                if let Some(call_id) = self.call_id.clone() {
                    // Tell the other side the recording stops before the call does.
                    if self.recording {
                        self.send(Signal::Record { call_id: call_id.clone(), on: false });
                    }
                    self.send(Signal::Hangup { call_id });
                }
                self.end(EndReason::HungUp);
            }
            Input::RecordStart if self.phase == Phase::Active || matches!(self.phase, Phase::Restarting { .. }) => {
                if !self.recording && !self.record_pending {
                    if let Some(call_id) = self.call_id.clone() {
                        self.record_pending = true;
                        self.send(Signal::Record { call_id, on: true });
                    }
                }
            }
            Input::RecordStop => {
                if let (true, Some(call_id)) = (self.recording || self.record_pending, self.call_id.clone()) {
                    self.record_pending = false;
                    self.send(Signal::Record { call_id, on: false });
                }
            }
            Input::Recording { call_id, by, on, at } if self.ours(&call_id) => {
                if by == self.me {
                    if on && !self.recording {
                        self.record_pending = false;
                        self.recording = true;
                        self.out.push_back(Output::StartRecording);
                    } else if !on && self.recording {
                        self.recording = false;
                        self.out.push_back(Output::StopRecording);
                    }
                }
                let n = if on { Notice::RecordingStarted { by, at } } else { Notice::RecordingStopped { by, at } };
                self.out.push_back(Output::Notify(n));
            }
            Input::ConsentRequested { call_id, by } if self.ours(&call_id) => {
                self.consent_pending_from = Some(by.clone());
                self.out.push_back(Output::Notify(Notice::ConsentRequested { by }));
            }
            Input::Consent(accept) => {
                if let (Some(_), Some(call_id)) = (self.consent_pending_from.take(), self.call_id.clone()) {
                    self.send(Signal::Consent { call_id, accept });
                }
            }
            Input::RecordingDeclined { call_id, by, at } if self.ours(&call_id) => {
                self.record_pending = false;
                self.out.push_back(Output::Notify(Notice::RecordingDeclined { by, at }));
            }
            Input::Refused { message } => {
                self.record_pending = false;
                if matches!(self.phase, Phase::Inviting { .. }) {
                    self.end(EndReason::Refused(message));
                } else {
                    self.out.push_back(Output::Notify(Notice::Refused(message)));
                }
            }
            Input::RelayDown => self.relay_up = false,
            Input::RelayUp => {
                self.relay_up = true;
                // Re-attach first: the relay drops call frames from a socket
                // that has not resumed the call.
                if let (Some(call_id), false) = (self.call_id.clone(), matches!(self.phase, Phase::Ended | Phase::Idle)) {
                    self.out.push_back(Output::Send(Signal::Resume { call_id }));
                }
                for s in std::mem::take(&mut self.held) {
                    self.out.push_back(Output::Send(s));
                }
            }
            // Signaling for another call, or a message that does not fit the
            // phase: ignored (a third party cannot steer our call).
            other => tracing::debug!(?other, phase = ?self.phase, "ignored call input"),
        }
    }

    fn accept(&mut self, now: Instant, call_id: String, from: String, ice_servers: Vec<IceServer>) {
        self.call_id = Some(call_id.clone());
        self.peer_user = Some(from.clone());
        self.phase = Phase::Connecting;
        self.deadline = Some(now + NO_ANSWER);
        self.out.push_back(Output::Notify(Notice::Incoming { from }));
        self.create_peer(ice_servers);
        self.send(Signal::Accept { call_id });
    }

    fn flush_candidates(&mut self) {
        for c in std::mem::take(&mut self.early_candidates) {
            self.out.push_back(Output::AddCandidate(c));
        }
    }

    fn restart(&mut self, now: Instant) {
        // Never up: an ICE restart would keep the stuck DTLS association.
        if !self.ever_connected {
            if self.caller {
                self.start_again(now);
            }
            return;
        }
        let since = match self.phase {
            Phase::Restarting { since } => since,
            _ => self.disconnected_at.unwrap_or(now),
        };
        self.phase = Phase::Restarting { since };
        self.out.push_back(Output::Notify(Notice::Reconnecting));
        // The caller drives renegotiation; the callee answers the new offer.
        if self.caller {
            self.last_restart = Some(now);
            self.out.push_back(Output::MakeOffer { ice_restart: true });
        } else {
            self.last_restart = Some(now);
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) {
            self.deadline = None;
            match self.phase {
                Phase::Inviting { .. } | Phase::Ringing => {
                    if let Some(call_id) = self.call_id.clone() {
                        self.send(Signal::Hangup { call_id });
                    }
                    self.end(EndReason::NoAnswer);
                }
                Phase::Connecting => {
                    if let Some(call_id) = self.call_id.clone() {
                        self.send(Signal::Hangup { call_id });
                    }
                    self.end(EndReason::ConnectionLost);
                }
                _ => {}
            }
        }
        match self.phase {
            Phase::Connecting if self.caller && self.retry_at.is_some_and(|t| now >= t) => {
                self.out.push_back(Output::Notify(Notice::Retrying));
                self.start_again(now);
            }
            Phase::Active if self.disconnected_at.is_some_and(|t| now >= t + DISCONNECTED_GRACE) => self.restart(now),
            Phase::Restarting { since } => {
                if now >= since + GIVE_UP {
                    if let Some(call_id) = self.call_id.clone() {
                        self.send(Signal::Hangup { call_id });
                    }
                    self.end(EndReason::ConnectionLost);
                } else if self.last_restart.is_some_and(|t| now >= t + RESTART_EVERY) {
                    self.last_restart = Some(now);
                    if self.caller {
                        self.out.push_back(Output::MakeOffer { ice_restart: true });
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(c: &mut Call) -> Vec<Output> {
        std::iter::from_fn(|| c.poll_output()).collect()
    }

    fn cand(s: &str) -> IceCandidate {
        IceCandidate { candidate: s.into(), sdp_mid: Some("0".into()), sdp_m_line_index: Some(0), username_fragment: None }
    }

    #[test]
    fn caller_happy_path_and_recording() {
        let t0 = Instant::now();
        let mut c = Call::new("alice");
        c.handle(t0, Input::Dial { to: "bob".into() });
        assert_eq!(drain(&mut c), vec![Output::Send(Signal::Invite { to: "bob".into() })]);
        c.handle(t0, Input::Ringing { call_id: "c1".into() });
        c.handle(t0, Input::Accepted { call_id: "c1".into(), ice_servers: vec![] });
        let o = drain(&mut c);
        assert!(o.contains(&Output::CreatePeer { ice_servers: vec![] }));
        assert!(o.contains(&Output::MakeOffer { ice_restart: false }));
        // A candidate before the answer waits for it.
        c.handle(t0, Input::Candidate { call_id: "c1".into(), candidate: cand("a") });
        assert!(drain(&mut c).is_empty());
        c.handle(t0, Input::Sdp { call_id: "c1".into(), offer: false, sdp: "v=0".into() });
        assert_eq!(drain(&mut c), vec![Output::ApplyAnswer { sdp: "v=0".into() }, Output::AddCandidate(cand("a"))]);
        // Another call's candidate is ignored.
        c.handle(t0, Input::Candidate { call_id: "other".into(), candidate: cand("evil") });
        assert!(drain(&mut c).is_empty());
        c.handle(t0, Input::PeerConnected);
        assert_eq!(drain(&mut c), vec![Output::StartSending, Output::Notify(Notice::Connected)]);
        // Recording starts only when the relay confirms.
        c.handle(t0, Input::RecordStart);
        assert_eq!(drain(&mut c), vec![Output::Send(Signal::Record { call_id: "c1".into(), on: true })]);
        c.handle(t0, Input::Recording { call_id: "c1".into(), by: "alice".into(), on: true, at: 5 });
        assert_eq!(drain(&mut c)[0], Output::StartRecording);
        c.handle(t0, Input::Hangup);
        let o = drain(&mut c);
        assert!(o.contains(&Output::StopRecording));
        assert_eq!(o.last(), Some(&Output::End(EndReason::HungUp)));
    }

    #[test]
    fn a_declined_recording_never_starts() {
        let t0 = Instant::now();
        let mut c = Call::new("alice");
        c.handle(t0, Input::Dial { to: "bob".into() });
        c.handle(t0, Input::Accepted { call_id: "c1".into(), ice_servers: vec![] });
        c.handle(t0, Input::PeerConnected);
        c.handle(t0, Input::RecordStart);
        drain(&mut c);
        c.handle(t0, Input::RecordingDeclined { call_id: "c1".into(), by: "bob".into(), at: 9 });
        assert_eq!(drain(&mut c), vec![Output::Notify(Notice::RecordingDeclined { by: "bob".into(), at: 9 })]);
        assert!(!c.is_recording());
    }

    #[test]
    fn callee_answers_and_consents() {
        let t0 = Instant::now();
        let mut c = Call::new("bob");
        c.handle(t0, Input::Wait { from: Some("alice".into()) });
        c.handle(t0, Input::Incoming { call_id: "x".into(), from: "mallory".into(), ice_servers: vec![] });
        assert_eq!(drain(&mut c), vec![Output::Send(Signal::Decline { call_id: "x".into() })]);
        c.handle(t0, Input::Incoming { call_id: "c1".into(), from: "alice".into(), ice_servers: vec![] });
        let o = drain(&mut c);
        assert!(o.contains(&Output::Send(Signal::Accept { call_id: "c1".into() })));
        c.handle(t0, Input::Sdp { call_id: "c1".into(), offer: true, sdp: "v=0".into() });
        assert_eq!(drain(&mut c), vec![Output::MakeAnswer { sdp: "v=0".into() }]);
        c.handle(t0, Input::PeerConnected);
        drain(&mut c);
        c.handle(t0, Input::ConsentRequested { call_id: "c1".into(), by: "alice".into() });
        drain(&mut c);
        c.handle(t0, Input::Consent(true));
        assert_eq!(drain(&mut c), vec![Output::Send(Signal::Consent { call_id: "c1".into(), accept: true })]);
        c.handle(t0, Input::Recording { call_id: "c1".into(), by: "alice".into(), on: true, at: 3 });
        assert_eq!(drain(&mut c), vec![Output::Notify(Notice::RecordingStarted { by: "alice".into(), at: 3 })]);
    }

    /// A first connection stuck in its handshake: the caller starts again
    /// on a fresh peer, the callee follows the new offer with a fresh one
    /// too; once connected, a failure is an ICE restart as before.
    #[test]
    fn a_first_connection_that_never_comes_up_starts_again_afresh() {
        let t0 = Instant::now();
        let turn = vec![IceServer { urls: vec!["turn:t".into()], username: None, credential: None }];
        let mut a = Call::new("alice");
        a.handle(t0, Input::Dial { to: "bob".into() });
        a.handle(t0, Input::Accepted { call_id: "c1".into(), ice_servers: turn.clone() });
        drain(&mut a);
        a.handle(t0, Input::Sdp { call_id: "c1".into(), offer: false, sdp: "v=0".into() });
        drain(&mut a);
        assert_eq!(a.poll_timeout(), Some(t0 + CONNECT_RETRY));
        a.handle_timeout(t0 + CONNECT_RETRY);
        let o = drain(&mut a);
        assert_eq!(
            o,
            vec![
                Output::Notify(Notice::Retrying),
                Output::DropPeer,
                Output::CreatePeer { ice_servers: turn.clone() },
                Output::MakeOffer { ice_restart: false },
            ]
        );
        // The new answer is taken (have_remote_sdp was reset), and a failure
        // before connecting starts afresh again rather than restarting ICE.
        a.handle(t0, Input::Sdp { call_id: "c1".into(), offer: false, sdp: "v=1".into() });
        assert_eq!(drain(&mut a), vec![Output::ApplyAnswer { sdp: "v=1".into() }]);
        a.handle(t0, Input::PeerFailed);
        assert!(drain(&mut a).contains(&Output::DropPeer));
        assert_eq!(a.fresh_starts, 2);
        a.handle(t0, Input::PeerConnected);
        assert_eq!(a.poll_timeout(), None, "no retry once connected");

        let mut b = Call::new("bob");
        b.handle(t0, Input::Wait { from: None });
        b.handle(t0, Input::Incoming { call_id: "c1".into(), from: "alice".into(), ice_servers: turn.clone() });
        drain(&mut b);
        b.handle(t0, Input::Sdp { call_id: "c1".into(), offer: true, sdp: "v=0".into() });
        assert_eq!(drain(&mut b), vec![Output::MakeAnswer { sdp: "v=0".into() }]);
        b.handle(t0, Input::PeerFailed);
        assert!(drain(&mut b).is_empty(), "the callee waits for the caller's fresh offer");
        b.handle(t0, Input::Sdp { call_id: "c1".into(), offer: true, sdp: "v=1".into() });
        assert_eq!(drain(&mut b), vec![Output::DropPeer, Output::CreatePeer { ice_servers: turn }, Output::MakeAnswer { sdp: "v=1".into() }]);
        // Connected once: a later offer is an ICE restart on the same peer.
        b.handle(t0, Input::PeerConnected);
        drain(&mut b);
        b.handle(t0, Input::Sdp { call_id: "c1".into(), offer: true, sdp: "v=2".into() });
        assert_eq!(drain(&mut b), vec![Output::MakeAnswer { sdp: "v=2".into() }]);
    }

    #[test]
    fn ice_restart_then_give_up() {
        let t0 = Instant::now();
        let mut c = Call::new("alice");
        c.handle(t0, Input::Dial { to: "bob".into() });
        c.handle(t0, Input::Accepted { call_id: "c1".into(), ice_servers: vec![] });
        c.handle(t0, Input::PeerConnected);
        drain(&mut c);
        c.handle(t0, Input::PeerDisconnected);
        assert_eq!(c.poll_timeout(), Some(t0 + DISCONNECTED_GRACE));
        c.handle_timeout(t0 + DISCONNECTED_GRACE);
        assert!(drain(&mut c).contains(&Output::MakeOffer { ice_restart: true }));
        c.handle_timeout(t0 + DISCONNECTED_GRACE + RESTART_EVERY);
        assert!(drain(&mut c).contains(&Output::MakeOffer { ice_restart: true }));
        c.handle_timeout(t0 + GIVE_UP + Duration::from_secs(1));
        assert_eq!(drain(&mut c).last(), Some(&Output::End(EndReason::ConnectionLost)));
    }

    #[test]
    fn signals_wait_for_the_relay() {
        let t0 = Instant::now();
        let mut c = Call::new("alice");
        c.handle(t0, Input::Dial { to: "bob".into() });
        c.handle(t0, Input::Accepted { call_id: "c1".into(), ice_servers: vec![] });
        c.handle(t0, Input::PeerConnected);
        drain(&mut c);
        c.handle(t0, Input::RelayDown);
        c.handle(t0, Input::RecordStart);
        assert!(drain(&mut c).is_empty());
        c.handle(t0, Input::RelayUp);
        assert_eq!(
            drain(&mut c),
            vec![Output::Send(Signal::Resume { call_id: "c1".into() }), Output::Send(Signal::Record { call_id: "c1".into(), on: true })]
        );
    }

    #[test]
    fn the_app_rings_and_answers_itself_then_hands_the_call_over() {
        let t0 = Instant::now();
        // Caller: the invite already went out; ringing and acceptance follow.
        let mut a = Call::new("alice");
        a.handle(t0, Input::Invited { call_id: "c1".into(), to: "bob".into() });
        assert!(drain(&mut a).is_empty(), "no second invite");
        a.handle(t0, Input::Accepted { call_id: "other".into(), ice_servers: vec![] });
        assert!(drain(&mut a).is_empty(), "another call's acceptance is ignored");
        a.handle(t0, Input::Ringing { call_id: "c1".into() });
        a.handle(t0, Input::Accepted { call_id: "c1".into(), ice_servers: vec![] });
        let out = drain(&mut a);
        assert!(out.contains(&Output::MakeOffer { ice_restart: false }), "{out:?}");
        // The first connection is started again if not up by then (the call gives up at NO_ANSWER).
        assert_eq!(a.poll_timeout(), Some(t0 + CONNECT_RETRY));
        // Callee: the user pressed Answer on the ringing call.
        let mut b = Call::new("bob");
        b.handle(t0, Input::Answer { call_id: "c1".into(), from: "alice".into() });
        let out = drain(&mut b);
        assert!(out.contains(&Output::CreatePeer { ice_servers: vec![] }), "{out:?}");
        assert!(out.contains(&Output::Send(Signal::Accept { call_id: "c1".into() })), "{out:?}");
        b.handle(t0, Input::Sdp { call_id: "c1".into(), offer: true, sdp: "v=0".into() });
        assert_eq!(drain(&mut b), vec![Output::MakeAnswer { sdp: "v=0".into() }]);
        // Neither starts twice.
        b.handle(t0, Input::Answer { call_id: "c2".into(), from: "carol".into() });
        assert!(drain(&mut b).is_empty());
        assert_eq!(b.call_id(), Some("c1"));
    }
}
