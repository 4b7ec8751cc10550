//! HLS output of a live room: FFmpeg's `hls` muxer on a blocking thread,
//! fed access units from the ingest session over a bounded queue. Segments
//! are MPEG-TS, cut at keyframes (one GOP, ~1–2 s), in a sliding playlist of
//! six, under `DATA/live/ROOM/`. FFmpeg writes the playlist to a temp file and
//! renames it, so an HTTP reader never sees half a playlist.

use ffmpeg_next::{codec, encoder, ffi, Dictionary, Rational};
use onair_ingest::flv::{avcc_parameter_sets, avcc_to_annexb};
use onair_ingest::Media;
use super::replay::Recorder;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

#[derive(Debug, thiserror::Error)]
pub enum HlsError {
    #[error("HLS output in {dir}: {what}: {source}")]
    Ffmpeg { dir: PathBuf, what: &'static str, source: ffmpeg_next::Error },
    #[error("HLS output in {dir}: {source}")]
    Io { dir: PathBuf, source: std::io::Error },
    #[error("HLS output: {0}")]
    Media(#[from] onair_ingest::IngestError),
}

/// Packets buffered before the header: enough for both sequence headers to
/// arrive, few enough that a video-only stream starts soon.
const PRE_HEADER: usize = 64;
/// Queue between the socket task and the writer thread (~4 s at 30 fps + audio).
const QUEUE: usize = 512;

/// The socket side's handle on a room's writer thread.
pub struct Writer {
    tx: Option<SyncSender<Media>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The queue was full: drop video until the next keyframe, so the
    /// output never has a hole in a GOP.
    skipping: bool,
    pub dropped: u64,
}

impl Writer {
    /// Clears `dir` and starts the writer thread for `room`.
    /// `replay`: where to record this live, its start time (ms), how many
    /// replays to keep, and the rungs to make of it once it is finished.
    pub fn start(room: &str, dir: PathBuf, replay: Option<(PathBuf, i64, usize, Vec<super::ladder::Rung>)>) -> Result<Writer, HlsError> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|source| HlsError::Io { dir: dir.clone(), source })?;
        }
        std::fs::create_dir_all(&dir).map_err(|source| HlsError::Io { dir: dir.clone(), source })?;
        let (tx, rx) = sync_channel(QUEUE);
        let room = room.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("hls-{room}"))
            .spawn(move || {
                if let Err(e) = run(&dir, rx, replay) {
                    tracing::warn!(room = %room, error = %e, "HLS output stopped");
                }
            })
            .map_err(|source| HlsError::Io { dir: PathBuf::new(), source })?;
        Ok(Writer { tx: Some(tx), thread: Some(thread), skipping: false, dropped: 0 })
    }

    /// Never blocks the socket task: a full queue drops (counted).
    pub fn push(&mut self, m: Media) {
        let Some(tx) = &self.tx else { return };
        if let Media::Video { keyframe, .. } = &m {
            if self.skipping && !keyframe {
                self.dropped += 1;
                return;
            }
            self.skipping = false;
        }
        match tx.try_send(m) {
            Ok(()) => {}
            Err(TrySendError::Full(m)) => {
                self.dropped += 1;
                if matches!(m, Media::Video { .. }) {
                    self.skipping = true;
                }
            }
            Err(TrySendError::Disconnected(_)) => self.tx = None,
        }
    }

    /// Closes the queue; the thread writes the trailer (the playlist gets
    /// `#EXT-X-ENDLIST`). Does not wait for it.
    pub fn finish(mut self) {
        self.tx = None;
        self.thread = None;
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx = None;
        // The thread ends on its own once the queue is closed; joining here
        // would block an async task.
        let _ = self.thread.take();
    }
}

struct Tracks {
    video: Option<(usize, Vec<Vec<u8>>)>,
    audio: Option<usize>,
}

