//! RTMP(S) push with automatic reconnection.
//!
//! The first connection happens before capture starts and its failure is
//! returned to the caller (as OBS does). Once live, a lost connection is
//! retried forever with capped backoff until the user stops; meanwhile packets
//! are dropped and counted, never queued, so memory stays flat. After a
//! reconnect the encoder is asked for a keyframe and nothing is sent until it
//! arrives, so viewers never see a broken picture.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::adapt::Adapter;
use super::mux::{Muxer, StreamSet};
use super::url::IngestUrl;
use crate::encode::{EncodedPacket, StreamKind};
use crate::stats::{add, Stats};
use crate::{MediaError, Result};

/// Backoff between reconnection attempts: short, so the stream is back within
/// about a second of the ingest returning.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Queued packets (about 1.7 s at 30 fps with audio) past which a destination
/// drops video up to the next keyframe to catch up.
const DROP_BACKLOG: usize = 128;
/// A write that blocks longer than this counts as a lost connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects and publishes. Blocking calls are bounded by deadlines rather
/// than by the pipeline's stop flag, so the last packets still go out on stop.
fn connect(url: &IngestUrl, streams: &StreamSet, timeout: Duration) -> Result<Muxer> {
    let tls = url.expose().starts_with("rtmps://");
    let fail = |e: MediaError| {
        let mut reason = describe(&e);
        if tls && reason.contains("Input/output error") {
            reason = "Input/output error (the TLS certificate could not be verified, or the server refused the stream: \
                      check the URL, the stream key, and the certificate; ONAIR_CA_FILE names a CA bundle to trust)"
                .into();
        }
        MediaError::Connect { url: url.to_string(), reason }
    };
    let never = Arc::new(AtomicBool::new(false));
    let mut m = Muxer::open_network(url.expose(), "flv", never, timeout).map_err(fail)?;
    m.start(streams, &[]).map_err(fail)?;
    m.set_deadline(None);
    Ok(m)
}

