//! Offline processing of a whole file: `onair beauty` on a video. Decodes as
//! fast as it can (no real-time pacing), filters, encodes and muxes.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use onair_beauty::{BeautyFilter, BeautyParams, PlanesMut};

use crate::encode::{AudioEncoder, EncodedPacket, EncodingConfig, Preset, VideoEncoder};
use crate::frame::Clock;
use crate::output::mux::{Muxer, StreamSet};
use crate::source::file::{FileAudio, FileVideo};
use crate::source::{AudioSource, VideoSource};
use crate::{MediaError, Result};

/// What a finished transcode wrote.
#[derive(Clone, Debug)]
pub struct Transcoded {
    pub frames: u64,
    pub duration: Duration,
    pub encoder: String,
}

/// Applies the beauty filter to every frame of `input` and writes `output`
/// (MP4, H.264 at the input's size, AAC when the input has audio).
/// `progress` receives the fraction done, 0.0–1.0.
pub fn beauty_video(
    input: &Path,
    output: &Path,
    params: BeautyParams,
    progress: &mut dyn FnMut(f64),
) -> Result<Transcoded> {
    crate::init();
    let ((w, h), duration) = FileVideo::probe(input)?;
    let (w, h) = (w.max(2) & !1, h.max(2) & !1);
    let clock = Clock::start_now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut video = FileVideo::open(input, false, w, h, clock.clone(), stop.clone())?.unpaced();
    let mut audio = match FileAudio::open(input, false, clock, stop) {
        Ok(a) => Some(a.unpaced()),
        Err(MediaError::NoStream { .. }) => None,
        Err(e) => return Err(e),
    };
    // Quality over speed for an offline job: ~0.15 bit per pixel at 30 fps.
    let kbps = ((w as u64 * h as u64 * 30 * 15 / 100) / 1000).clamp(500, 50_000) as u32;
    let cfg = EncodingConfig {
        preset: Preset { name: "source", width: w, height: h, fps: 30, video_kbps: kbps, audio_kbps: 160 },
        x264_preset: "medium".into(),
        encoder: "x264".into(),
        ..EncodingConfig::default()
    };
    let mut venc = VideoEncoder::open(&cfg, Arc::new(AtomicBool::new(false)))?;
    let mut aenc = match &audio {
        Some(_) => Some(AudioEncoder::open(cfg.audio_kbps())?),
        None => None,
    };
    let streams = StreamSet { video: Some(venc.stream_info()), audio: aenc.as_ref().map(|a| a.stream_info()) };
    let tmp = {
        let mut s = output.as_os_str().to_owned();
        s.push(".partial");
        std::path::PathBuf::from(s)
    };
    let mut mux = Muxer::open_file(&tmp, "mp4")?;
    mux.start(&streams, &[("movflags", "+faststart")])?;
    let mut filter = BeautyFilter::with_params(params);
    filter.set_threads(0);

    let mut failed: Option<MediaError> = None;
    let mut write = |mux: &mut Muxer, p: EncodedPacket| {
        if failed.is_none() {
            if let Err(e) = mux.write(&p) {
                failed = Some(e);
            }
        }
    };
    let mut frames = 0u64;
    let mut next_audio = audio.as_mut().map(|a| a.next_chunk()).transpose()?.flatten();
    let total = duration.map(|d| d.as_secs_f64()).filter(|d| *d > 0.0);
    while let Some(mut f) = video.next_frame()? {
        // Audio up to this frame's time first, so the muxer interleaves.
        while let (Some(chunk), Some(enc)) = (next_audio.as_ref(), aenc.as_mut()) {
            if chunk.pts > f.pts {
                break;
            }
            enc.encode(chunk, &mut |p| write(&mut mux, p))?;
            next_audio = audio.as_mut().map(|a| a.next_chunk()).transpose()?.flatten();
        }
        let (fw, fh) = (f.width as usize, f.height as usize);
        {
            let (y, u, v) = f.planes_mut();
            let mut planes = PlanesMut::packed(fw, fh, y, u, v).map_err(|e| MediaError::Invalid(e.to_string()))?;
            filter.apply(&mut planes);
        }
        venc.encode(&f, &mut |p| write(&mut mux, p))?;
        frames += 1;
        if let Some(t) = total {
            progress((f.pts.as_secs_f64() / t).min(1.0));
        }
    }
    while let (Some(chunk), Some(enc)) = (next_audio.take(), aenc.as_mut()) {
        enc.encode(&chunk, &mut |p| write(&mut mux, p))?;
        next_audio = audio.as_mut().map(|a| a.next_chunk()).transpose()?.flatten();
    }
    venc.finish(&mut |p| write(&mut mux, p));
    if let Some(enc) = aenc.as_mut() {
        enc.finish(&mut |p| write(&mut mux, p));
    }
    if let Some(e) = failed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    mux.finish()?;
    std::fs::rename(&tmp, output).map_err(|e| MediaError::Write { path: output.to_owned(), reason: e.to_string() })?;
    progress(1.0);
    Ok(Transcoded { frames, duration: duration.unwrap_or_default(), encoder: venc.name().to_string() })
}
