//! Encoders: H.264 (a hardware encoder when one opens, else libx264) and AAC.
//!
//! One encode feeds every output: encoders produce [`EncodedPacket`]s that the
//! pipeline fans out to the RTMP and MP4 outputs, so going live and recording
//! at once does not encode twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ffmpeg_next::codec::{self, Parameters};
use ffmpeg_next::format::{sample::Type as SampleType, Pixel, Sample};
use ffmpeg_next::{encoder, frame, picture, ChannelLayout, Dictionary, Packet, Rational};

use crate::convert::{into_ffmpeg, to_ffmpeg_into};
use crate::error::FfmpegContext;
use crate::frame::{to_units, AudioFrame, VideoFrame, CHANNELS, SAMPLE_RATE};
use crate::{MediaError, Result};

/// Time base of encoded video packets (the MPEG 90 kHz clock).
pub const VIDEO_TIME_BASE: Rational = Rational(1, 90_000);
/// Time base of encoded audio packets (one tick per sample).
pub const AUDIO_TIME_BASE: Rational = Rational(1, SAMPLE_RATE as i32);

/// Resolution, frame rate and default bitrates of a named preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub video_kbps: u32,
    pub audio_kbps: u32,
}

pub const PRESETS: [Preset; 4] = [
    Preset { name: "480p30", width: 854, height: 480, fps: 30, video_kbps: 1_200, audio_kbps: 128 },
    Preset { name: "720p30", width: 1280, height: 720, fps: 30, video_kbps: 2_500, audio_kbps: 128 },
    Preset { name: "1080p30", width: 1920, height: 1080, fps: 30, video_kbps: 4_500, audio_kbps: 160 },
    Preset { name: "1080p60", width: 1920, height: 1080, fps: 60, video_kbps: 6_000, audio_kbps: 160 },
];

impl std::str::FromStr for Preset {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<Self> {
        PRESETS.iter().copied().find(|p| p.name == s).ok_or_else(|| {
            MediaError::Invalid(format!("unknown preset {s:?}: use 480p30, 720p30, 1080p30 or 1080p60"))
        })
    }
}

/// Everything about how to encode.
#[derive(Clone, Debug)]
pub struct EncodingConfig {
    pub preset: Preset,
    pub video_kbps: Option<u32>,
    pub audio_kbps: Option<u32>,
    /// Seconds between keyframes.
    pub keyint_secs: f32,
    /// libx264's speed preset.
    pub x264_preset: String,
    /// `auto` (a hardware encoder if one opens, else x264), `x264`, or an FFmpeg encoder name.
    pub encoder: String,
    /// Real-time (calls): no B-frames, no look-ahead (`tune=zerolatency`),
    /// constrained-baseline H.264 (decodable under every profile WebRTC peers
    /// offer), SPS/PPS in-band before every keyframe (no global header: RTP
    /// carries no container), and a VBV of half a second so a bitrate change
    /// takes hold at once.
    pub realtime: bool,
}

impl Default for EncodingConfig {
    fn default() -> Self {
        EncodingConfig {
            preset: PRESETS[1],
            video_kbps: None,
            audio_kbps: None,
            keyint_secs: 2.0,
            x264_preset: "veryfast".into(),
            encoder: "auto".into(),
            realtime: false,
        }
    }
}

impl EncodingConfig {
    pub fn video_kbps(&self) -> u32 {
        self.video_kbps.unwrap_or(self.preset.video_kbps)
    }
    pub fn audio_kbps(&self) -> u32 {
        self.audio_kbps.unwrap_or(self.preset.audio_kbps)
    }
}

/// Which stream a packet belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    Video,
    Audio,
}

/// One encoded packet, timestamps in its stream's encoder time base.
pub struct EncodedPacket {
    pub kind: StreamKind,
    pub packet: Packet,
    /// Consecutive per stream: a gap tells an output it lost packets.
    pub seq: u64,
    /// For video packets: the capture time of the frame, for latency figures.
    pub key: bool,
}

/// What an output needs to set up a stream for encoded packets.
#[derive(Clone)]
pub struct StreamInfo {
    pub params: Parameters,
    pub time_base: Rational,
}

/// Hardware H.264 encoders that take system-memory yuv420p frames, tried in order by `auto`.
const HW_ENCODERS: &[&str] = &["h264_nvenc", "h264_videotoolbox", "h264_amf", "h264_mf"];

