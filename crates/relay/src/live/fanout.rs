//! The low-latency paths, pushed to viewers the moment the publisher's
//! message is parsed — no segmenting, no playlist — so latency is the
//! network plus the player's buffer:
//!
//! - HTTP-FLV (`/live/ROOM/live.flv`): each FLV tag rebuilt and sent;
//!   ffmpeg/ffplay read it directly, browsers need flv.js/mpegts.js.
//! - fragmented MP4 (`/live/ROOM/live.mp4`): an init segment, then one
//!   `moof`+`mdat` per frame ([`super::fmp4`]); what Media Source
//!   Extensions play in a browser or webview.
//!
//! A viewer joining mid-stream first gets the headers (FLV sequence headers
//! or the MP4 init segment) and the current GOP from its keyframe, so it can
//! decode at once. The bytes of a tag or fragment are made once and shared
//! by every viewer (a clone is a reference count).

use axum::body::Bytes;
use onair_ingest::Media;
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Tags queued per viewer before a slow viewer is cut off (it reconnects
/// and starts again at the latest keyframe): ~8 s at 30 fps plus audio.
const VIEWER_QUEUE: usize = 1024;
/// Bound on the GOP cache, whatever the publisher's keyframe interval.
const MAX_GOP_TAGS: usize = 4096;

/// Shared by every viewer: a clone is a reference count, not a copy.
pub type Tag = Bytes;

/// One format's viewers: what a joiner needs first, and the live feed.
struct Channel {
    tx: broadcast::Sender<Tag>,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    /// Sent before anything else (FLV: sequence headers; MP4: init segment).
    head: Vec<Tag>,
    gop: Vec<Tag>,
}

impl Default for Channel {
    fn default() -> Self {
        Channel { tx: broadcast::channel(VIEWER_QUEUE).0, cache: Mutex::new(Cache::default()) }
    }
}

impl Channel {
    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a media tag/fragment, keeping the GOP cache for joiners.
    fn send(&self, t: Tag, keyframe: bool) {
        let mut c = self.cache();
        if keyframe {
            c.gop.clear();
        }
        // Audio before the first keyframe is no use to a joining viewer.
        if (!c.gop.is_empty() || keyframe) && c.gop.len() < MAX_GOP_TAGS {
            c.gop.push(t.clone());
        }
        drop(c);
        // No viewers is not an error.
        let _ = self.tx.send(t);
    }

    /// Subscribing under the cache lock means no tag falls between the
    /// cached ones and the live ones.
    fn join(&self) -> (Vec<Tag>, broadcast::Receiver<Tag>) {
        let c = self.cache();
        let rx = self.tx.subscribe();
        let first = c.head.iter().chain(c.gop.iter()).cloned().collect();
        (first, rx)
    }
}

pub struct Fanout {
    flv: Channel,
    mp4: Channel,
    muxer: Mutex<super::fmp4::Muxer>,
    /// Set once the fMP4 muxer refused the publisher's configuration (logged once).
    mp4_failed: std::sync::atomic::AtomicBool,
    /// Low-latency HLS made of the same fragments ([`super::llhls`]).
    ll: Mutex<super::llhls::LlHls>,
    /// Its version, for requests that block until a part exists.
    ll_version: tokio::sync::watch::Sender<u64>,
    /// The picture's size, from the SPS (for the multivariant playlist).
    size: Mutex<Option<(u32, u32)>>,
}

impl Default for Fanout {
    fn default() -> Self {
        Fanout {
            flv: Channel::default(),
            mp4: Channel::default(),
            muxer: Mutex::default(),
            mp4_failed: Default::default(),
            ll: Mutex::default(),
            ll_version: tokio::sync::watch::channel(0).0,
            size: Mutex::new(None),
        }
    }
}

/// The FLV file header (audio + video) and the first PreviousTagSize.
pub const FLV_HEADER: [u8; 13] = [b'F', b'L', b'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0];

/// One FLV tag with its trailing PreviousTagSize.
pub fn tag(kind: u8, ts_ms: u32, body: &[&[u8]]) -> Vec<u8> {
    let len: usize = body.iter().map(|b| b.len()).sum();
    let mut t = Vec::with_capacity(15 + len);
    t.push(kind);
    t.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    t.extend_from_slice(&ts_ms.to_be_bytes()[1..]);
    t.push((ts_ms >> 24) as u8);
    t.extend_from_slice(&[0, 0, 0]);
    for b in body {
        t.extend_from_slice(b);
    }
    t.extend_from_slice(&((11 + len) as u32).to_be_bytes());
    t
}

/// Which low-latency format a viewer asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Flv,
    Mp4,
}

impl Fanout {
    fn muxer(&self) -> std::sync::MutexGuard<'_, super::fmp4::Muxer> {
        self.muxer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn channel(&self, f: Format) -> &Channel {
        match f {
            Format::Flv => &self.flv,
            Format::Mp4 => &self.mp4,
        }
    }

    /// Turns `m` into an FLV tag and an MP4 fragment and sends them to
    /// every viewer of each.
    pub fn push(&self, m: &Media) {
        self.push_flv(m);
        self.push_mp4(m);
    }

    fn push_flv(&self, m: &Media) {
        let (t, key) = match m {
            Media::VideoConfig(c) | Media::AudioConfig(c) => {
                let video = matches!(m, Media::VideoConfig(_));
                let t = if video { tag(9, 0, &[&[0x17, 0, 0, 0, 0], c]) } else { tag(8, 0, &[&[0xaf, 0], c]) };
                let t = Bytes::from(t);
                let mut cache = self.flv.cache();
                // Headers in a fixed order: video config first, then audio.
                cache.head.retain(|h| h[0] != if video { 9 } else { 8 });
                cache.head.push(t.clone());
                cache.head.sort_by_key(|h| std::cmp::Reverse(h[0]));
                drop(cache);
                let _ = self.flv.tx.send(t);
                return;
            }
            Media::Video { dts_ms, cts_ms, keyframe, data } => {
                let cts = cts_ms.to_be_bytes();
                let head = [if *keyframe { 0x17 } else { 0x27 }, 1, cts[1], cts[2], cts[3]];
                (Bytes::from(tag(9, *dts_ms, &[&head, data])), *keyframe)
            }
            Media::Audio { ts_ms, data } => (Bytes::from(tag(8, *ts_ms, &[&[0xaf, 1], data])), false),
        };
        self.flv.send(t, key);
    }

    fn push_mp4(&self, m: &Media) {
        use super::fmp4::Out;
        use std::sync::atomic::Ordering;
        if let Media::VideoConfig(c) = m {
            let sps = onair_ingest::flv::avcc_parameter_sets(c).ok().and_then(|sets| sets.into_iter().next());
            *self.size.lock().unwrap_or_else(|p| p.into_inner()) = sps.and_then(|s| onair_ingest::sps::sps_dimensions(&s));
        }
        let out = self.muxer().push(m);
        let init = |i: Vec<u8>| {
            let i = Bytes::from(i);
            self.mp4.cache().head = vec![i.clone()];
            self.ll().init(i.clone());
            let _ = self.mp4.tx.send(i);
        };
        let (t_ms, video) = match m {
            Media::Video { dts_ms, .. } => (i64::from(*dts_ms), true),
            Media::Audio { ts_ms, .. } => (i64::from(*ts_ms), false),
            _ => (0, false),
        };
        let fragment = |f: Vec<u8>, key: bool| {
            let f = Bytes::from(f);
            let v = {
                let mut ll = self.ll();
                ll.push(&f, t_ms, key, video);
                ll.version
            };
            self.ll_version.send_if_modified(|old| std::mem::replace(old, v) != v);
            self.mp4.send(f, key);
        };
        match out {
            Ok(Out::Nothing) => {}
            Ok(Out::Init(i)) => init(i),
            Ok(Out::InitAndFragment(i, f, key)) => {
                init(i);
                fragment(f, key);
            }
            Ok(Out::Fragment(f, key)) => fragment(f, key),
            Err(e) => {
                if !self.mp4_failed.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "fragmented MP4 output: cannot describe this stream");
                }
            }
        }
    }

    /// What a joining viewer gets first (headers, then the current GOP),
    /// and the live tags after it.
    pub fn join(&self, f: Format) -> (Vec<Tag>, broadcast::Receiver<Tag>) {
        self.channel(f).join()
    }

    /// The MSE type (`video/mp4; codecs="avc1.PPCCLL,mp4a.40.2"`) once known.
    pub fn mp4_mime(&self) -> Option<String> {
        self.muxer().mime()
    }

    /// The low-latency HLS state (read it briefly: the publisher's task
    /// writes it for every frame).
    pub fn ll(&self) -> std::sync::MutexGuard<'_, super::llhls::LlHls> {
        self.ll.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes when a part is added (or the live ends).
    pub fn ll_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.ll_version.subscribe()
    }

    /// Closes the low-latency HLS playlist (`EXT-X-ENDLIST`).
    pub fn ll_end(&self) {
        let v = {
            let mut ll = self.ll();
            ll.end_now();
            ll.version
        };
        self.ll_version.send_replace(v);
    }

    pub fn size(&self) -> Option<(u32, u32)> {
        *self.size.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Low-latency viewers of both formats.
    pub fn viewers(&self) -> usize {
        self.flv.tx.receiver_count() + self.mp4.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_layout() {
        let t = tag(9, 0x0102_0304, &[&[0xaa], &[0xbb]]);
        assert_eq!(t, vec![9, 0, 0, 2, 0x02, 0x03, 0x04, 0x01, 0, 0, 0, 0xaa, 0xbb, 0, 0, 0, 13]);
    }

    #[test]
    fn joiner_starts_at_the_latest_keyframe() {
        let f = Fanout::default();
        f.push(&Media::VideoConfig(vec![1]));
        f.push(&Media::Audio { ts_ms: 0, data: vec![0] });
        f.push(&Media::Video { dts_ms: 0, cts_ms: 0, keyframe: true, data: vec![1] });
        f.push(&Media::Video { dts_ms: 33, cts_ms: 0, keyframe: false, data: vec![2] });
        f.push(&Media::Video { dts_ms: 66, cts_ms: 0, keyframe: true, data: vec![3] });
        f.push(&Media::Audio { ts_ms: 70, data: vec![0] });
        let (first, _rx) = f.join(Format::Flv);
        // Video config, then the GOP from the keyframe at 66 ms (2 tags).
        assert_eq!(first.len(), 3);
        assert_eq!(first[1][11], 0x17);
        assert_eq!(f.viewers(), 1);
    }

    #[test]
    fn mp4_joiner_gets_init_then_the_latest_gop() {
        use crate::live::fmp4::tests::{ASC, AVCC};
        let f = Fanout::default();
        f.push(&Media::AudioConfig(ASC.to_vec()));
        f.push(&Media::VideoConfig(AVCC.to_vec()));
        f.push(&Media::Video { dts_ms: 0, cts_ms: 0, keyframe: true, data: vec![1] });
        f.push(&Media::Audio { ts_ms: 10, data: vec![0] });
        f.push(&Media::Video { dts_ms: 33, cts_ms: 0, keyframe: false, data: vec![2] });
        f.push(&Media::Video { dts_ms: 66, cts_ms: 0, keyframe: true, data: vec![3] });
        f.push(&Media::Audio { ts_ms: 70, data: vec![0] });
        let (first, _rx) = f.join(Format::Mp4);
        assert_eq!(first.len(), 3, "init, keyframe at 66 ms, audio at 70 ms");
        assert_eq!(&first[0][4..8], b"ftyp");
        assert!(first[1..].iter().all(|t| &t[4..8] == b"moof"));
        assert_eq!(f.mp4_mime().unwrap(), "video/mp4; codecs=\"avc1.42c00d,mp4a.40.2\"");
        let (_, _rx2) = f.join(Format::Flv);
        assert_eq!(f.viewers(), 2);
    }
}
