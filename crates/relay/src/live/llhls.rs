//! Low-latency HLS (RFC 8216bis) from the fragmented-MP4 path, sans IO and
//! in memory: the fan-out's per-frame `moof`+`mdat` fragments are grouped
//! into **parts** of about 200 ms and **segments** that start at keyframes,
//! and the playlists are written from that on request. Nothing touches the
//! disk: a part exists the moment its last frame is in.
//!
//! - `ll.m3u8`: the media playlist: `EXT-X-PART-INF`, `EXT-X-SERVER-CONTROL`
//!   with `CAN-BLOCK-RELOAD` and `PART-HOLD-BACK`, the parts of the newest
//!   segments, and a preload hint for the part being filled. Players that
//!   do not know the low-latency tags read it as an ordinary fMP4 playlist.
//! - `index.m3u8`: the multivariant playlist (one rung today: the source)
//!   with `BANDWIDTH`, `RESOLUTION` and `CODECS`.
//! - `init.mp4`, `seg.MSN.m4s`, `part.MSN.N.m4s`: never change once made.
//!
//! Blocking playlist reload (`_HLS_msn`, `_HLS_part`) and the preload hint
//! are answered by waiting on [`LlHls::changed`] in the route.

use axum::body::Bytes;
use std::collections::VecDeque;

/// A part closes at the first sample at least this far past its start.
const PART_MS: i64 = 190;
/// Advertised part target (s): every part is shorter at ≥ 17 fps.
pub const PART_TARGET: f64 = 0.25;
/// Finished segments kept (the playlist's window).
const KEEP: usize = 8;
/// Segments whose parts are listed (the spec asks for those within three
/// target durations of the end).
const PARTS_OF_LAST: usize = 3;
/// Without video, a segment ends every this many ms.
const AUDIO_SEGMENT_MS: i64 = 1000;

#[derive(Debug, Clone)]
struct Part {
    data: Bytes,
    dur_ms: i64,
    independent: bool,
}

#[derive(Debug, Clone)]
struct Segment {
    msn: u64,
    dur_ms: i64,
    parts: Vec<Part>,
}

/// What a request for a part or a segment finds.
#[derive(Debug, PartialEq)]
pub enum Lookup {
    Ready(Bytes),
    /// Not yet made, but next: worth waiting for.
    Soon,
    Gone,
}

#[derive(Debug, Default)]
pub struct LlHls {
    init: Option<Bytes>,
    done: VecDeque<Segment>,
    /// The segment being filled: its number, start, finished parts.
    cur_msn: u64,
    cur_start: Option<i64>,
    cur_parts: Vec<Part>,
    /// The part being filled.
    open: Vec<u8>,
    open_start: i64,
    open_independent: bool,
    /// Largest segment duration seen (ms), for EXT-X-TARGETDURATION.
    max_seg_ms: i64,
    /// Peak bits per second over a finished segment.
    peak_bps: u64,
    /// Bumped at every new part: what blocked requests wait on.
    pub version: u64,
    ended: bool,
    seen_video: bool,
    /// The newest sample's time (where an ended live's last part ends).
    last_t: i64,
}

impl LlHls {
    /// A new init segment (the publisher's configuration): what follows
    /// starts afresh.
    pub fn init(&mut self, init: Bytes) {
        let msn = self.cur_msn + u64::from(self.cur_start.is_some());
        *self = LlHls { init: Some(init), cur_msn: msn, version: self.version + 1, ..LlHls::default() };
    }

    /// One sample's fragment at decode time `t_ms`; `keyframe` for a video
    /// keyframe, `video` whether it is a video sample at all.
    pub fn push(&mut self, frag: &[u8], t_ms: i64, keyframe: bool, video: bool) {
        if self.init.is_none() || self.ended {
            return;
        }
        self.last_t = self.last_t.max(t_ms);
        let Some(start) = self.cur_start else {
            // A segment must start where a player can: a keyframe (or any
            // audio sample in a stream without video).
            if !keyframe && video {
                return;
            }
            self.seen_video |= video;
            self.cur_start = Some(t_ms);
            self.open_start = t_ms;
            self.open_independent = true;
            self.open.extend_from_slice(frag);
            return;
        };
        // An audio sample may have opened the first segment; video before
        // the first keyframe cannot be decoded (a player given it fails
        // with a decode error), so it is left out.
        if video && !keyframe && !self.seen_video {
            return;
        }
        self.seen_video |= video;
        let new_segment = if video { keyframe } else { !self.seen_video && t_ms - start >= AUDIO_SEGMENT_MS };
        if new_segment && !self.open.is_empty() {
            self.close_part(t_ms);
            self.close_segment(t_ms);
            self.cur_start = Some(t_ms);
            self.open_independent = true;
        } else if t_ms - self.open_start >= PART_MS && !self.open.is_empty() && (video || !self.seen_video) {
            self.close_part(t_ms);
            self.open_independent = keyframe;
        }
        if self.open.is_empty() {
            self.open_start = t_ms;
        }
        self.open.extend_from_slice(frag);
    }

