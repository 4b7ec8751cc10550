//! The quality ladder: lower renditions of a live, made on the relay. The
//! source passes through untouched; for the lower rungs the source video is
//! decoded once and each rung scaled and encoded with x264 (`veryfast`,
//! `zerolatency`). A rung's keyframes are forced where the source has its
//! own, so every rung's segments start at the same instants and a player
//! may switch rungs at any segment. Audio is copied. Each rung feeds a
//! [`Fanout`] of its own, so it has every format the source has: HTTP-FLV,
//! fragmented MP4 and low-latency HLS.
//!
//! A rung costs nothing while nobody watches it: a rung with no open
//! stream and no HLS request in the last [`super::edge::IDLE`] is not
//! encoded, and with no rung watched the source is not even decoded. A rung
//! that gains a viewer starts at the source's next keyframe.

use super::fanout::Fanout;
use ffmpeg_next::{codec, decoder, encoder, format::Pixel, frame, picture, software::scaling, Dictionary, Packet, Rational};
use onair_ingest::Media;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// A rung of the ladder: its name (also its URL folder) and picture height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    pub name: &'static str,
    pub height: u32,
    pub kbps: u32,
}

/// `audio` is the audio-only rung (height 0): the source's audio, copied.
pub const RUNGS: [Rung; 5] = [
    Rung { name: "1080p", height: 1080, kbps: 4500 },
    Rung { name: "720p", height: 720, kbps: 2500 },
    Rung { name: "480p", height: 480, kbps: 1200 },
    Rung { name: "360p", height: 360, kbps: 700 },
    Rung { name: "audio", height: 0, kbps: 128 },
];

/// `720p,480p,360p` (with `source`, always there, allowed) -> rungs, tallest
/// first.
pub fn parse(list: &str) -> Result<Vec<Rung>, String> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty() && *s != "source") {
        let r = RUNGS.iter().find(|r| r.name == name).ok_or_else(|| format!("unknown rung {name:?}: use source, 1080p, 720p, 480p, 360p or audio"))?;
        if !out.contains(r) {
            out.push(*r);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.height));
    Ok(out)
}

/// A room's ladder as the store keeps it: `source` then the rungs, tallest
/// first (`480p, audio,source` -> `source,480p,audio`).
pub fn canonical(list: &str) -> Result<String, String> {
    let rungs = parse(list)?;
    Ok(std::iter::once("source").chain(rungs.iter().map(|r| r.name)).collect::<Vec<_>>().join(","))
}

/// Frames queued for the transcoder before it drops (until a keyframe).
const QUEUE: usize = 256;

/// One room's transcoder thread; the source's media go in with [`Ladder::push`].
pub struct Ladder {
    tx: Option<SyncSender<Media>>,
    skipping: bool,
}

/// A rung being fed: its fan-out, and whether someone wants it now.
pub struct Out {
    pub rung: Rung,
    pub fan: Arc<Fanout>,
    pub wanted: Box<dyn Fn() -> bool + Send>,
}

