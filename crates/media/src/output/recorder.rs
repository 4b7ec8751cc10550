//! The MP4 recorder: fragmented MP4 while recording (a fragment at least every
//! second, flushed to the file at once), so a crash or `kill -9` loses at most
//! about a second. The part file is locked while recording; recovery uses the
//! lock to tell a live recording from one a crash left behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;

use ffmpeg_next::format::context::StreamIo;
use onair_vault::FileKey;

use super::mux::{Muxer, StreamSet};
use crate::crypt::SharedWriter;
use crate::encode::{EncodedPacket, StreamKind};
use crate::library::TrackStarts;
use crate::stats::{add, Stats};
use crate::{MediaError, Result};

/// Muxer options for crash safety: no moov at the end to lose, fragments of at
/// most one second, each written through to the file as it closes.
const FRAGMENTED: &[(&str, &str)] = &[
    ("movflags", "+frag_keyframe+empty_moov+default_base_moof"),
    ("frag_duration", "1000000"),
    ("flush_packets", "1"),
];

/// The file name for a recording in progress next to its final path.
pub fn part_path_for(final_path: &Path) -> PathBuf {
    let mut s = final_path.as_os_str().to_owned();
    s.push(".part");
    s.into()
}

/// How a recording thread ended.
#[derive(Debug, Default)]
pub struct RecorderEnd {
    pub error: Option<String>,
    pub starts: TrackStarts,
}

/// Called once per track with its first decode time in microseconds, so the
/// offset survives a crash (see [`TrackStarts`]).
pub type OnTrackStart = Box<dyn FnMut(StreamKind, i64) + Send>;

pub struct Recorder {
    pub handle: JoinHandle<RecorderEnd>,
    pub part_path: PathBuf,
    /// Media time written so far, in milliseconds.
    pub written_ms: Arc<AtomicI64>,
}

impl Recorder {
    /// Creates the part file and starts writing packets from `rx` to it.
    /// `failed` is raised if writing fails (disk full, device gone), so the
    /// pipeline stops cleanly and says why.
    pub fn start(
        final_path: &Path,
        streams: StreamSet,
        rx: Receiver<Arc<EncodedPacket>>,
        stats: Arc<Stats>,
        failed: Arc<AtomicBool>,
        on_start: OnTrackStart,
    ) -> Result<Self> {
        Self::start_with_key(final_path, streams, rx, stats, failed, on_start, None)
    }

    /// [`Recorder::start`], encrypting at rest with `key` when given: the
    /// fragments go through `onair_vault::Writer`, so each full 64 KiB chunk
    /// reaches the disk sealed and no plaintext ever does.
    pub fn start_with_key(
        final_path: &Path,
        streams: StreamSet,
        rx: Receiver<Arc<EncodedPacket>>,
        stats: Arc<Stats>,
        failed: Arc<AtomicBool>,
        mut on_start: OnTrackStart,
        key: Option<FileKey>,
    ) -> Result<Self> {
        let part_path = part_path_for(final_path);
        if let Some(dir) = final_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(MediaError::Write { path: final_path.to_owned(), reason: format!("folder {} does not exist", dir.display()) });
            }
        }
        let werr = |e: std::io::Error| MediaError::Write { path: part_path.clone(), reason: e.to_string() };
        let (mut muxer, sealer) = match &key {
            None => (
                Muxer::open_file(&part_path, "mp4").map_err(|e| MediaError::Write { path: final_path.to_owned(), reason: reason(&e) })?,
                None,
            ),
            Some(key) => {
                let file = crate::crypt::private_file(&part_path).map_err(werr)?;
                let w = onair_vault::Writer::new(file, key).map_err(|e| MediaError::Write { path: part_path.clone(), reason: e.to_string() })?;
                let shared = SharedWriter(Arc::new(Mutex::new(Some(w))));
                let io = StreamIo::from_write(shared.clone())
                    .map_err(|e| MediaError::Ffmpeg { what: "opening the encrypted recording".into(), source: e })?;
                (Muxer::open_stream(io, "mp4")?, Some(shared))
            }
        };
        muxer.start(&streams, FRAGMENTED)?;
        let lock = File::open(&part_path)
            .and_then(|f| f.try_lock().map(|_| f).map_err(std::io::Error::other))
            .map_err(|e| MediaError::Write { path: part_path.clone(), reason: format!("cannot lock: {e}") })?;
        let written_ms = Arc::new(AtomicI64::new(0));
        let written = written_ms.clone();
        let handle = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || {
                let mut end = RecorderEnd::default();
                for pkt in rx {
                    if end.error.is_some() {
                        continue; // drain so the encoder never blocks on us
                    }
                    let tb = match pkt.kind {
                        StreamKind::Video => crate::encode::VIDEO_TIME_BASE,
                        StreamKind::Audio => crate::encode::AUDIO_TIME_BASE,
                    };
                    let slot = match pkt.kind {
                        StreamKind::Video => &mut end.starts.video_us,
                        StreamKind::Audio => &mut end.starts.audio_us,
                    };
                    if slot.is_none() {
                        let dts = pkt.packet.dts().or(pkt.packet.pts()).unwrap_or(0);
                        let us = (dts as i128 * 1_000_000 * tb.numerator() as i128 / tb.denominator() as i128) as i64;
                        *slot = Some(us);
                        on_start(pkt.kind, us);
                    }
                    match muxer.write(&pkt) {
                        Ok(n) => {
                            add(&stats.bytes_recorded, n as u64);
                            if let Some(pts) = pkt.packet.pts() {
                                let ms = pts * 1000 * tb.numerator() as i64 / tb.denominator() as i64;
                                written.fetch_max(ms, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            end.error = Some(reason(&e));
                            failed.store(true, Ordering::Release);
                        }
                    }
                }
                if let Err(e) = muxer.finish() {
                    end.error.get_or_insert(reason(&e));
                }
                if let Some(SharedWriter(w)) = sealer {
                    // The trailer is out; what is pending becomes the last chunk.
                    let w = w.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if let Some(Err(e)) = w.map(|w| w.finish().and_then(|f| f.sync_all().map_err(Into::into))) {
                        end.error.get_or_insert(format!("sealing the encrypted recording: {e}"));
                    }
                }
                drop(lock);
                end
            })
            .map_err(|e| MediaError::Io { what: "starting the recorder thread".into(), source: e })?;
        Ok(Recorder { handle, part_path, written_ms })
    }
}

fn reason(e: &MediaError) -> String {
    match e {
        MediaError::Ffmpeg { source, .. } => source.to_string(),
        MediaError::Write { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}
