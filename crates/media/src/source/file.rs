//! `file:PATH`: any file FFmpeg reads, decoded and paced at real time, optionally looped.
//!
//! The video and the audio of one file are two sources, each with its own
//! demuxer: they share nothing but the clock, which keeps them in step.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use ffmpeg_next::codec::threading;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::{codec, frame, media, Rational};

use super::{AudioSource, VideoSource};
use crate::convert::{Fitter, Resampler};
use crate::error::FfmpegContext;
use crate::frame::{AudioFrame, Clock, VideoFrame, CHANNELS, SAMPLE_RATE};
use crate::{MediaError, Result};

/// Opens a media file with a message that names it.
pub fn open_input(path: &Path) -> Result<Input> {
    if !path.exists() {
        return Err(MediaError::OpenInput { path: path.display().to_string(), reason: "no such file".into() });
    }
    ffmpeg_next::format::input(path)
        .map_err(|e| MediaError::OpenInput { path: path.display().to_string(), reason: e.to_string() })
}

/// A demuxer plus a decoder for one stream of a file, with loop bookkeeping.
struct Demux {
    path: PathBuf,
    input: Input,
    stream: usize,
    time_base: Rational,
    decoder: codec::decoder::Opened,
    looped: bool,
    draining: bool,
}

impl Demux {
    fn open(path: &Path, kind: media::Type, looped: bool) -> Result<Self> {
        let input = open_input(path)?;
        let st = input.streams().best(kind).ok_or_else(|| MediaError::NoStream {
            path: path.display().to_string(),
            kind: if kind == media::Type::Video { "video" } else { "audio" },
        })?;
        let mut ctx = codec::context::Context::from_parameters(st.parameters())
            .ctx(|| format!("reading codec parameters of {}", path.display()))?;
        ctx.set_threading(threading::Config::kind(threading::Type::Frame));
        let codec = ffmpeg_next::decoder::find(ctx.id()).ok_or_else(|| MediaError::OpenInput {
            path: path.display().to_string(),
            reason: format!("no decoder for its {:?} stream", ctx.id()),
        })?;
        let decoder = ctx.decoder().open_as(codec).ctx(|| format!("opening the decoder for {}", path.display()))?;
        Ok(Demux {
            path: path.to_owned(),
            stream: st.index(),
            time_base: st.time_base(),
            input,
            decoder,
            looped,
            draining: false,
        })
    }

    /// Feeds the decoder until it has a frame ready; false at the end of the file.
    /// A corrupt packet is skipped rather than ending the source.
    fn feed(&mut self) -> Result<bool> {
        if self.draining {
            return Ok(false);
        }
        loop {
            let next = self.input.packets().next();
            match next {
                Some((st, pkt)) if st.index() == self.stream => {
                    if let Err(e) = self.decoder.send_packet(&pkt) {
                        tracing::debug!("{}: skipping a packet: {e}", self.path.display());
                    }
                    return Ok(true);
                }
                Some(_) => continue,
                None => {
                    let _ = self.decoder.send_eof();
                    self.draining = true;
                    return Ok(true);
                }
            }
        }
    }

    /// Starts the file over after its end.
    fn rewind(&mut self) -> Result<()> {
        self.input.seek(0, ..).ctx(|| format!("cannot loop {}: seeking to the start failed", self.path.display()))?;
        self.decoder.flush();
        self.draining = false;
        Ok(())
    }
}

/// Video frames from a file.
pub struct FileVideo {
    demux: Demux,
    decoder_frame: frame::Video,
    fitter: Fitter,
    clock: Clock,
    stop: Arc<AtomicBool>,
    first_pts: Option<i64>,
    loop_offset: Duration,
    last: Duration,
    frame_dur: Duration,
    paced: bool,
}

impl FileVideo {
    pub fn open(path: &Path, looped: bool, width: u32, height: u32, clock: Clock, stop: Arc<AtomicBool>) -> Result<Self> {
        let demux = Demux::open(path, media::Type::Video, looped)?;
        let rate = demux.input.stream(demux.stream).map(|s| s.avg_frame_rate()).unwrap_or(Rational(30, 1));
        let fps = if rate.numerator() > 0 && rate.denominator() > 0 { f64::from(rate) } else { 30.0 };
        Ok(FileVideo {
            demux,
            decoder_frame: frame::Video::empty(),
            fitter: Fitter::new(width, height),
            clock,
            stop,
            first_pts: None,
            loop_offset: Duration::ZERO,
            last: Duration::ZERO,
            frame_dur: Duration::from_secs_f64(1.0 / fps.clamp(1.0, 240.0)),
            paced: true,
        })
    }