fn run(dir: &Path, rx: Receiver<Media>, replay: Option<(PathBuf, i64, usize, Vec<super::ladder::Rung>)>) -> Result<(), HlsError> {
    let kept = replay.as_ref().map(|r| (r.0.clone(), r.2, r.3.clone()));
    let fe = |what: &'static str| move |source| HlsError::Ffmpeg { dir: dir.to_path_buf(), what, source };
    // Wait for the sequence headers (they come first from every encoder we
    // know), keeping early packets.
    let (mut vcfg, mut acfg, mut early) = (None, None, Vec::new());
    while vcfg.is_none() || acfg.is_none() {
        match rx.recv() {
            Ok(Media::VideoConfig(c)) => vcfg = Some(c),
            Ok(Media::AudioConfig(c)) => acfg = Some(c),
            Ok(m) => {
                early.push(m);
                if early.len() >= PRE_HEADER {
                    break;
                }
            }
            Err(_) => return Ok(()),
        }
    }
    if vcfg.is_none() {
        tracing::warn!("publisher sent no H.264 sequence header; no HLS output");
        for _ in rx.iter() {}
        return Ok(());
    }
    let mut octx = ffmpeg_next::format::output_as(&dir.join("ts.m3u8"), "hls").map_err(fe("opening the hls muxer"))?;
    let mut tracks = Tracks { video: None, audio: None };
    if let Some(avcc) = &vcfg {
        let sets = avcc_parameter_sets(avcc)?;
        let extradata: Vec<u8> = sets.iter().flat_map(|s| [&[0u8, 0, 0, 1][..], s].concat()).collect();
        let mut st = octx.add_stream(encoder::find(codec::Id::None)).map_err(fe("adding the video stream"))?;
        st.set_time_base(Rational(1, 1000));
        // SAFETY: the stream was just created and its parameters are ours
        // to fill; extradata is allocated with FFmpeg's allocator and padding,
        // as FFmpeg frees it.
        unsafe {
            let par = (*st.as_mut_ptr()).codecpar;
            (*par).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
            (*par).codec_id = ffi::AVCodecID::AV_CODEC_ID_H264;
            set_extradata(par, &extradata);
        }
        tracks.video = Some((st.index(), sets));
    }
    if let Some(asc) = &acfg {
        let (rate, channels) = asc_params(asc);
        tracks.audio = Some(add_aac_stream(&mut octx, asc, rate, channels).map_err(fe("adding the audio stream"))?);
    }
    let mut opts = Dictionary::new();
    opts.set("hls_time", "1");
    opts.set("hls_list_size", "6");
    opts.set("hls_flags", "delete_segments+independent_segments+temp_file");
    opts.set("hls_segment_filename", &dir.join("seg%05d.ts").to_string_lossy());
    octx.write_header_with(opts).map_err(fe("writing the header"))?;
    let tbs: Vec<Rational> = octx.streams().map(|s| s.time_base()).collect();
    let mut rec = replay.and_then(|(rdir, at, _, _)| {
        let asc = acfg.as_ref().map(|a| {
            let (rate, ch) = asc_params(a);
            (a.as_slice(), rate, ch)
        });
        Recorder::start(&rdir, at, vcfg.as_deref(), asc).map_err(|e| tracing::warn!(error = %e, "replay not recorded")).ok()
    });
    let mut started = false;
    for m in early.into_iter().chain(rx.iter()) {
        let (idx, pts, dts, key, data) = match m {
            Media::Video { dts_ms, cts_ms, keyframe, data } => {
                let Some((idx, sets)) = &tracks.video else { continue };
                // A viewer's decoder needs a keyframe first.
                started |= keyframe;
                if !started {
                    continue;
                }
                if let Some(r) = &mut rec {
                    r.write(true, i64::from(dts_ms) + i64::from(cts_ms), i64::from(dts_ms), keyframe, &data);
                }
                let annexb = avcc_to_annexb(&data, if keyframe { sets } else { &[] })?;
                (*idx, i64::from(dts_ms) + i64::from(cts_ms), i64::from(dts_ms), keyframe, annexb)
            }
            Media::Audio { ts_ms, data } => {
                let Some(idx) = tracks.audio else { continue };
                if !started {
                    continue;
                }
                if let Some(r) = &mut rec {
                    r.write(false, i64::from(ts_ms), i64::from(ts_ms), true, &data);
                }
                (idx, i64::from(ts_ms), i64::from(ts_ms), true, data)
            }
            // A mid-stream change of parameters is not supported: keep the first.
            Media::VideoConfig(_) | Media::AudioConfig(_) => continue,
        };
        let mut pkt = ffmpeg_next::Packet::copy(&data);
        pkt.set_pts(Some(pts));
        pkt.set_dts(Some(dts));
        pkt.set_stream(idx);
        if key {
            pkt.set_flags(ffmpeg_next::packet::Flags::KEY);
        }
        pkt.rescale_ts(Rational(1, 1000), tbs[idx]);
        if let Err(e) = pkt.write_interleaved(&mut octx) {
            // One bad timestamp from a publisher must not end the room.
            tracing::debug!(error = %e, "HLS packet refused");
        }
    }
    if let Some(r) = rec {
        match r.finish() {
            Ok(p) => {
                tracing::info!(replay = %p.display(), "replay recorded");
                if let Some((rdir, n, rungs)) = kept {
                    super::replay::prune(&rdir, n);
                    super::replay_ladder::spawn(p, rungs);
                }
            }
            Err(e) => tracing::warn!(error = %e, "finishing the replay"),
        }
    }
    octx.write_trailer().map_err(fe("writing the trailer"))?;
    Ok(())
}