/// A real-time encode's VBV buffer, in milliseconds of its bitrate: the
/// most one frame (a keyframe) can be. 250 ms: a keyframe at a link's rate
/// fits the ~200 ms of queue a capped link holds, where 500 ms overflowed it
/// (calls behind a 1 Mbit/s cap lost every keyframe's tail).
const REALTIME_VBV_MS: usize = 250;

/// The H.264 encoder.
pub struct VideoEncoder {
    enc: encoder::Video,
    name: String,
    seq: u64,
    last_pts: Option<i64>,
    force_key: Arc<AtomicBool>,
    packet: Packet,
    /// The VBV buffer in milliseconds of the bitrate, kept across changes.
    vbv_ms: usize,
    /// The picture handed to FFmpeg, reused frame after frame (the encoder
    /// copies it in and lets go of it before the next one).
    frame: frame::Video,
}

impl VideoEncoder {
    /// Opens the encoder the config asks for; `force_key` lets outputs ask for
    /// a keyframe (after a reconnect or a drop).
    pub fn open(cfg: &EncodingConfig, force_key: Arc<AtomicBool>) -> Result<Self> {
        crate::init();
        let candidates: Vec<&str> = match cfg.encoder.as_str() {
            "auto" => HW_ENCODERS.iter().copied().chain(["libx264"]).collect(),
            "x264" | "libx264" => vec!["libx264"],
            other => vec![other],
        };
        let mut last_err = String::new();
        for name in &candidates {
            match Self::open_named(name, cfg) {
                Ok(enc) => {
                    tracing::info!("video encoder: {name}");
                    let vbv_ms = if cfg.realtime { REALTIME_VBV_MS } else { 2_000 };
                    return Ok(VideoEncoder { enc, name: name.to_string(), seq: 0, last_pts: None, force_key, packet: Packet::empty(), vbv_ms, frame: frame::Video::empty() });
                }
                Err(e) => {
                    tracing::debug!("encoder {name} unavailable: {e}");
                    last_err = e.to_string();
                }
            }
        }
        Err(MediaError::Encoder { name: candidates.join(", "), reason: last_err })
    }

    fn open_named(name: &str, cfg: &EncodingConfig) -> Result<encoder::Video> {
        let err = |reason: String| MediaError::Encoder { name: name.into(), reason };
        let codec = encoder::find_by_name(name).ok_or_else(|| err("not in this FFmpeg build".into()))?;
        let mut enc = codec::context::Context::new_with_codec(codec).encoder().video().map_err(|e| err(e.to_string()))?;
        let p = cfg.preset;
        let kbps = cfg.video_kbps() as usize;
        enc.set_width(p.width);
        enc.set_height(p.height);
        enc.set_format(Pixel::YUV420P);
        enc.set_time_base(VIDEO_TIME_BASE);
        enc.set_frame_rate(Some(Rational(p.fps as i32, 1)));
        enc.set_gop(((p.fps as f32 * cfg.keyint_secs).round() as u32).max(1));
        enc.set_bit_rate(kbps * 1000);
        enc.set_max_bit_rate(kbps * 1000);
        let mut opts = Dictionary::new();
        if cfg.realtime {
            enc.set_max_b_frames(0);
            opts.set("bufsize", &(kbps * REALTIME_VBV_MS).to_string());
            if name == "libx264" {
                opts.set("preset", &cfg.x264_preset);
                opts.set("tune", "zerolatency");
                opts.set("profile", "baseline");
                opts.set("forced-idr", "1");
                opts.set("x264-params", "scenecut=0:repeat-headers=1");
            }
            return enc.open_with(opts).map_err(|e| err(e.to_string()));
        }
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
        opts.set("bufsize", &(kbps * 2000).to_string());
        if name == "libx264" {
            opts.set("preset", &cfg.x264_preset);
            opts.set("forced-idr", "1");
            // Fixed, closed GOPs: segment boundaries are predictable, and
            // every keyframe is an IDR a player can start at (this FFmpeg's
            // libx264 otherwise made open GOPs: non-IDR I-frames that a
            // browser joining there fails to decode).
            opts.set("x264-params", "scenecut=0:open-gop=0");
        }
        enc.open_with(opts).map_err(|e| err(e.to_string()))
    }