    /// Hands frames out as fast as they decode (for offline processing).
    pub fn unpaced(mut self) -> Self {
        self.paced = false;
        self
    }

    /// The size of the file's pictures and its duration, if known.
    pub fn probe(path: &Path) -> Result<((u32, u32), Option<Duration>)> {
        let input = open_input(path)?;
        let st = input.streams().best(media::Type::Video).ok_or_else(|| MediaError::NoStream {
            path: path.display().to_string(),
            kind: "video",
        })?;
        let ctx = codec::context::Context::from_parameters(st.parameters())
            .ctx(|| format!("reading codec parameters of {}", path.display()))?;
        let v = ctx.decoder().video().ctx(|| format!("opening the decoder for {}", path.display()))?;
        let d = input.duration();
        let dur = (d > 0).then(|| Duration::from_micros(d as u64));
        Ok(((v.width(), v.height()), dur))
    }
}

impl VideoSource for FileVideo {
    fn describe(&self) -> String {
        format!("file {}", self.demux.path.display())
    }

    fn next_frame(&mut self) -> Result<Option<VideoFrame>> {
        loop {
            if self.demux.decoder.receive_frame(&mut self.decoder_frame).is_ok() {
                let ts = self.decoder_frame.timestamp().or(self.decoder_frame.pts()).unwrap_or(0);
                let first = *self.first_pts.get_or_insert(ts);
                let tb = self.demux.time_base;
                let rel_s = (ts - first) as f64 * f64::from(tb);
                let rel = Duration::from_secs_f64(rel_s.max(0.0));
                let pts = self.loop_offset + rel;
                if pts < self.last && self.last != Duration::ZERO {
                    continue; // out-of-order or duplicate timestamp: skip
                }
                self.last = pts;
                let mut f = self.fitter.fit(&self.decoder_frame)?;
                f.pts = pts;
                if self.paced {
                    self.clock.sleep_until(pts, &self.stop);
                }
                return Ok(Some(f));
            }
            if !self.demux.feed()? {
                if !self.demux.looped {
                    return Ok(None);
                }
                self.demux.rewind()?;
                self.loop_offset = self.last + self.frame_dur;
                self.first_pts = None;
            }
        }
    }
}

/// Audio chunks from a file.
pub struct FileAudio {
    demux: Demux,
    decoder_frame: frame::Audio,
    resampler: Resampler,
    clock: Clock,
    stop: Arc<AtomicBool>,
    /// Samples handed out so far: the next chunk's time, gapless across loops.
    emitted: u64,
    paced: bool,
}

impl FileAudio {
    pub fn open(path: &Path, looped: bool, clock: Clock, stop: Arc<AtomicBool>) -> Result<Self> {
        let demux = Demux::open(path, media::Type::Audio, looped)?;
        Ok(FileAudio { demux, decoder_frame: frame::Audio::empty(), resampler: Resampler::new(), clock, stop, emitted: 0, paced: true })
    }

    /// Hands chunks out as fast as they decode (for offline processing).
    pub fn unpaced(mut self) -> Self {
        self.paced = false;
        self
    }
}

impl AudioSource for FileAudio {
    fn describe(&self) -> String {
        format!("file {}", self.demux.path.display())
    }

    fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
        loop {
            if self.demux.decoder.receive_frame(&mut self.decoder_frame).is_ok() {
                let mut samples = Vec::new();
                self.resampler.convert(&self.decoder_frame, &mut samples)?;
                if samples.is_empty() {
                    continue;
                }
                let pts = Duration::from_nanos(self.emitted * 1_000_000_000 / SAMPLE_RATE as u64);
                self.emitted += (samples.len() / CHANNELS) as u64;
                if self.paced {
                    self.clock.sleep_until(pts, &self.stop);
                }
                return Ok(Some(AudioFrame { samples, pts }));
            }
            if !self.demux.feed()? {
                if !self.demux.looped {
                    return Ok(None);
                }
                self.demux.rewind()?;
            }
        }
    }
}