    fn close_part(&mut self, t_ms: i64) {
        let data = Bytes::from(std::mem::take(&mut self.open));
        self.cur_parts.push(Part { data, dur_ms: (t_ms - self.open_start).max(1), independent: self.open_independent });
        self.open_start = t_ms;
        self.version += 1;
    }

    fn close_segment(&mut self, t_ms: i64) {
        let start = self.cur_start.unwrap_or(t_ms);
        let dur_ms = (t_ms - start).max(1);
        let parts = std::mem::take(&mut self.cur_parts);
        let bytes: usize = parts.iter().map(|p| p.data.len()).sum();
        self.peak_bps = self.peak_bps.max(bytes as u64 * 8 * 1000 / dur_ms as u64);
        self.max_seg_ms = self.max_seg_ms.max(dur_ms);
        self.done.push_back(Segment { msn: self.cur_msn, dur_ms, parts });
        while self.done.len() > KEEP {
            self.done.pop_front();
        }
        self.cur_msn += 1;
    }

    /// The live ended: the open part and segment close (a frame after the
    /// newest sample), and the playlist gets `EXT-X-ENDLIST`.
    pub fn end_now(&mut self) {
        self.end(self.last_t + 33);
    }

    pub fn end(&mut self, t_ms: i64) {
        if !self.open.is_empty() {
            self.close_part(t_ms.max(self.open_start + 1));
        }
        if !self.cur_parts.is_empty() {
            self.close_segment(t_ms.max(self.open_start + 1));
        }
        self.ended = true;
        self.version += 1;
    }

    pub fn init_segment(&self) -> Option<Bytes> {
        self.init.clone()
    }

    /// Whether the playlist has a whole segment: players that know nothing
    /// of parts (FFmpeg's) need one to start.
    pub fn ready(&self) -> bool {
        self.init.is_some() && (!self.done.is_empty() || self.ended)
    }

    /// Whether segment `msn`'s part `part` (or the whole segment, for
    /// `None`) is in the playlist now.
    pub fn has(&self, msn: u64, part: Option<usize>) -> bool {
        if self.ended {
            return true;
        }
        match part {
            None => self.done.back().is_some_and(|s| s.msn >= msn),
            Some(p) => self.done.back().is_some_and(|s| s.msn > msn || (s.msn == msn && p < s.parts.len())) || (self.cur_msn == msn && p < self.cur_parts.len()) || self.cur_msn > msn,
        }
    }

    /// The next media sequence number a request may block on (one past
    /// the newest part's segment, and two more).
    pub fn too_far(&self, msn: u64) -> bool {
        msn > self.cur_msn + 2
    }

    pub fn part(&self, msn: u64, n: usize) -> Lookup {
        if let Some(s) = self.done.iter().find(|s| s.msn == msn) {
            return s.parts.get(n).map_or(Lookup::Gone, |p| Lookup::Ready(p.data.clone()));
        }
        if msn == self.cur_msn {
            return match self.cur_parts.get(n) {
                Some(p) => Lookup::Ready(p.data.clone()),
                None if n <= self.cur_parts.len() + 1 && !self.ended => Lookup::Soon,
                None => Lookup::Gone,
            };
        }
        if msn == self.cur_msn + 1 && n == 0 && !self.ended {
            return Lookup::Soon;
        }
        Lookup::Gone
    }

    pub fn segment(&self, msn: u64) -> Lookup {
        match self.done.iter().find(|s| s.msn == msn) {
            Some(s) => Lookup::Ready(Bytes::from(s.parts.iter().map(|p| p.data.as_ref()).collect::<Vec<&[u8]>>().concat())),
            None if msn == self.cur_msn && !self.ended => Lookup::Soon,
            None => Lookup::Gone,
        }
    }

    /// RFC 8216bis 4.4.3.1: each EXTINF *rounded to the nearest integer*
    /// is at most the target. Rounding up instead made a source with 1 s
    /// GOPs and a 1.1 s segment announce 2 s, which doubles hls.js's
    /// latency allowance after a stall and the HOLD-BACK.
    fn target_secs(&self) -> u64 {
        ((self.max_seg_ms.max(1000) as u64) + 500) / 1000
    }

