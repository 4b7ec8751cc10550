//! Turns a crash-safe fragmented MP4 into a normal MP4 with chapters.
//!
//! FFmpeg drops chapters added after the header in fragmented mode, so
//! bookmarks live in the library database and are written here, by a
//! stream-copy remux that takes a fraction of a second. The same function
//! finalises a recording at stop and recovers one that a crash interrupted: a
//! truncated last fragment just ends the copy.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ffmpeg_next::format::context::StreamIo;
use ffmpeg_next::{codec, encoder, media, Rational};
use onair_vault::FileKey;

use crate::library::{Bookmark, TrackStarts};
use crate::{MediaError, Result};

/// What the final file holds.
#[derive(Clone, Debug)]
pub struct Finalized {
    pub duration: Duration,
    pub size: u64,
}

/// Title of the chapter that covers the time before the first bookmark (MP4
/// chapter tracks always start at zero).
pub const START_CHAPTER: &str = "Start";

/// Remuxes `part` into `out` with `bookmarks` as chapters, then removes `part`.
/// `starts` restores each track's start offset, which fragmented MP4 lost.
/// The final file appears atomically (written beside it, then renamed).
pub fn finalize(part: &Path, out: &Path, bookmarks: &[Bookmark], starts: TrackStarts) -> Result<Finalized> {
    finalize_with_key(part, out, bookmarks, starts, None)
}

