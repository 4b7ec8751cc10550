//! A fragmented-MP4 writer for the low-latency path, sans IO: access units
//! in ([`Muxer::push`]), bytes out. An init segment (`ftyp` + `moov` with
//! `avcC` and an AAC `esds`, empty sample tables, `mvex`) then one
//! `moof` + `mdat` per frame, so a frame leaves the relay the moment it
//! arrives and Media Source Extensions (or FFmpeg's mov demuxer) play it.
//!
//! Written here rather than with FFmpeg's mov muxer because the muxer would
//! sit on a blocking thread with a custom IO callback and a flush per
//! packet just to produce ~100 bytes of headers per frame; these boxes are
//! a few dozen lines, need no thread, and the bytes of each fragment are
//! shared by every viewer. ffprobe reads the output (see the tests).
//!
//! Every fragment carries its own decode time (`tfdt`), so a viewer that
//! joins at any keyframe can start there. A sample's duration is not known
//! until the next one arrives; rather than hold each frame back, the video
//! duration is the previous frame interval (players use `tfdt` for the next
//! fragment anyway) and AAC frames are always 1024 samples.

use onair_ingest::Media;

/// Track ids in the init segment.
const VIDEO: u32 = 1;
const AUDIO: u32 = 2;
/// Video timescale (the FLV millisecond clock × 90).
const VIDEO_TS: u32 = 90_000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Fmp4Error {
    #[error("AVC decoder configuration too short ({0} bytes)")]
    BadAvcc(usize),
    #[error("AAC AudioSpecificConfig is malformed ({0} bytes)")]
    BadAsc(usize),
}

/// What one pushed access unit produced.
#[derive(Debug, PartialEq)]
pub enum Out {
    /// Nothing to send (a configuration record, or a sample before the init).
    Nothing,
    /// A (new) init segment; viewers need it before any fragment.
    Init(Vec<u8>),
    /// An init segment built on the first sample, then that sample's fragment.
    InitAndFragment(Vec<u8>, Vec<u8>, bool),
    /// `moof` + `mdat` for one sample; `true` if it is a video keyframe.
    Fragment(Vec<u8>, bool),
}

#[derive(Default)]
pub struct Muxer {
    video_config: Option<Vec<u8>>,
    audio_config: Option<Vec<u8>>,
    /// Tracks the current init segment declares.
    has_video: bool,
    has_audio: bool,
    init_built: bool,
    seq: u32,
    last_video_dts: Option<u32>,
    video_dur: u32,
    audio_rate: u32,
    next_audio: Option<u64>,
}

/// Sample rate and channel count from an AAC AudioSpecificConfig.
pub fn asc_info(asc: &[u8]) -> Result<(u8, u32, u16), Fmp4Error> {
    const RATES: [u32; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
    if asc.len() < 2 || asc.len() > 64 {
        return Err(Fmp4Error::BadAsc(asc.len()));
    }
    let aot = asc[0] >> 3;
    let idx = ((asc[0] & 7) << 1) | (asc[1] >> 7);
    let ch = (asc[1] >> 3) & 0x0f;
    // Explicit 24-bit rates (index 15) are legal but never sent by RTMP encoders.
    let rate = *RATES.get(idx as usize).ok_or(Fmp4Error::BadAsc(asc.len()))?;
    Ok((aot, rate, u16::from(ch.max(1))))
}

/// The MSE type for these configurations, e.g.
/// `video/mp4; codecs="avc1.64001f,mp4a.40.2"`.
pub fn mime(video_config: Option<&[u8]>, audio_config: Option<&[u8]>) -> Option<String> {
    let v = video_config.filter(|c| c.len() >= 4)?;
    let mut codecs = format!("avc1.{:02x}{:02x}{:02x}", v[1], v[2], v[3]);
    if let Some(Ok((aot, _, _))) = audio_config.map(asc_info) {
        codecs.push_str(&format!(",mp4a.40.{aot}"));
    }
    Some(format!("video/mp4; codecs=\"{codecs}\""))
}

fn bx(kind: &[u8; 4], parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = 8 + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_be_bytes());
    b.extend_from_slice(kind);
    for p in parts {
        b.extend_from_slice(p);
    }
    b
}

/// A full box: version and 24-bit flags before the body.
fn fbx(kind: &[u8; 4], version: u8, flags: u32, parts: &[&[u8]]) -> Vec<u8> {
    let f = flags.to_be_bytes();
    let head = [version, f[1], f[2], f[3]];
    let mut all: Vec<&[u8]> = vec![&head];
    all.extend_from_slice(parts);
    bx(kind, &all)
}

const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