    /// The media playlist; `query` is appended to every URI (a private
    /// room's ticket, already URL-safe).
    pub fn media_playlist(&self, query: &str) -> String {
        use std::fmt::Write;
        let target = self.target_secs();
        let mut out = String::with_capacity(2048);
        let first = self.done.front().map_or(self.cur_msn, |s| s.msn);
        let _ = write!(
            out,
            "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-PART-INF:PART-TARGET={PART_TARGET:.3}\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={:.3},HOLD-BACK={:.3}\n#EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4{query}\"\n",
            3.0 * PART_TARGET,
            3.0 * target as f64
        );
        let list_parts_from = self.done.len().saturating_sub(PARTS_OF_LAST);
        for (i, s) in self.done.iter().enumerate() {
            if i >= list_parts_from {
                parts(&mut out, s.msn, &s.parts, query);
            }
            let _ = write!(out, "#EXTINF:{:.3},\nseg.{}.m4s{query}\n", s.dur_ms as f64 / 1000.0, s.msn);
        }
        if self.ended {
            out.push_str("#EXT-X-ENDLIST\n");
            return out;
        }
        parts(&mut out, self.cur_msn, &self.cur_parts, query);
        let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part.{}.{}.m4s{query}\"", self.cur_msn, self.cur_parts.len());
        out
    }

    /// Peak bits per second of a finished segment (0 before the first).
    pub fn bandwidth(&self) -> u64 {
        self.peak_bps
    }
}

/// One rendition in the multivariant playlist.
pub struct Variant {
    /// `ll.m3u8` for the source, `360p/ll.m3u8` for a rung.
    pub uri: String,
    pub name: String,
    /// Measured peak (bits/s), or the encoder's target before a segment.
    pub bandwidth: u64,
    pub size: Option<(u32, u32)>,
    /// The MSE type (`video/mp4; codecs="…"`), when known.
    pub mime: Option<String>,
}

/// The multivariant playlist: every rendition, tallest first; `query` is
/// appended to every URI.
pub fn multivariant(variants: &[Variant], query: &str) -> String {
    use std::fmt::Write;
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for v in variants {
        let codecs = v.mime.as_deref().and_then(|m| m.split("codecs=\"").nth(1)).and_then(|c| c.split('"').next()).unwrap_or("avc1.64001f,mp4a.40.2");
        // Before a whole segment has been seen, a guess a player can start with.
        let bw = if v.bandwidth > 0 { v.bandwidth } else { 2_500_000 };
        let res = v.size.map(|(w, h)| format!(",RESOLUTION={w}x{h}")).unwrap_or_default();
        let _ = write!(out, "#EXT-X-STREAM-INF:BANDWIDTH={bw}{res},CODECS=\"{codecs}\",NAME=\"{}\"\n{}{query}\n", v.name, v.uri);
    }
    out
}

fn parts(out: &mut String, msn: u64, list: &[Part], query: &str) {
    use std::fmt::Write;
    for (n, p) in list.iter().enumerate() {
        let ind = if p.independent { ",INDEPENDENT=YES" } else { "" };
        let _ = writeln!(out, "#EXT-X-PART:DURATION={:.3},URI=\"part.{msn}.{n}.m4s{query}\"{ind}", p.dur_ms as f64 / 1000.0);
    }
}