    /// Changes the target bitrate from the next frame (congestion control).
    /// libx264 reconfigures itself when it sees the new rate; other encoders
    /// may ignore it.
    pub fn set_bitrate(&mut self, kbps: u32) {
        let bps = kbps as usize * 1000;
        self.enc.set_bit_rate(bps);
        self.enc.set_max_bit_rate(bps);
        // SAFETY: the context is open and owned by this encoder; FFmpeg reads
        // rc_buffer_size on the next frame (libx264's reconfigure), nothing
        // else holds it.
        unsafe {
            (*self.enc.as_mut_ptr()).rc_buffer_size = (bps * self.vbv_ms / 1000) as i32;
        }
    }

    /// Asks for a keyframe at the next frame.
    pub fn request_keyframe(&self) {
        self.force_key.store(true, Ordering::Release);
    }

    /// The FFmpeg name of the encoder in use (e.g. `libx264`, `h264_nvenc`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn stream_info(&self) -> StreamInfo {
        StreamInfo { params: Parameters::from(&*self.enc), time_base: VIDEO_TIME_BASE }
    }

    /// Encodes one frame; returns false if it was skipped (timestamp not after the last).
    pub fn encode(&mut self, f: &VideoFrame, out: &mut dyn FnMut(EncodedPacket)) -> Result<bool> {
        let Some(pts) = self.next_pts(f) else { return Ok(false) };
        let mut frame = std::mem::replace(&mut self.frame, frame::Video::empty());
        to_ffmpeg_into(f, &mut frame);
        let r = self.send(&mut frame, pts, out);
        self.frame = frame;
        r
    }

    /// [`VideoEncoder::encode`] without copying the picture: FFmpeg reads
    /// `f`'s own buffer and drops `f` when done with it.
    pub fn encode_owned(&mut self, f: VideoFrame, out: &mut dyn FnMut(EncodedPacket)) -> Result<bool> {
        let Some(pts) = self.next_pts(&f) else { return Ok(false) };
        self.send(&mut into_ffmpeg(f), pts, out)
    }

    fn next_pts(&mut self, f: &VideoFrame) -> Option<i64> {
        let pts = to_units(f.pts, VIDEO_TIME_BASE.denominator() as i64);
        if self.last_pts.is_some_and(|l| pts <= l) {
            return None;
        }
        self.last_pts = Some(pts);
        Some(pts)
    }

    fn send(&mut self, frame: &mut frame::Video, pts: i64, out: &mut dyn FnMut(EncodedPacket)) -> Result<bool> {
        frame.set_pts(Some(pts));
        let kind = if self.force_key.swap(false, Ordering::AcqRel) { picture::Type::I } else { picture::Type::None };
        frame.set_kind(kind);
        self.enc.send_frame(frame).ctx(|| format!("encoding video with {}", self.name))?;
        self.drain(out);
        Ok(true)
    }

    /// Flushes the encoder at the end.
    pub fn finish(&mut self, out: &mut dyn FnMut(EncodedPacket)) {
        let _ = self.enc.send_eof();
        self.drain(out);
    }

    fn drain(&mut self, out: &mut dyn FnMut(EncodedPacket)) {
        while self.enc.receive_packet(&mut self.packet).is_ok() {
            let packet = std::mem::replace(&mut self.packet, Packet::empty());
            let key = packet.is_key();
            out(EncodedPacket { kind: StreamKind::Video, packet, seq: self.seq, key });
            self.seq += 1;
        }
    }
}

/// The AAC encoder, fed with chunks of any size.
pub struct AudioEncoder {
    enc: encoder::Audio,
    frame_size: usize,
    /// Interleaved samples waiting to fill a frame.
    fifo: Vec<f32>,
    /// Sample position of `fifo[0]` since the epoch.
    next_pts: Option<i64>,
    seq: u64,
    packet: Packet,
}

impl AudioEncoder {
    pub fn open(kbps: u32) -> Result<Self> {
        crate::init();
        let err = |reason: String| MediaError::Encoder { name: "aac".into(), reason };
        let codec = encoder::find(codec::Id::AAC).ok_or_else(|| err("not in this FFmpeg build".into()))?;
        let mut enc = codec::context::Context::new_with_codec(codec).encoder().audio().map_err(|e| err(e.to_string()))?;
        enc.set_rate(SAMPLE_RATE as i32);
        enc.set_channel_layout(ChannelLayout::STEREO);
        enc.set_format(Sample::F32(SampleType::Planar));
        enc.set_bit_rate(kbps as usize * 1000);
        enc.set_time_base(AUDIO_TIME_BASE);
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
        let enc = enc.open_as(codec).map_err(|e| err(e.to_string()))?;
        let frame_size = (enc.frame_size() as usize).max(1);
        Ok(AudioEncoder { enc, frame_size, fifo: Vec::new(), next_pts: None, seq: 0, packet: Packet::empty() })
    }