fn matrix() -> Vec<u8> {
    MATRIX.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

fn trak(id: u32, timescale: u32, handler: &[u8; 4], width: u32, height: u32, media_header: Vec<u8>, entry: Vec<u8>) -> Vec<u8> {
    let audio = handler == b"soun";
    let mut tkhd = Vec::new();
    tkhd.extend_from_slice(&[0; 8]); // creation, modification
    tkhd.extend_from_slice(&be32(id));
    tkhd.extend_from_slice(&[0; 4]); // reserved
    tkhd.extend_from_slice(&[0; 4]); // duration: unknown (fragmented)
    tkhd.extend_from_slice(&[0; 8]); // reserved
    tkhd.extend_from_slice(&[0, 0, 0, 0]); // layer, alternate group
    tkhd.extend_from_slice(&[if audio { 1 } else { 0 }, 0, 0, 0]); // volume, reserved
    tkhd.extend_from_slice(&matrix());
    tkhd.extend_from_slice(&be32(width << 16));
    tkhd.extend_from_slice(&be32(height << 16));
    let tkhd = fbx(b"tkhd", 0, 3, &[&tkhd]);

    let mut mdhd = vec![0u8; 8];
    mdhd.extend_from_slice(&be32(timescale));
    mdhd.extend_from_slice(&[0; 4]);
    mdhd.extend_from_slice(&[0x55, 0xc4, 0, 0]); // "und", pre_defined
    let mdhd = fbx(b"mdhd", 0, 0, &[&mdhd]);
    let name: &[u8] = if audio { b"SoundHandler\0" } else { b"VideoHandler\0" };
    let hdlr = fbx(b"hdlr", 0, 0, &[&[0; 4], handler, &[0; 12], name]);

    let url = fbx(b"url ", 0, 1, &[]);
    let dinf = bx(b"dinf", &[&fbx(b"dref", 0, 0, &[&be32(1), &url])]);
    let stsd = fbx(b"stsd", 0, 0, &[&be32(1), &entry]);
    let empty = be32(0);
    let stbl = bx(
        b"stbl",
        &[&stsd, &fbx(b"stts", 0, 0, &[&empty]), &fbx(b"stsc", 0, 0, &[&empty]), &fbx(b"stsz", 0, 0, &[&empty, &empty]), &fbx(b"stco", 0, 0, &[&empty])],
    );
    let minf = bx(b"minf", &[&media_header, &dinf, &stbl]);
    let mdia = bx(b"mdia", &[&mdhd, &hdlr, &minf]);
    bx(b"trak", &[&tkhd, &mdia])
}

fn avc1(avcc: &[u8]) -> Vec<u8> {
    let (w, h) = onair_ingest::flv::avcc_parameter_sets(avcc)
        .ok()
        .and_then(|sets| sets.first().and_then(|sps| onair_ingest::sps::sps_dimensions(sps)))
        .unwrap_or((0, 0));
    let mut e = vec![0u8; 6];
    e.extend_from_slice(&1u16.to_be_bytes()); // data reference index
    e.extend_from_slice(&[0; 16]); // pre_defined, reserved
    e.extend_from_slice(&(w as u16).to_be_bytes());
    e.extend_from_slice(&(h as u16).to_be_bytes());
    e.extend_from_slice(&be32(0x0048_0000));
    e.extend_from_slice(&be32(0x0048_0000));
    e.extend_from_slice(&[0; 4]);
    e.extend_from_slice(&1u16.to_be_bytes()); // frame count
    e.extend_from_slice(&[0; 32]); // compressor name
    e.extend_from_slice(&[0x00, 0x18, 0xff, 0xff]); // depth, pre_defined = -1
    bx(b"avc1", &[&e, &bx(b"avcC", &[avcc])])
}

fn mp4a(asc: &[u8], rate: u32, channels: u16) -> Vec<u8> {
    let mut e = vec![0u8; 6];
    e.extend_from_slice(&1u16.to_be_bytes());
    e.extend_from_slice(&[0; 8]);
    e.extend_from_slice(&channels.to_be_bytes());
    e.extend_from_slice(&16u16.to_be_bytes());
    e.extend_from_slice(&[0; 4]);
    // 16.16 fixed point; rates above 65535 Hz do not fit and read as 0 —
    // players take the rate from the AudioSpecificConfig.
    e.extend_from_slice(&be32(if rate < 65536 { rate << 16 } else { 0 }));
    // ES_Descriptor ⊃ DecoderConfigDescriptor ⊃ DecoderSpecificInfo (the
    // ASC), then the SLConfigDescriptor. `asc_info` bounds the ASC at 64
    // bytes, so every length fits one byte.
    let dsi = [&[0x05, asc.len() as u8][..], asc].concat();
    let mut dcd = vec![0x04, (13 + dsi.len()) as u8, 0x40, 0x15, 0, 0, 0];
    dcd.extend_from_slice(&[0; 8]); // max and average bitrate: unknown
    dcd.extend_from_slice(&dsi);
    let sl = [0x06, 1, 2];
    let mut es = vec![0x03, (3 + dcd.len() + sl.len()) as u8, 0, 0, 0];
    es.extend_from_slice(&dcd);
    es.extend_from_slice(&sl);
    bx(b"mp4a", &[&e, &fbx(b"esds", 0, 0, &[&es])])
}

impl Muxer {
    /// The MSE type of what this muxer writes, once the video config is known.
    pub fn mime(&self) -> Option<String> {
        mime(self.video_config.as_deref(), self.audio_config.as_deref())
    }

    fn init(&mut self) -> Result<Vec<u8>, Fmp4Error> {
        let ftyp = bx(b"ftyp", &[b"isom", &be32(0x200), b"isom", b"iso5", b"iso6", b"avc1", b"mp41"]);
        let mut mvhd = vec![0u8; 8];
        mvhd.extend_from_slice(&be32(1000));
        mvhd.extend_from_slice(&[0; 4]);
        mvhd.extend_from_slice(&be32(0x0001_0000)); // rate
        mvhd.extend_from_slice(&[1, 0]); // volume
        mvhd.extend_from_slice(&[0; 10]);
        mvhd.extend_from_slice(&matrix());
        mvhd.extend_from_slice(&[0; 24]);
        mvhd.extend_from_slice(&be32(3)); // next track id
        let mut moov = vec![fbx(b"mvhd", 0, 0, &[&mvhd])];
        let mut trex = Vec::new();
        self.has_video = false;
        self.has_audio = false;
        if let Some(c) = &self.video_config {
            if c.len() < 7 {
                return Err(Fmp4Error::BadAvcc(c.len()));
            }
            let entry = avc1(c);
            // Width and height sit at fixed offsets in the sample entry.
            let w = u32::from(u16::from_be_bytes([entry[32], entry[33]]));
            let h = u32::from(u16::from_be_bytes([entry[34], entry[35]]));
            let vmhd = fbx(b"vmhd", 0, 1, &[&[0; 8]]);
            moov.push(trak(VIDEO, VIDEO_TS, b"vide", w, h, vmhd, entry));
            trex.push(fbx(b"trex", 0, 0, &[&be32(VIDEO), &be32(1), &[0; 12]]));
            self.has_video = true;
        }
        if let Some(c) = &self.audio_config {
            let (_, rate, ch) = asc_info(c)?;
            self.audio_rate = rate;
            let smhd = fbx(b"smhd", 0, 0, &[&[0; 4]]);
            moov.push(trak(AUDIO, rate, b"soun", 0, 0, smhd, mp4a(c, rate, ch)));
            trex.push(fbx(b"trex", 0, 0, &[&be32(AUDIO), &be32(1), &[0; 12]]));
            self.has_audio = true;
        }
        let trex: Vec<&[u8]> = trex.iter().map(|t| t.as_slice()).collect();
        moov.push(bx(b"mvex", &trex));
        let parts: Vec<&[u8]> = moov.iter().map(|t| t.as_slice()).collect();
        self.init_built = true;
        Ok([ftyp, bx(b"moov", &parts)].concat())
    }

    fn fragment(&mut self, track: u32, base: u64, dur: u32, cts: i32, flags: u32, data: &[u8]) -> Vec<u8> {
        self.seq = self.seq.wrapping_add(1);
        let mfhd = fbx(b"mfhd", 0, 0, &[&be32(self.seq)]);
        // default-base-is-moof: data offsets count from this moof.
        let tfhd = fbx(b"tfhd", 0, 0x02_0000, &[&be32(track)]);
        let tfdt = fbx(b"tfdt", 1, 0, &[&base.to_be_bytes()]);
        // trun: data offset, duration, size, flags, composition offset (v1: signed).
        const TRUN_LEN: usize = 12 + 4 + 4 + 16;
        let moof_len = 8 + mfhd.len() + 8 + tfhd.len() + tfdt.len() + TRUN_LEN;
        let sample = [be32(dur), be32(data.len() as u32), be32(flags), cts.to_be_bytes()].concat();
        let trun = fbx(b"trun", 1, 0x0f01, &[&be32(1), &((moof_len + 8) as u32).to_be_bytes(), &sample]);
        debug_assert_eq!(trun.len(), TRUN_LEN);
        let traf = bx(b"traf", &[&tfhd, &tfdt, &trun]);
        let moof = bx(b"moof", &[&mfhd, &traf]);
        let mut out = Vec::with_capacity(moof.len() + 8 + data.len());
        out.extend_from_slice(&moof);
        out.extend_from_slice(&((8 + data.len()) as u32).to_be_bytes());
        out.extend_from_slice(b"mdat");
        out.extend_from_slice(data);
        out
    }

    /// Feeds one access unit from the ingest.
    pub fn push(&mut self, m: &Media) -> Result<Out, Fmp4Error> {
        match m {
            Media::VideoConfig(c) | Media::AudioConfig(c) => {
                let slot = if matches!(m, Media::VideoConfig(_)) { &mut self.video_config } else { &mut self.audio_config };
                if slot.as_deref() == Some(c.as_slice()) {
                    return Ok(Out::Nothing);
                }
                *slot = Some(c.clone());
                // Before the first sample, wait for the other config; after
                // it, viewers need the new init before the next fragment.
                if self.init_built {
                    return Ok(Out::Init(self.init()?));
                }
                Ok(Out::Nothing)
            }
            Media::Video { dts_ms, cts_ms, keyframe, data } => {
                let init = if !self.init_built { Some(self.init()?) } else { None };
                if !self.has_video {
                    return Ok(init.map_or(Out::Nothing, Out::Init));
                }
                if let Some(prev) = self.last_video_dts {
                    let d = dts_ms.wrapping_sub(prev);
                    if d > 0 && d < 1000 {
                        self.video_dur = d * (VIDEO_TS / 1000);
                    }
                }
                self.last_video_dts = Some(*dts_ms);
                let dur = if self.video_dur == 0 { VIDEO_TS / 30 } else { self.video_dur };
                let flags = if *keyframe { 0x0200_0000 } else { 0x0101_0000 };
                let cts = cts_ms.saturating_mul((VIDEO_TS / 1000) as i32);
                let f = self.fragment(VIDEO, u64::from(*dts_ms) * u64::from(VIDEO_TS / 1000), dur, cts, flags, data);
                Ok(match init {
                    Some(i) => Out::InitAndFragment(i, f, *keyframe),
                    None => Out::Fragment(f, *keyframe),
                })
            }
            Media::Audio { ts_ms, data } => {
                let init = if !self.init_built { Some(self.init()?) } else { None };
                if !self.has_audio {
                    return Ok(init.map_or(Out::Nothing, Out::Init));
                }
                let rate = u64::from(self.audio_rate);
                let at = u64::from(*ts_ms) * rate / 1000;
                // Millisecond stamps jitter by up to a ms: keep the sample
                // clock continuous unless the stream really jumped.
                let base = match self.next_audio {
                    Some(n) if at.abs_diff(n) < 512 => n,
                    _ => at,
                };
                self.next_audio = Some(base + 1024);
                let f = self.fragment(AUDIO, base, 1024, 0, 0x0200_0000, data);
                Ok(match init {
                    Some(i) => Out::InitAndFragment(i, f, false),
                    None => Out::Fragment(f, false),
                })
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A real avcC (x264 baseline 320x240) and a 44.1 kHz stereo AAC-LC ASC.
    pub const AVCC: [u8; 40] = [
        0x01, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0x00, 0x18, 0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03,
        0x03, 0xc0, 0xf1, 0x42, 0xa4, 0x80, 0x01, 0x00, 0x05, 0x68, 0xcb, 0x83, 0xcb, 0x20,
    ];
    pub const ASC: [u8; 2] = [0x12, 0x10];

    fn boxes(mut b: &[u8]) -> Vec<(String, usize)> {
        let mut v = Vec::new();
        while b.len() >= 8 {
            let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            v.push((String::from_utf8_lossy(&b[4..8]).into_owned(), n));
            b = &b[n.min(b.len())..];
        }
        v
    }

    #[test]
    fn codec_string_and_asc() {
        assert_eq!(asc_info(&ASC), Ok((2, 44100, 2)));
        assert!(asc_info(&[0x12]).is_err());
        assert!(asc_info(&[0x17, 0x80]).is_err(), "rate index 14 is reserved");
        assert_eq!(mime(Some(&AVCC), Some(&ASC)).unwrap(), "video/mp4; codecs=\"avc1.42c00d,mp4a.40.2\"");
        assert_eq!(mime(Some(&AVCC), None).unwrap(), "video/mp4; codecs=\"avc1.42c00d\"");
        assert_eq!(mime(None, Some(&ASC)), None);
    }

    #[test]
    fn init_then_one_fragment_per_sample() {
        let mut m = Muxer::default();
        assert_eq!(m.push(&Media::VideoConfig(AVCC.to_vec())), Ok(Out::Nothing));
        assert_eq!(m.push(&Media::AudioConfig(ASC.to_vec())), Ok(Out::Nothing));
        let Ok(Out::InitAndFragment(init, frag, true)) = m.push(&Media::Video { dts_ms: 40, cts_ms: 0, keyframe: true, data: vec![0, 0, 0, 1, 0x65] }) else {
            panic!("first sample builds the init")
        };
        assert_eq!(boxes(&init), [("ftyp".into(), 36), ("moov".into(), init.len() - 36)]);
        let text = String::from_utf8_lossy(&init);
        for b in ["avcC", "esds", "mvex", "trex", "avc1", "mp4a"] {
            assert!(text.contains(b), "{b} missing");
        }
        // Width and height came from the SPS.
        // (The last "avc1": the first is a brand in ftyp.)
        let at = init.windows(4).rposition(|w| w == b"avc1").unwrap() + 4;
        assert_eq!(&init[at + 24..at + 28], &[1, 0x40, 0, 0xf0]);
        assert_eq!(boxes(&frag).iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["moof", "mdat"]);
        // The trun's data offset points at the sample bytes.
        let moof_len = boxes(&frag)[0].1;
        let t = frag.windows(4).position(|w| w == b"trun").unwrap();
        let off = u32::from_be_bytes(frag[t + 12..t + 16].try_into().unwrap()) as usize;
        assert_eq!(off, moof_len + 8);
        assert_eq!(&frag[off..], &[0, 0, 0, 1, 0x65]);
        let Ok(Out::Fragment(f, false)) = m.push(&Media::Audio { ts_ms: 41, data: vec![1, 2] }) else { panic!() };
        assert!(f.ends_with(&[1, 2]));
        assert!(matches!(m.push(&Media::Video { dts_ms: 73, cts_ms: 0, keyframe: false, data: vec![9] }), Ok(Out::Fragment(_, false))));
        // The same config again changes nothing; a new one is a new init.
        assert_eq!(m.push(&Media::AudioConfig(ASC.to_vec())), Ok(Out::Nothing));
        assert!(matches!(m.push(&Media::AudioConfig(vec![0x11, 0x90])), Ok(Out::Init(_))));
    }

    #[test]
    fn audio_clock_stays_continuous_through_ms_jitter() {
        let mut m = Muxer::default();
        m.push(&Media::AudioConfig(ASC.to_vec())).unwrap();
        m.push(&Media::VideoConfig(AVCC.to_vec())).unwrap();
        let base = |f: &[u8]| {
            let t = f.windows(4).position(|w| w == b"tfdt").unwrap();
            u64::from_be_bytes(f[t + 8..t + 16].try_into().unwrap())
        };
        let mut got = Vec::new();
        for ts in [0u32, 23, 46, 70, 93] {
            match m.push(&Media::Audio { ts_ms: ts, data: vec![0] }).unwrap() {
                Out::InitAndFragment(_, f, _) | Out::Fragment(f, _) => got.push(base(&f)),
                o => panic!("{o:?}"),
            }
        }
        assert_eq!(got, [0, 1024, 2048, 3072, 4096]);
        // A real jump (a publisher pause) is followed, not smoothed over.
        let Out::Fragment(f, _) = m.push(&Media::Audio { ts_ms: 2000, data: vec![0] }).unwrap() else { panic!() };
        assert_eq!(base(&f), 88200);
    }

    #[test]
    fn garbage_configs_are_errors_not_panics() {
        let mut m = Muxer::default();
        m.push(&Media::VideoConfig(vec![1, 2])).unwrap();
        assert_eq!(m.push(&Media::Video { dts_ms: 0, cts_ms: 0, keyframe: true, data: vec![] }), Err(Fmp4Error::BadAvcc(2)));
        let mut m = Muxer::default();
        m.push(&Media::AudioConfig(vec![0xff])).unwrap();
        assert!(m.push(&Media::Audio { ts_ms: 0, data: vec![] }).is_err());
        // Garbage SPS inside a long-enough avcC: size 0x0, still no panic.
        let mut m = Muxer::default();
        m.push(&Media::VideoConfig(vec![1, 0x42, 0, 0x1e, 0xff, 0xe1, 0, 50, 1])).unwrap();
        assert!(m.push(&Media::Video { dts_ms: 0, cts_ms: 0, keyframe: true, data: vec![] }).is_ok());
    }
}
