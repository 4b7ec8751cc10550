//! Counters shared by the pipeline's threads and read by front ends.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Live counters; every field is updated lock-free by the thread that owns it.
#[derive(Debug, Default)]
pub struct Stats {
    pub video_frames_captured: AtomicU64,
    pub video_frames_encoded: AtomicU64,
    /// Frames the encoder could not keep up with (dropped before encoding).
    pub video_frames_dropped_capture: AtomicU64,
    /// Encoded frames the live output dropped (disconnected or too slow).
    pub video_frames_dropped_live: AtomicU64,
    pub audio_chunks_captured: AtomicU64,
    pub audio_packets_encoded: AtomicU64,
    pub bytes_encoded_video: AtomicU64,
    /// Audio and video bytes out of the encoders (each output gets all of them).
    pub bytes_encoded: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub bytes_recorded: AtomicU64,
    pub reconnects: AtomicU64,
    pub reconnecting: AtomicBool,
    pub bookmarks: AtomicU64,
    /// The video encoder's current target (kbit/s), set as it adapts.
    pub encoder_kbps: AtomicU64,
    /// A destination's own bitrate rung (kbit/s; 0 when it does not adapt).
    pub bitrate_kbps: AtomicU64,
    /// How many times a destination's rung changed.
    pub bitrate_changes: AtomicU64,
}

/// One live destination's counters at one moment (its own [`Stats`], of
/// which a destination uses the sending fields).
#[derive(Clone, Debug, Default, serde::Serialize)]
#[derive(ts_rs::TS)]
pub struct DestinationSnapshot {
    /// What the user named (`relay://ROOM`, or the URL with its key hidden).
    pub name: String,
    /// `live` or `reconnecting`.
    #[ts(type = "\"live\" | \"reconnecting\"")]
    pub state: &'static str,
    #[ts(as = "f64")]
    pub bytes_sent: u64,
    /// Video frames this destination did not send (down, or too slow).
    #[ts(as = "f64")]
    pub video_frames_dropped: u64,
    #[ts(as = "f64")]
    pub reconnects: u64,
    /// Bytes sent per second over the whole run, as kbit/s.
    pub kbps: f64,
    /// Its dynamic-bitrate rung now (kbit/s; 0 with --fixed-bitrate).
    #[ts(as = "f64")]
    pub bitrate_kbps: u64,
    /// How many times its rung changed.
    #[ts(as = "f64")]
    pub bitrate_changes: u64,
}

impl DestinationSnapshot {
    pub fn of(name: &str, s: &Stats, elapsed_s: f64) -> Self {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let reconnecting = s.reconnecting.load(Ordering::Relaxed);
        DestinationSnapshot {
            name: name.to_string(),
            state: if reconnecting { "reconnecting" } else { "live" },
            bytes_sent: l(&s.bytes_sent),
            video_frames_dropped: l(&s.video_frames_dropped_live),
            reconnects: l(&s.reconnects),
            kbps: l(&s.bytes_sent) as f64 * 8.0 / 1000.0 / elapsed_s.max(1e-3),
            bitrate_kbps: l(&s.bitrate_kbps),
            bitrate_changes: l(&s.bitrate_changes),
        }
    }
}

/// A copy of [`Stats`] at one moment, as written by `--stats-json`.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[derive(ts_rs::TS)]
pub struct StatsSnapshot {
    #[ts(as = "f64")]
    pub video_frames_captured: u64,
    #[ts(as = "f64")]
    pub video_frames_encoded: u64,
    /// All video frames that did not reach every output: dropped before
    /// encoding plus dropped by the live output.
    #[ts(as = "f64")]
    pub video_frames_dropped: u64,
    #[ts(as = "f64")]
    pub video_frames_dropped_capture: u64,
    #[ts(as = "f64")]
    pub video_frames_dropped_live: u64,
    #[ts(as = "f64")]
    pub audio_chunks_captured: u64,
    #[ts(as = "f64")]
    pub audio_packets_encoded: u64,
    #[ts(as = "f64")]
    pub bytes_encoded: u64,
    #[ts(as = "f64")]
    pub bytes_sent: u64,
    #[ts(as = "f64")]
    pub bytes_recorded: u64,
    #[ts(as = "f64")]
    pub reconnects: u64,
    pub reconnecting: bool,
    #[ts(as = "f64")]
    pub bookmarks: u64,
    pub elapsed_s: f64,
    /// Encoded video bitrate over the whole run, kbit/s.
    pub video_kbps: f64,
    /// Frames encoded per second over the whole run.
    pub fps: f64,
    /// The video encoder's target bitrate now (kbit/s): the highest rung of
    /// the live destinations when they adapt.
    #[ts(as = "f64")]
    pub encoder_kbps: u64,
    /// Each live destination on its own; the totals above sum them
    /// (`reconnecting` is true while any one is).
    pub destinations: Vec<DestinationSnapshot>,
}

impl StatsSnapshot {
    /// Adds the destinations' own counters to the totals.
    pub fn with_destinations(mut self, dests: Vec<DestinationSnapshot>) -> Self {
        for d in &dests {
            self.bytes_sent += d.bytes_sent;
            self.video_frames_dropped_live += d.video_frames_dropped;
            self.video_frames_dropped += d.video_frames_dropped;
            self.reconnects += d.reconnects;
            self.reconnecting |= d.state == "reconnecting";
        }
        self.destinations = dests;
        self
    }
}

impl Stats {
    pub fn snapshot(&self, elapsed_s: f64) -> StatsSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let cap = l(&self.video_frames_dropped_capture);
        let live = l(&self.video_frames_dropped_live);
        let secs = elapsed_s.max(1e-3);
        StatsSnapshot {
            video_frames_captured: l(&self.video_frames_captured),
            video_frames_encoded: l(&self.video_frames_encoded),
            video_frames_dropped: cap + live,
            video_frames_dropped_capture: cap,
            video_frames_dropped_live: live,
            audio_chunks_captured: l(&self.audio_chunks_captured),
            audio_packets_encoded: l(&self.audio_packets_encoded),
            bytes_encoded: l(&self.bytes_encoded),
            bytes_sent: l(&self.bytes_sent),
            bytes_recorded: l(&self.bytes_recorded),
            reconnects: l(&self.reconnects),
            reconnecting: self.reconnecting.load(Ordering::Relaxed),
            bookmarks: l(&self.bookmarks),
            elapsed_s,
            video_kbps: l(&self.bytes_encoded_video) as f64 * 8.0 / 1000.0 / secs,
            fps: l(&self.video_frames_encoded) as f64 / secs,
            encoder_kbps: l(&self.encoder_kbps),
            destinations: Vec::new(),
        }
    }
}

pub(crate) fn add(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}