    pub fn stream_info(&self) -> StreamInfo {
        StreamInfo { params: Parameters::from(&*self.enc), time_base: AUDIO_TIME_BASE }
    }

    pub fn encode(&mut self, chunk: &AudioFrame, out: &mut dyn FnMut(EncodedPacket)) -> Result<()> {
        if self.next_pts.is_none() {
            self.next_pts = Some(to_units(chunk.pts, SAMPLE_RATE as i64));
        }
        self.fifo.extend_from_slice(&chunk.samples);
        while self.fifo.len() >= self.frame_size * CHANNELS {
            self.send(self.frame_size)?;
            self.drain(out);
        }
        Ok(())
    }

    fn send(&mut self, n: usize) -> Result<()> {
        let mut frame = frame::Audio::new(Sample::F32(SampleType::Planar), self.frame_size, ChannelLayout::STEREO);
        frame.set_rate(SAMPLE_RATE);
        for ch in 0..CHANNELS {
            let plane = frame.plane_mut::<f32>(ch);
            for (i, s) in plane.iter_mut().enumerate() {
                *s = if i < n { self.fifo[i * CHANNELS + ch] } else { 0.0 };
            }
        }
        self.fifo.drain(..n * CHANNELS);
        let pts = self.next_pts.unwrap_or(0);
        frame.set_pts(Some(pts));
        self.next_pts = Some(pts + n as i64);
        self.enc.send_frame(&frame).ctx(|| "encoding AAC".into())
    }

    /// Pads and flushes what is left at the end.
    pub fn finish(&mut self, out: &mut dyn FnMut(EncodedPacket)) {
        if !self.fifo.is_empty() {
            let n = self.fifo.len() / CHANNELS;
            if self.send(n).is_ok() {
                self.drain(out);
            }
        }
        let _ = self.enc.send_eof();
        self.drain(out);
    }

    fn drain(&mut self, out: &mut dyn FnMut(EncodedPacket)) {
        while self.enc.receive_packet(&mut self.packet).is_ok() {
            let packet = std::mem::replace(&mut self.packet, Packet::empty());
            out(EncodedPacket { kind: StreamKind::Audio, packet, seq: self.seq, key: true });
            self.seq += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// NAL unit types in one AVCC packet (4-byte lengths).
    fn nal_types(mut d: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while d.len() > 4 {
            let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
            if n == 0 || 4 + n > d.len() {
                break;
            }
            out.push(d[4] & 0x1f);
            d = &d[4 + n..];
        }
        out
    }

    /// Every keyframe of a live encode (B-frames on) is an IDR: a viewer
    /// who joins at any segment can start decoding there.
    #[test]
    fn live_keyframes_are_idr() {
        let cfg = EncodingConfig { preset: "480p30".parse().unwrap(), keyint_secs: 1.0, encoder: "x264".into(), ..Default::default() };
        let mut enc = VideoEncoder::open(&cfg, Arc::new(AtomicBool::new(false))).unwrap();
        let mut keys = Vec::new();
        for i in 0..100u32 {
            let mut f = VideoFrame::black(854, 480);
            // Something moving, so that P- and B-frames carry data.
            let w = 854usize;
            for y in 100..200usize {
                for x in 0..60usize {
                    f.data[y * w + (x + i as usize * 7) % w] = 235;
                }
            }
            f.pts = Duration::from_millis(u64::from(i) * 1000 / 30);
            let mut keep = |p: EncodedPacket| {
                if p.key {
                    keys.push(nal_types(p.packet.data().unwrap_or(&[])));
                }
            };
            // Both ways in: copied, and lent without a copy.
            let sent = if i % 2 == 0 { enc.encode(&f, &mut keep) } else { enc.encode_owned(f, &mut keep) };
            assert!(sent.unwrap());
        }
        enc.finish(&mut |p| {
            if p.key {
                keys.push(nal_types(p.packet.data().unwrap_or(&[])));
            }
        });
        assert!(keys.len() >= 3, "a keyframe every second: {keys:?}");
        assert!(keys.iter().all(|k| k.contains(&5)), "every keyframe an IDR (NAL type 5): {keys:?}");
    }
}
