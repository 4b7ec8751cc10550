//! A sans-IO RTMP ingest session: bytes from a publisher in, bytes to send
//! back and media out. No socket, no clock, no spawn: the relay's driver owns
//! the TCP stream and decides whether a publish request is allowed.
//!
//! Run loop, as a driver uses it:
//!
//! ```text
//! let mut s = Session::new();
//! loop {
//!     let n = socket.read(&mut buf)?;            // 0: peer closed
//!     s.handle_input(&buf[..n])?;                // Err: close, log why
//!     while let Some(ev) = s.poll_output() {
//!         match ev {
//!             Event::Send(bytes) => socket.write_all(&bytes)?,
//!             Event::PublishRequested { app, key } => if allowed(&app, &key) { s.accept_publish()? } else { s.reject_publish("…")? },
//!             Event::Media(m) => forward(m),     // H.264 / AAC only
//!             Event::Finished => break,
//!         }
//!     }
//! }
//! ```
//!
//! The RTMP chunk layer and AMF commands come from `rml_rtmp`; this crate
//! adds the publish policy hook and FLV tag parsing (see [`flv`]).

pub mod flv;
pub mod sps;
#[doc(hidden)]
pub mod fuzzing;

/// Commands before `publish` are a few hundred bytes; more is not a publisher.
pub const MAX_PRELUDE: usize = 64 * 1024;

pub use flv::Media;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult};
use std::collections::VecDeque;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("RTMP handshake failed: {0}")]
    Handshake(String),
    #[error("RTMP session error: {0}")]
    Session(String),
    #[error("unsupported video codec id {0} (only H.264 is accepted)")]
    UnsupportedVideo(u8),
    #[error("unsupported audio format {0} (only AAC is accepted)")]
    UnsupportedAudio(u8),
    #[error("malformed media: {0}")]
    Malformed(&'static str),
    #[error("no publish request is waiting for an answer")]
    NoPendingPublish,
}

/// What the driver must act on.
/// Runs rml_rtmp on peer input. Its chunk deserializer can panic on crafted
/// chunk headers (a message length shrunk below the bytes already received
/// underflows in `get_message_data`, rml_rtmp 0.8.0, found by our fuzz
/// target); peer input must never panic us, so such input is an error.
/// (A second one: an AMF command shorter than its declared strings indexes
/// past a slice in `messages::types::amf`.)
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, IngestError> {
    IN_RML.with(|c| c.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_RML.with(|c| c.set(false));
    r.map_err(|_| IngestError::Session("the RTMP library rejected malformed chunks (panic contained)".into()))
}

thread_local! {
    static IN_RML: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True while this thread runs rml_rtmp under [`guarded`]: lets a panic
/// hook (the fuzz target's) tell a contained library panic from a bug of ours.
#[doc(hidden)]
pub fn inside_rml_rtmp() -> bool {
    IN_RML.with(|c| c.get())
}

pub enum Event {
    /// Bytes for the peer, in this order.
    Send(Vec<u8>),
    /// The peer asks to publish; answer with [`Session::accept_publish`] or
    /// [`Session::reject_publish`]. Media flows only after an accept.
    PublishRequested { app: String, key: String },
    Media(Media),
    /// The publisher ended its stream (deleteStream / FCUnpublish).
    Finished,
}

impl std::fmt::Debug for Event {
    // The stream key is a secret: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Send(b) => write!(f, "Send({} bytes)", b.len()),
            Event::PublishRequested { app, .. } => write!(f, "PublishRequested {{ app: {app:?}, key: **** }}"),
            Event::Media(m) => write!(f, "Media({:?})", std::mem::discriminant(m)),
            Event::Finished => write!(f, "Finished"),
        }
    }
}

enum State {
    Handshake(Box<Handshake>),
    Active(Box<ServerSession>),
    Closed,
}

pub struct Session {
    state: State,
    out: VecDeque<Event>,
    pending_publish: Option<u32>,
    publishing: bool,
    /// Input not yet given to rml_rtmp: held while a publish request waits
    /// for the driver's verdict, so nothing is parsed ahead of it.
    inbox: VecDeque<u8>,
    /// Bytes fed before publishing started (bounded: see [`MAX_PRELUDE`]).
    prelude: usize,
    /// Only this application name is served (`rtmp://HOST/live/KEY`).
    app: String,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Self {
        Self::with_app("live")
    }

    pub fn with_app(app: &str) -> Self {
        Session {
            state: State::Handshake(Box::new(Handshake::new(PeerType::Server))),
            out: VecDeque::new(),
            pending_publish: None,
            publishing: false,
            inbox: VecDeque::new(),
            prelude: 0,
            app: app.into(),
        }
    }

    pub fn is_publishing(&self) -> bool {
        self.publishing
    }