/// # Safety
/// `par` must be a valid codec parameters pointer with no extradata yet.
/// Adds an AAC stream described by its AudioSpecificConfig (time base 1 ms,
/// as FLV's) and returns its index.
pub(super) fn add_aac_stream(
    octx: &mut ffmpeg_next::format::context::Output,
    asc: &[u8],
    rate: i32,
    channels: i32,
) -> Result<usize, ffmpeg_next::Error> {
    let mut st = octx.add_stream(encoder::find(codec::Id::None))?;
    st.set_time_base(Rational(1, 1000));
    // SAFETY: the stream was just created and its parameters are ours to
    // fill; extradata is allocated with FFmpeg's allocator, as FFmpeg frees it.
    unsafe {
        let par = (*st.as_mut_ptr()).codecpar;
        (*par).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_AUDIO;
        (*par).codec_id = ffi::AVCodecID::AV_CODEC_ID_AAC;
        (*par).sample_rate = rate;
        ffi::av_channel_layout_default(&mut (*par).ch_layout, channels);
        (*par).frame_size = 1024;
        set_extradata(par, asc);
    }
    Ok(st.index())
}

pub(super) unsafe fn set_extradata(par: *mut ffi::AVCodecParameters, data: &[u8]) {
    let pad = ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
    // SAFETY: av_mallocz returns zeroed memory of the size asked or null.
    let p = unsafe { ffi::av_mallocz(data.len() + pad) } as *mut u8;
    if p.is_null() {
        return;
    }
    // SAFETY: `p` has room for `data.len()` bytes; `par` is valid (caller).
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len());
        (*par).extradata = p;
        (*par).extradata_size = data.len() as i32;
    }
}

/// Sample rate and channel count from an AAC AudioSpecificConfig.
fn asc_params(asc: &[u8]) -> (i32, i32) {
    const RATES: [i32; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
    if asc.len() < 2 {
        return (48000, 2);
    }
    let idx = (((asc[0] & 0x07) << 1) | (asc[1] >> 7)) as usize;
    let ch = ((asc[1] >> 3) & 0x0f) as i32;
    (RATES.get(idx).copied().unwrap_or(48000), if ch == 0 { 2 } else { ch })
}

#[cfg(test)]
mod tests {
    #[test]
    fn asc() {
        // AAC-LC, 48 kHz, stereo.
        assert_eq!(super::asc_params(&[0x11, 0x90]), (48000, 2));
        // AAC-LC, 44.1 kHz, mono.
        assert_eq!(super::asc_params(&[0x12, 0x08]), (44100, 1));
        assert_eq!(super::asc_params(&[]), (48000, 2));
    }
}