/// [`finalize`] for a recording encrypted with `key` (both files are vault
/// files): the part is sealed up to its last complete chunk if its writer
/// died, read through a decrypting reader, and the final MP4 streams into a
/// new vault file, so no plaintext reaches the disk. Its `moov` stays at the
/// end (`+faststart` rewrites the file through its path, which custom I/O
/// has not); players find it with a Range request.
pub fn finalize_with_key(part: &Path, out: &Path, bookmarks: &[Bookmark], starts: TrackStarts, key: Option<&FileKey>) -> Result<Finalized> {
    crate::init();
    let werr = |path: &Path, reason: String| MediaError::Write { path: path.to_owned(), reason };
    if let Some(key) = key {
        onair_vault::seal_recovered(part, key).map_err(|e| crate::crypt::verr(part, e))?;
    }
    let mut ictx = crate::crypt::open_input(part, key)?;
    let tmp: PathBuf = {
        let mut s = out.as_os_str().to_owned();
        s.push(".finalizing");
        s.into()
    };
    let mut sink = None;
    let mut octx = match key {
        None => ffmpeg_next::format::output_as(&tmp, "mp4").map_err(|e| werr(&tmp, e.to_string()))?,
        Some(key) => {
            let file = crate::crypt::private_file(&tmp).map_err(|e| werr(&tmp, e.to_string()))?;
            let shared = Arc::new(Mutex::new(crate::crypt::FinalSink::new(file, key)?));
            sink = Some(shared.clone());
            let io = StreamIo::from_write_seek(SinkRef(shared)).map_err(|e| werr(&tmp, e.to_string()))?;
            ffmpeg_next::format::output_to_stream(io, None, Some("mp4")).map_err(|e| werr(&tmp, e.to_string()))?
        }
    };
    let mut map = vec![None; ictx.nb_streams() as usize];
    let mut in_tbs = vec![Rational(1, 1); ictx.nb_streams() as usize];
    // Per input stream: the offset to add, in that stream's time base.
    let mut shift = vec![0i64; ictx.nb_streams() as usize];
    let mut next = 0;
    for st in ictx.streams() {
        let t = st.parameters().medium();
        if t != media::Type::Video && t != media::Type::Audio {
            continue;
        }
        let mut ost = octx
            .add_stream(encoder::find(codec::Id::None))
            .map_err(|e| werr(&tmp, e.to_string()))?;
        ost.set_parameters(st.parameters());
        // SAFETY: the stream was just created; a zero tag lets the muxer pick its own.
        unsafe { (*(*ost.as_mut_ptr()).codecpar).codec_tag = 0 };
        map[st.index()] = Some(next);
        in_tbs[st.index()] = st.time_base();
        let start_us = if t == media::Type::Video { starts.video_us } else { starts.audio_us };
        if let Some(us) = start_us {
            let tb = st.time_base();
            shift[st.index()] = (us as i128 * tb.denominator() as i128 / (1_000_000i128 * tb.numerator().max(1) as i128)) as i64;
        }
        next += 1;
    }
    if next == 0 {
        return Err(MediaError::NoStream { path: part.display().to_string(), kind: "audio or video" });
    }
    let end_ms = media_end_ms(part, key)?;
    let duration = Duration::from_millis(end_ms as u64);
    let mut marks: Vec<(i64, &str)> = bookmarks.iter().map(|b| (b.t_ms.clamp(0, end_ms.max(0)), b.label.as_str())).collect();
    if marks.first().is_some_and(|m| m.0 > 0) {
        marks.insert(0, (0, START_CHAPTER));
    }
    for (i, (start, label)) in marks.iter().enumerate() {
        let end = marks.get(i + 1).map(|n| n.0.max(*start)).unwrap_or(end_ms.max(*start));
        octx.add_chapter(i as i64 + 1, Rational(1, 1000), *start, end, label)
            .map_err(|e| werr(&tmp, format!("adding chapter {label:?}: {e}")))?;
    }
    let mut opts = ffmpeg_next::Dictionary::new();
    if key.is_none() {
        opts.set("movflags", "+faststart");
    }
    octx.write_header_with(opts).map_err(|e| werr(&tmp, e.to_string()))?;
    let mut copied = 0u64;
    // A crash leaves a truncated fragment at the end: reading stops there.
    // An encrypted part a crash cut is cut at a chunk boundary, likely inside
    // a sample: a packet that runs to the very end was cut short (a whole
    // file ends with the fragment index, never with sample data).
    let cut_at = match key {
        Some(k) => onair_vault::open(part, k).map(|r| r.len()).ok(),
        None => None,
    };
    for (st, mut pkt) in ictx.packets() {
        let Some(o) = map[st.index()] else { continue };
        if let (Some(end), Ok(pos)) = (cut_at, u64::try_from(pkt.position())) {
            if pos + pkt.size() as u64 >= end {
                continue;
            }
        }
        let out_tb = octx.stream(o).map(|s| s.time_base()).unwrap_or(in_tbs[st.index()]);
        let d = shift[st.index()];
        if d != 0 {
            pkt.set_pts(pkt.pts().map(|t| t + d));
            pkt.set_dts(pkt.dts().map(|t| t + d));
        }
        pkt.rescale_ts(in_tbs[st.index()], out_tb);
        pkt.set_position(-1);
        pkt.set_stream(o);
        pkt.write_interleaved(&mut octx).map_err(|e| werr(&tmp, e.to_string()))?;
        copied += 1;
    }
    if copied == 0 {
        let _ = std::fs::remove_file(&tmp);
        return Err(MediaError::Invalid(format!("{} holds no media to recover", part.display())));
    }
    octx.write_trailer().map_err(|e| werr(&tmp, e.to_string()))?;
    // Dropping the context flushes FFmpeg's buffer into the sink.
    drop(octx);
    if let Some(s) = sink {
        let sealed = s.lock().unwrap_or_else(|p| p.into_inner()).finish();
        if let Err(e) = sealed {
            let _ = std::fs::remove_file(&tmp);
            return Err(werr(&tmp, e.to_string()));
        }
    }
    std::fs::rename(&tmp, out).map_err(|e| werr(out, e.to_string()))?;
    let _ = std::fs::remove_file(part);
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    // Re-read the duration from the final file: the part's may be unknown.
    let duration = crate::crypt::open_input(out, key)
        .ok()
        .map(|i| Duration::from_micros(i.duration().max(0) as u64))
        .unwrap_or(duration);
    Ok(Finalized { duration, size })
}

/// The end of the last packet in `path`, in milliseconds. The container's own
/// duration is unreliable for a fragmented file a crash cut short, so this
/// reads the packets (cheap: no decoding).
fn media_end_ms(path: &Path, key: Option<&FileKey>) -> Result<i64> {
    let mut ictx = crate::crypt::open_input(path, key)?;
    let mut end = 0i64;
    for (st, pkt) in ictx.packets() {
        let tb = st.time_base();
        if let Some(pts) = pkt.pts() {
            let t = (pts + pkt.duration()) as i128 * 1000 * tb.numerator() as i128 / tb.denominator().max(1) as i128;
            end = end.max(t as i64);
        }
    }
    Ok(end)
}

/// FFmpeg owns its stream; the finaliser keeps a handle to seal the file
/// after the trailer.
struct SinkRef(Arc<Mutex<crate::crypt::FinalSink>>);

impl Write for SinkRef {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for SinkRef {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).seek(to)
    }
}