    /// Feeds bytes read from the peer. An error means the connection must
    /// be closed; the session is unusable after it.
    pub fn handle_input(&mut self, data: &[u8]) -> Result<(), IngestError> {
        let r = self.handle_inner(data);
        if r.is_err() {
            self.state = State::Closed;
        }
        r
    }

    fn handle_inner(&mut self, data: &[u8]) -> Result<(), IngestError> {
        let rest = match &mut self.state {
            State::Closed => return Err(IngestError::Session("session already failed".into())),
            State::Active(_) => data.to_vec(),
            State::Handshake(h) => match guarded(|| h.process_bytes(data))?.map_err(|e| IngestError::Handshake(format!("{e:?}")))? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    self.send(response_bytes);
                    return Ok(());
                }
                HandshakeProcessResult::Completed { response_bytes, remaining_bytes } => {
                    self.send(response_bytes);
                    let (session, results) = ServerSession::new(ServerSessionConfig::new()).map_err(|e| IngestError::Session(format!("{e:?}")))?;
                    self.state = State::Active(Box::new(session));
                    self.apply(results)?;
                    remaining_bytes
                }
            },
        };
        self.inbox.extend(rest);
        self.drain_inbox()
    }

    /// Feeds held input to rml_rtmp. Before publishing, one byte at a time:
    /// rml_rtmp parses every complete message of a call before we can answer
    /// any of them, and a client that pipelines `connect`, `createStream`
    /// and `publish` must see them answered in order. Once publishing, in bulk.
    fn drain_inbox(&mut self) -> Result<(), IngestError> {
        while !self.inbox.is_empty() && self.pending_publish.is_none() {
            if self.publishing {
                let all: Vec<u8> = self.inbox.drain(..).collect();
                let session = self.session()?;
                let results = guarded(|| session.handle_input(&all))?.map_err(|e| IngestError::Session(format!("{e:?}")))?;
                self.apply(results)?;
            } else {
                self.prelude += 1;
                if self.prelude > MAX_PRELUDE {
                    return Err(IngestError::Session(format!("more than {MAX_PRELUDE} bytes before a publish request")));
                }
                let Some(b) = self.inbox.pop_front() else { break };
                let session = self.session()?;
                let results = guarded(|| session.handle_input(&[b]))?.map_err(|e| IngestError::Session(format!("{e:?}")))?;
                self.apply(results)?;
            }
        }
        Ok(())
    }

    pub fn poll_output(&mut self) -> Option<Event> {
        self.out.pop_front()
    }

    pub fn accept_publish(&mut self) -> Result<(), IngestError> {
        let id = self.pending_publish.take().ok_or(IngestError::NoPendingPublish)?;
        let results = self.session()?.accept_request(id).map_err(|e| IngestError::Session(format!("{e:?}")))?;
        self.publishing = true;
        self.apply(results)?;
        self.drain_inbox()
    }

    /// Refuses the pending publish with an RTMP error status the client
    /// shows (FFmpeg prints `description`).
    pub fn reject_publish(&mut self, description: &str) -> Result<(), IngestError> {
        let id = self.pending_publish.take().ok_or(IngestError::NoPendingPublish)?;
        let results = self
            .session()?
            .reject_request(id, "NetStream.Publish.BadName", description)
            .map_err(|e| IngestError::Session(format!("{e:?}")))?;
        // What the refused client sent after its request is not ours to read.
        self.inbox.clear();
        self.apply(results)
    }

    fn session(&mut self) -> Result<&mut ServerSession, IngestError> {
        match &mut self.state {
            State::Active(s) => Ok(s),
            _ => Err(IngestError::Session("handshake not complete".into())),
        }
    }

    fn send(&mut self, b: Vec<u8>) {
        if !b.is_empty() {
            self.out.push_back(Event::Send(b));
        }
    }

    fn apply(&mut self, results: Vec<ServerSessionResult>) -> Result<(), IngestError> {
        for r in results {
            match r {
                ServerSessionResult::OutboundResponse(p) => self.send(p.bytes),
                ServerSessionResult::RaisedEvent(ev) => self.on_event(ev)?,
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }

    fn on_event(&mut self, ev: ServerSessionEvent) -> Result<(), IngestError> {
        match ev {
            ServerSessionEvent::ConnectionRequested { request_id, app_name } => {
                let results = if app_name == self.app {
                    self.session()?.accept_request(request_id)
                } else {
                    self.session()?.reject_request(request_id, "NetConnection.Connect.Rejected", "unknown application; publish to rtmp://HOST/live/STREAM_KEY")
                }
                .map_err(|e| IngestError::Session(format!("{e:?}")))?;
                self.apply(results)?;
            }
            ServerSessionEvent::PublishStreamRequested { request_id, app_name, stream_key, .. } => {
                if self.publishing || self.pending_publish.is_some() {
                    let results = self
                        .session()?
                        .reject_request(request_id, "NetStream.Publish.BadName", "already publishing on this connection")
                        .map_err(|e| IngestError::Session(format!("{e:?}")))?;
                    return self.apply(results);
                }
                self.pending_publish = Some(request_id);
                self.out.push_back(Event::PublishRequested { app: app_name, key: stream_key });
            }
            ServerSessionEvent::PublishStreamFinished { .. } => {
                if self.publishing {
                    self.publishing = false;
                    self.out.push_back(Event::Finished);
                }
            }
            ServerSessionEvent::VideoDataReceived { data, timestamp, .. } if self.publishing => {
                if let Some(m) = flv::parse_video(&data, timestamp.value)? {
                    self.out.push_back(Event::Media(m));
                }
            }
            ServerSessionEvent::AudioDataReceived { data, timestamp, .. } if self.publishing => {
                if let Some(m) = flv::parse_audio(&data, timestamp.value)? {
                    self.out.push_back(Event::Media(m));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_handshake_is_an_error_not_a_panic() {
        let mut s = Session::new();
        // Version byte 3 then garbage is a valid-looking C0C1 prefix; a
        // wrong version must fail.
        let r = s.handle_input(&[0x06; 1537]);
        assert!(r.is_err());
        assert!(s.handle_input(&[0]).is_err());
    }

    #[test]
    fn truncated_handshake_waits() {
        let mut s = Session::new();
        // A partial C0C1 is kept until the rest comes; no error.
        s.handle_input(&[3, 0, 0]).unwrap();
        s.handle_input(&[0; 100]).unwrap();
        assert!(!s.is_publishing());
    }

    #[test]
    fn key_is_not_in_debug() {
        let e = Event::PublishRequested { app: "live".into(), key: "secret-key".into() };
        assert!(!format!("{e:?}").contains("secret"));
    }
}

#[cfg(test)]
mod replay_tests {
    use super::*;

    /// The bytes FFmpeg's RTMP client sent to publish 1.5 s of H.264/AAC
    /// (testdata/publish.bin, captured through a proxy; key replaced).
    #[test]
    fn a_captured_ffmpeg_publish_yields_its_media() {
        let bytes = include_bytes!("../testdata/publish.bin");
        for step in [1000usize, 7, 4096] {
            let mut s = Session::new();
            let (mut keys, mut vcfg, mut acfg, mut video, mut audio, mut keyframes) = (Vec::new(), 0, 0, 0, 0, 0);
            for chunk in bytes.chunks(step) {
                s.handle_input(chunk).unwrap();
                while let Some(ev) = s.poll_output() {
                    match ev {
                        Event::PublishRequested { app, key } => {
                            assert_eq!(app, "live");
                            keys.push(key);
                            s.accept_publish().unwrap();
                        }
                        Event::Media(Media::VideoConfig(c)) => {
                            vcfg += 1;
                            let sets = flv::avcc_parameter_sets(&c).unwrap();
                            assert_eq!(sps::sps_dimensions(&sets[0]), Some((160, 120)));
                        }
                        Event::Media(Media::AudioConfig(_)) => acfg += 1,
                        Event::Media(Media::Video { keyframe, .. }) => {
                            video += 1;
                            keyframes += u32::from(keyframe);
                        }
                        Event::Media(Media::Audio { .. }) => audio += 1,
                        Event::Send(_) | Event::Finished => {}
                    }
                }
            }
            assert_eq!(keys, vec![format!("live_{}", "f".repeat(40))]);
            assert_eq!((vcfg, acfg), (1, 1));
            assert!(video >= 14 && keyframes >= 2 && audio >= 60, "step {step}: {video} video ({keyframes} key), {audio} audio");
        }
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    /// Found by the fuzz target: rml_rtmp 0.8 panics on these chunk streams
    /// (first byte: the read size the harness used). The session must turn
    /// that into an error.
    #[test]
    fn rml_chunk_length_underflow_is_an_error() {
        for data in [&include_bytes!("../testdata/rml_chunk_underflow.bin")[..], &include_bytes!("../testdata/rml_amf_slice.bin")[..]] {
            rejected(data);
        }
    }

    fn rejected(data: &[u8]) {
        let step = usize::from(data[0]).max(1);
        let mut s = Session::new();
        let mut failed = false;
        for chunk in data[1..].chunks(step) {
            if s.handle_input(chunk).is_err() {
                failed = true;
                break;
            }
            while let Some(ev) = s.poll_output() {
                if let Event::PublishRequested { .. } = ev {
                    s.accept_publish().unwrap();
                }
            }
        }
        assert!(failed, "malformed chunks must end the session with an error");
    }
}