impl Ladder {
    pub fn start(room: &str, outs: Vec<Out>) -> Ladder {
        let (tx, rx) = sync_channel(QUEUE);
        let room = room.to_string();
        let spawned = std::thread::Builder::new().name(format!("ladder-{room}")).spawn(move || {
            if let Err(e) = run(rx, outs) {
                tracing::warn!(room = %room, "quality ladder stopped: {e}");
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "quality ladder: no thread");
            return Ladder { tx: None, skipping: false };
        }
        Ladder { tx: Some(tx), skipping: false }
    }

    pub fn push(&mut self, m: &Media) {
        let Some(tx) = &self.tx else { return };
        if let Media::Video { keyframe, .. } = m {
            if self.skipping && !keyframe {
                return;
            }
            self.skipping = false;
        }
        match tx.try_send(m.clone()) {
            Ok(()) => {}
            // Behind: drop video until the next keyframe (the rungs pause,
            // the source never waits for them).
            Err(TrySendError::Full(_)) => self.skipping = true,
            Err(TrySendError::Disconnected(_)) => self.tx = None,
        }
    }
}

struct Encoding {
    enc: encoder::Video,
    scaler: scaling::Context,
    /// Waiting for a source keyframe to (re)start on.
    waiting: bool,
    sent_config: bool,
}

fn run(rx: Receiver<Media>, outs: Vec<Out>) -> Result<(), String> {
    ffmpeg_next::init().map_err(|e| e.to_string())?;
    let mut dec: Option<decoder::Video> = None;
    let mut encs: Vec<Option<Encoding>> = outs.iter().map(|_| None).collect();
    let mut decoding = false;
    let mut picture = frame::Video::empty();
    let mut acfg: Option<Media> = None;
    let mut audio_on = vec![false; outs.len()];
    for m in rx.iter() {
        match &m {
            Media::AudioConfig(_) => acfg = Some(m.clone()),
            // Audio goes to the video rungs being made, after their video
            // config (their init segment then declares both tracks), and to
            // the audio-only rung while it is wanted.
            Media::Audio { .. } => {
                for (i, o) in outs.iter().enumerate() {
                    if o.rung.height == 0 {
                        match ((o.wanted)(), audio_on[i], &acfg) {
                            (true, false, Some(c)) => {
                                o.fan.push(c);
                                audio_on[i] = true;
                            }
                            (false, true, _) => audio_on[i] = false,
                            _ => {}
                        }
                        if audio_on[i] {
                            o.fan.push(&m);
                        }
                    } else if encs[i].as_ref().is_some_and(|e| e.sent_config) {
                        o.fan.push(&m);
                    }
                }
            }
            Media::VideoConfig(avcc) => {
                dec = Some(open_decoder(avcc)?);
                // A new configuration: every rung's encoder starts over.
                encs.iter_mut().for_each(|e| *e = None);
            }
            Media::Video { dts_ms, cts_ms, keyframe, data } => {
                let Some(d) = dec.as_mut() else { continue };
                // Only video rungs need the source decoded.
                let wanted: Vec<bool> = outs.iter().map(|o| o.rung.height > 0 && (o.wanted)()).collect();
                if !wanted.iter().any(|w| *w) {
                    decoding = false;
                    continue;
                }
                // Decoding starts (again) at a keyframe.
                if !decoding && !keyframe {
                    continue;
                }
                decoding = true;
                let mut pkt = Packet::copy(data);
                pkt.set_dts(Some(i64::from(*dts_ms)));
                pkt.set_pts(Some(i64::from(*dts_ms) + i64::from(*cts_ms)));
                if *keyframe {
                    pkt.set_flags(codec::packet::Flags::KEY);
                }
                if d.send_packet(&pkt).is_err() {
                    continue;
                }
                while d.receive_frame(&mut picture).is_ok() {
                    let key = picture.is_key() || picture.kind() == picture::Type::I;
                    for (i, o) in outs.iter().enumerate() {
                        if !wanted[i] {
                            if encs[i].take().is_some() {
                                tracing::info!(rung = o.rung.name, "ladder: nobody watches this rung; not encoding it");
                            }
                            continue;
                        }
                        if encs[i].is_none() {
                            // Above the source: never made.
                            if !key || o.rung.height >= picture.height() {
                                continue;
                            }
                            encs[i] = Some(open_encoder(o.rung, &picture)?);
                            tracing::info!(rung = o.rung.name, "ladder: encoding this rung for its viewers");
                        }
                        let Some(e) = encs[i].as_mut() else { continue };
                        e.waiting &= !key;
                        if e.waiting {
                            continue;
                        }
                        encode(e, &picture, key, &o.fan, acfg.as_ref())?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn open_decoder(avcc: &[u8]) -> Result<decoder::Video, String> {
    let codec = decoder::find(codec::Id::H264).ok_or("no H.264 decoder in this FFmpeg")?;
    let mut ctx = codec::context::Context::new_with_codec(codec);
    // SAFETY: extradata is allocated with FFmpeg's allocator, padded, and
    // owned by the context from here on.
    unsafe {
        let c = ctx.as_mut_ptr();
        let pad = ffmpeg_next::ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
        let buf = ffmpeg_next::ffi::av_mallocz(avcc.len() + pad) as *mut u8;
        if buf.is_null() {
            return Err("out of memory".into());
        }
        std::ptr::copy_nonoverlapping(avcc.as_ptr(), buf, avcc.len());
        (*c).extradata = buf;
        (*c).extradata_size = avcc.len() as i32;
        (*c).pkt_timebase = Rational(1, 1000).into();
    }
    ctx.decoder().video().map_err(|e| format!("opening the H.264 decoder: {e}"))
}

/// A rung's picture for a `w`×`h` source: `height` tall (never taller),
/// the source's shape, both even.
pub fn scaled(w: u32, h: u32, height: u32) -> (u32, u32) {
    let rh = height.min(h) & !1;
    (((u64::from(w) * u64::from(rh) / u64::from(h.max(1))) as u32 + 1) & !1, rh)
}

fn open_encoder(rung: Rung, src: &frame::Video) -> Result<Encoding, String> {
    let (enc, scaler) = rung_encoder(rung, src)?;
    Ok(Encoding { enc, scaler, waiting: false, sent_config: false })
}

/// x264 and a scaler for `rung` below pictures like `src`: the settings
/// every rung has, live or for a replay (keyframes only where forced).
pub(super) fn rung_encoder(rung: Rung, src: &frame::Video) -> Result<(encoder::Video, scaling::Context), String> {
    let (w, h) = scaled(src.width(), src.height(), rung.height);
    let codec = encoder::find_by_name("libx264").ok_or("no libx264 in this FFmpeg")?;
    let mut enc = codec::context::Context::new_with_codec(codec).encoder().video().map_err(|e| e.to_string())?;
    enc.set_width(w);
    enc.set_height(h);
    enc.set_format(Pixel::YUV420P);
    enc.set_time_base(Rational(1, 1000));
    // Keyframes only where the source has one (forced below).
    enc.set_gop(100_000);
    enc.set_bit_rate(rung.kbps as usize * 1000);
    enc.set_max_bit_rate(rung.kbps as usize * 1000 * 3 / 2);
    enc.set_flags(codec::Flags::GLOBAL_HEADER);
    let mut opts = Dictionary::new();
    opts.set("preset", "veryfast");
    opts.set("tune", "zerolatency");
    opts.set("x264-params", "scenecut=0:forced-idr=1:open-gop=0");
    let enc = enc.open_with(opts).map_err(|e| format!("opening libx264 for {}: {e}", rung.name))?;
    let scaler = scaling::Context::get(src.format(), src.width(), src.height(), Pixel::YUV420P, w, h, scaling::Flags::BILINEAR).map_err(|e| e.to_string())?;
    Ok((enc, scaler))
}

fn encode(e: &mut Encoding, src: &frame::Video, key: bool, fan: &Fanout, acfg: Option<&Media>) -> Result<(), String> {
    let mut out = frame::Video::empty();
    e.scaler.run(src, &mut out).map_err(|err| err.to_string())?;
    out.set_pts(src.pts().or(src.timestamp()));
    out.set_kind(if key { picture::Type::I } else { picture::Type::None });
    e.enc.send_frame(&out).map_err(|err| err.to_string())?;
    let mut pkt = Packet::empty();
    while e.enc.receive_packet(&mut pkt).is_ok() {
        if !e.sent_config {
            // SAFETY: extradata of an opened encoder: `extradata_size` bytes.
            let extra = unsafe {
                let c = e.enc.as_ptr();
                std::slice::from_raw_parts((*c).extradata, (*c).extradata_size.max(0) as usize).to_vec()
            };
            let Some(avcc) = avcc_from_annexb(&extra) else { return Err("libx264 gave no SPS/PPS".into()) };
            fan.push(&Media::VideoConfig(avcc));
            if let Some(a) = acfg {
                fan.push(a);
            }
            e.sent_config = true;
        }
        let Some(data) = pkt.data() else { continue };
        let dts = pkt.dts().unwrap_or(0);
        let pts = pkt.pts().unwrap_or(dts);
        let nals = annexb_to_lengths(data);
        fan.push(&Media::Video { dts_ms: dts.max(0) as u32, cts_ms: (pts - dts) as i32, keyframe: pkt.is_key(), data: nals });
    }
    Ok(())
}

/// The NAL units of an Annex B stream (start codes removed).
fn nal_units(b: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= b.len() {
        if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(b.len(), |n| n - 3);
        // A four-byte start code leaves a zero before the next three.
        while end > s && b[end - 1] == 0 && k + 1 < starts.len() {
            end -= 1;
        }
        out.push(&b[s..end]);
    }
    out
}

/// Annex B -> 4-byte length-prefixed NAL units (what FLV and MP4 carry).
fn annexb_to_lengths(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 16);
    for n in nal_units(b) {
        out.extend_from_slice(&(n.len() as u32).to_be_bytes());
        out.extend_from_slice(n);
    }
    out
}

/// An `AVCDecoderConfigurationRecord` from Annex B SPS and PPS.
fn avcc_from_annexb(b: &[u8]) -> Option<Vec<u8>> {
    let nals = nal_units(b);
    let sps = nals.iter().find(|n| n.first().is_some_and(|h| h & 0x1f == 7))?;
    let pps = nals.iter().find(|n| n.first().is_some_and(|h| h & 0x1f == 8))?;
    if sps.len() < 4 {
        return None;
    }
    let mut r = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    r.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    r.extend_from_slice(sps);
    r.push(1);
    r.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    r.extend_from_slice(pps);
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ladder_names_its_rungs_tallest_first() {
        assert_eq!(parse("audio,360p,source,720p,360p").unwrap().iter().map(|r| r.name).collect::<Vec<_>>(), ["720p", "360p", "audio"]);
        assert!(parse("4k").is_err());
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn annex_b_to_avcc() {
        let b = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 9, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 1, 2];
        let units = nal_units(&b);
        assert_eq!(units, vec![&[0x67, 0x42, 0xc0, 0x1e, 9][..], &[0x68, 0xce][..], &[0x65, 1, 2][..]]);
        let c = avcc_from_annexb(&b).unwrap();
        assert_eq!(&c[..8], &[1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 5]);
        assert_eq!(annexb_to_lengths(&[0, 0, 1, 0x65, 7]), vec![0, 0, 0, 2, 0x65, 7]);
        assert_eq!(scaled(854, 480, 360), (640, 360));
        assert_eq!(scaled(1280, 720, 1080), (1280, 720));
    }
}