/// The reason part of an FFmpeg error, with hints for the usual causes.
fn describe(e: &MediaError) -> String {
    let msg = match e {
        MediaError::Ffmpeg { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    if msg.contains("Connection refused") {
        format!("{msg} (is the ingest running, and is the port right?)")
    } else if msg.contains("Immediate exit requested") {
        "timed out".into()
    } else if msg.contains("Input/output error") {
        format!("{msg} (the server refused the stream: check the app name and stream key)")
    } else {
        msg
    }
}

/// A live RTMP output running on its own thread.
pub struct RtmpOutput {
    pub handle: JoinHandle<()>,
    /// Why the first connection failed, when the output was started with
    /// `must_connect: false` and is retrying.
    pub first_error: Option<MediaError>,
}

impl RtmpOutput {
    /// Connects and starts sending. With `must_connect` a failed first
    /// connection is returned (fail fast with a clear reason); without it
    /// (one of several destinations) the output starts anyway and retries,
    /// so one bad destination does not stop the others.
    pub fn start(
        url: IngestUrl,
        streams: StreamSet,
        rx: Receiver<Arc<EncodedPacket>>,
        stats: Arc<Stats>,
        stop: Arc<AtomicBool>,
        force_key: Arc<AtomicBool>,
        must_connect: bool,
        adapt: Option<Adapter>,
    ) -> Result<Self> {
        let (muxer, first_error) = match connect(&url, &streams, CONNECT_TIMEOUT) {
            Ok(m) => {
                tracing::info!("live: connected to {url}");
                (Some(m), None)
            }
            Err(e) if !must_connect => {
                stats.reconnecting.store(true, Ordering::Relaxed);
                (None, Some(e))
            }
            Err(e) => return Err(e),
        };
        let handle = std::thread::Builder::new()
            .name("rtmp".into())
            .spawn(move || Sender { url, streams, stats, stop, force_key, has_video: false, adapt }.run(muxer, rx))
            .map_err(|e| MediaError::Io { what: "starting the RTMP thread".into(), source: e })?;
        Ok(RtmpOutput { handle, first_error })
    }
}

/// Dynamic bitrate for one destination: looks at its queue five times a
/// second, reports each change, and publishes the rung for the encoder.
fn watch_queue(mut a: Adapter, rx: &Receiver<Arc<EncodedPacket>>, stats: &Stats, stop: &AtomicBool, url: &IngestUrl, sender: std::sync::Weak<()>) {
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) && sender.strong_count() > 0 {
        std::thread::sleep(Duration::from_millis(200));
        let queued = rx.len();
        if let Some(kbps) = a.update(started.elapsed(), queued) {
            let old = stats.bitrate_kbps.swap(u64::from(kbps), Ordering::Relaxed);
            add(&stats.bitrate_changes, 1);
            let why = if u64::from(kbps) < old { format!("congested, {queued} packets queued") } else { "queue drained".into() };
            tracing::info!("live: {url}: bitrate {old} -> {kbps} kbit/s ({why})");
            eprintln!("live: {url}: bitrate {old} -> {kbps} kbit/s ({why})");
        }
    }
}

struct Sender {
    url: IngestUrl,
    streams: StreamSet,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    force_key: Arc<AtomicBool>,
    has_video: bool,
    adapt: Option<Adapter>,
}

impl Sender {
    fn run(mut self, muxer: Option<Muxer>, rx: Receiver<Arc<EncodedPacket>>) {
        self.has_video = self.streams.video.is_some();
        let mut conn = muxer;
        let mut wait_key = false;
        let mut last_video_seq: Option<u64> = None;
        let mut backoff = BACKOFF_START;
        let mut next_try = Instant::now();
        // Lives as long as this sender: the watcher below ends with it.
        let alive = Arc::new(());
        if let Some(a) = self.adapt.take() {
            self.stats.bitrate_kbps.store(u64::from(a.kbps()), Ordering::Relaxed);
            let (rx, stats, stop, url, alive) = (rx.clone(), self.stats.clone(), self.stop.clone(), self.url.clone(), Arc::downgrade(&alive));
            // Its own thread: a congested link blocks the sender in a write
            // for seconds, exactly when the queue must be watched.
            let watch = std::thread::Builder::new().name("rtmp-adapt".into()).spawn(move || watch_queue(a, &rx, &stats, &stop, &url, alive));
            if let Err(e) = watch {
                tracing::warn!("live: {}: no dynamic bitrate ({e})", self.url);
            }
        }
        loop {
            let pkt = match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(p) => Some(p),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if conn.is_none() && Instant::now() >= next_try && !self.stop.load(Ordering::Relaxed) {
                match connect(&self.url, &self.streams, RECONNECT_TIMEOUT) {
                    Ok(m) => {
                        conn = Some(m);
                        add(&self.stats.reconnects, 1);
                        self.stats.reconnecting.store(false, Ordering::Relaxed);
                        wait_key = self.has_video;
                        self.force_key.store(true, Ordering::Release);
                        backoff = BACKOFF_START;
                        tracing::warn!("live: reconnected to {}", self.url);
                        eprintln!("live: reconnected to {}", self.url);
                    }
                    Err(e) => {
                        tracing::debug!("live: reconnect failed: {e}");
                        next_try = Instant::now() + backoff;
                        backoff = (backoff * 2).min(BACKOFF_CAP);
                    }
                }
            }
            let Some(pkt) = pkt else { continue };
            let is_video = pkt.kind == StreamKind::Video;
            if is_video {
                if last_video_seq.is_some_and(|l| pkt.seq != l + 1) && self.has_video {
                    // Packets were lost before reaching us: resync on a keyframe.
                    wait_key = true;
                    self.force_key.store(true, Ordering::Release);
                }
                last_video_seq = Some(pkt.seq);
                if rx.len() >= DROP_BACKLOG && !wait_key && self.has_video {
                    // Too far behind (as OBS's drop threshold): skip video to
                    // the next keyframe rather than let the delay grow. No
                    // forced keyframe: that would cost the other destinations.
                    tracing::debug!("live: {}: {} packets behind; dropping to the next keyframe", self.url, rx.len());
                    wait_key = true;
                }
            }
            let Some(m) = conn.as_mut() else {
                if is_video {
                    add(&self.stats.video_frames_dropped_live, 1);
                }
                continue;
            };
            if wait_key {
                if is_video && pkt.key {
                    wait_key = false;
                } else {
                    if is_video {
                        add(&self.stats.video_frames_dropped_live, 1);
                    }
                    continue;
                }
            }
            m.set_deadline(Some(WRITE_TIMEOUT));
            match m.write(&pkt) {
                Ok(n) => add(&self.stats.bytes_sent, n as u64),
                Err(e) => {
                    if self.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let reason = describe(&e);
                    tracing::warn!("live: connection to {} lost ({reason}); reconnecting", self.url);
                    eprintln!("live: connection to {} lost ({reason}); reconnecting", self.url);
                    conn = None;
                    self.stats.reconnecting.store(true, Ordering::Relaxed);
                    if is_video {
                        add(&self.stats.video_frames_dropped_live, 1);
                    }
                    next_try = Instant::now();
                    backoff = BACKOFF_START;
                }
            }
        }
        if let Some(m) = conn {
            m.set_deadline(Some(WRITE_TIMEOUT));
            if let Err(e) = m.finish() {
                tracing::debug!("live: closing: {e}");
            }
        }
    }
}