/// `seg.MSN.m4s` -> MSN; `part.MSN.N.m4s` -> (MSN, N).
pub fn parse_name(file: &str) -> Option<(u64, Option<usize>)> {
    let body = file.strip_suffix(".m4s")?;
    if let Some(m) = body.strip_prefix("seg.") {
        return Some((m.parse().ok()?, None));
    }
    let (m, n) = body.strip_prefix("part.")?.split_once('.')?;
    Some((m.parse().ok()?, Some(n.parse().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(h: &mut LlHls, from: i64, n: i64, gop: i64) {
        for i in from..from + n {
            let t = i * 33;
            h.push(&[i as u8], t, i % gop == 0, true);
            if i % 3 == 0 {
                h.push(&[0xaa], t + 5, false, false);
            }
        }
    }

    #[test]
    fn parts_of_200_ms_segments_at_keyframes() {
        let mut h = LlHls::default();
        h.push(b"x", 0, true, true);
        assert!(!h.ready(), "nothing before the init segment");
        h.init(Bytes::from_static(b"init"));
        frames(&mut h, 0, 95, 30);
        let pl = h.media_playlist("");
        assert!(pl.contains("#EXT-X-MAP:URI=\"init.mp4\""), "{pl}");
        assert!(pl.contains("CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.750"), "{pl}");
        // 95 frames at 30 per GOP: segments 0, 1, 2 done, 3 being filled.
        assert_eq!(pl.matches("#EXTINF:").count(), 3, "{pl}");
        assert!(pl.contains("seg.0.m4s") && pl.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part.3."), "{pl}");
        for line in pl.lines().filter(|l| l.starts_with("#EXT-X-PART:")) {
            let d: f64 = line["#EXT-X-PART:DURATION=".len()..].split(',').next().unwrap().parse().unwrap();
            assert!(d > 0.0 && d <= PART_TARGET, "{line}");
        }
        // The first part of each segment is independent (starts at a keyframe).
        assert!(pl.contains("URI=\"part.1.0.m4s\",INDEPENDENT=YES"), "{pl}");
        assert!(!pl.contains("URI=\"part.1.1.m4s\",INDEPENDENT"), "{pl}");
        // A segment is its parts, byte for byte.
        let Lookup::Ready(seg) = h.segment(1) else { panic!() };
        let mut joined = Vec::new();
        let mut n = 0;
        while let Lookup::Ready(p) = h.part(1, n) {
            joined.extend_from_slice(&p);
            n += 1;
        }
        assert_eq!(seg.to_vec(), joined);
        assert!((5..=6).contains(&n), "a 1 s segment has about five parts: {n}");
        // Blocking: segment 3 has no finished part yet; it and the next
        // are coming, further ones a request may not wait for.
        assert!(h.has(2, Some(0)) && h.has(2, None) && !h.has(3, Some(0)) && !h.has(3, None));
        assert_eq!(h.part(3, 0), Lookup::Soon);
        assert_eq!(h.part(4, 0), Lookup::Soon);
        assert!(h.too_far(6) && !h.too_far(5));
        assert_eq!(h.part(0, 99), Lookup::Gone);
    }

    #[test]
    fn the_window_slides_and_the_end_closes_it() {
        let mut h = LlHls::default();
        h.init(Bytes::from_static(b"init"));
        frames(&mut h, 0, 30 * 12, 30);
        let pl = h.media_playlist("?ticket=t");
        assert!(pl.contains(&format!("#EXT-X-MEDIA-SEQUENCE:{}", 11 - KEEP as u64)), "{pl}");
        assert_eq!(h.segment(0), Lookup::Gone);
        assert!(pl.contains("seg.10.m4s?ticket=t") && pl.contains("init.mp4?ticket=t"), "{pl}");
        h.end(30 * 12 * 33);
        let pl = h.media_playlist("");
        assert!(pl.ends_with("#EXT-X-ENDLIST\n") && !pl.contains("PRELOAD-HINT"), "{pl}");
        assert!(h.has(99, Some(0)), "an ended live blocks nobody");
        let mv = multivariant(&[Variant { uri: "ll.m3u8".into(), name: "source".into(), bandwidth: h.bandwidth(), size: Some((854, 480)), mime: Some("video/mp4; codecs=\"avc1.42c01e,mp4a.40.2\"".into()) }], "");
        assert!(mv.contains("RESOLUTION=854x480,CODECS=\"avc1.42c01e,mp4a.40.2\"") && mv.contains("BANDWIDTH="), "{mv}");
    }

    #[test]
    fn video_before_the_first_keyframe_is_left_out_after_audio_opened_the_segment() {
        let mut h = LlHls::default();
        h.init(Bytes::from_static(b"init"));
        // Joined mid-GOP: audio first, then inter frames, then a keyframe.
        h.push(b"A", 0, false, false);
        h.push(b"P", 10, false, true);
        h.push(b"P", 43, false, true);
        h.push(b"A", 21, false, false);
        frames(&mut h, 3, 60, 30);
        let mut first = Vec::new();
        let mut n = 0;
        while let Lookup::Ready(p) = h.part(0, n) {
            first.extend_from_slice(&p);
            n += 1;
        }
        assert!(first.len() >= 2 && first.iter().all(|&b| b == b'A' || b == 0xaa), "the audio-only lead segment holds no undecodable video: {first:?}");
        let Lookup::Ready(seg) = h.segment(1) else { panic!("segment 1") };
        assert_eq!(seg[0], 30, "the next segment starts at the keyframe");
    }

    #[test]
    fn names() {
        assert_eq!(parse_name("seg.12.m4s"), Some((12, None)));
        assert_eq!(parse_name("part.12.3.m4s"), Some((12, Some(3))));
        assert_eq!(parse_name("part.x.3.m4s"), None);
        assert_eq!(parse_name("seg.1.ts"), None);
    }
}
