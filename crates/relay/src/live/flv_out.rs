//! The low-latency path: HTTP-FLV. Each tag is pushed to every viewer the
//! moment the publisher's message is parsed — no segmenting, no playlist —
//! so latency is the network plus the player's buffer. A viewer joining
//! mid-stream first gets the sequence headers and the current GOP (from
//! its keyframe), so it can decode at once. FLV over HTTP is what flv.js /
//! mpegts.js turn into MSE in a browser; ffmpeg and ffplay read it directly.

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

#[derive(Default)]
struct Cache {
    video_config: Option<Tag>,
    audio_config: Option<Tag>,
    gop: Vec<Tag>,
}

pub struct Fanout {
    tx: broadcast::Sender<Tag>,
    cache: Mutex<Cache>,
}

impl Default for Fanout {
    fn default() -> Self {
        Fanout { tx: broadcast::channel(VIEWER_QUEUE).0, cache: Mutex::new(Cache::default()) }
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

impl Fanout {
    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rebuilds the FLV tag for `m` and sends it to every viewer.
    pub fn push(&self, m: &Media) {
        let (t, key) = match m {
            Media::VideoConfig(c) => {
                let t = Bytes::from(tag(9, 0, &[&[0x17, 0, 0, 0, 0], c]));
                self.cache().video_config = Some(t.clone());
                (t, false)
            }
            Media::AudioConfig(c) => {
                let t = Bytes::from(tag(8, 0, &[&[0xaf, 0], c]));
                self.cache().audio_config = Some(t.clone());
                (t, false)
            }
            Media::Video { dts_ms, cts_ms, keyframe, data } => {
                let cts = cts_ms.to_be_bytes();
                let head = [if *keyframe { 0x17 } else { 0x27 }, 1, cts[1], cts[2], cts[3]];
                (Bytes::from(tag(9, *dts_ms, &[&head, data])), *keyframe)
            }
            Media::Audio { ts_ms, data } => (Bytes::from(tag(8, *ts_ms, &[&[0xaf, 1], data])), false),
        };
        if !matches!(m, Media::VideoConfig(_) | Media::AudioConfig(_)) {
            let mut c = self.cache();
            if key {
                c.gop.clear();
            }
            // Audio before the first keyframe is no use to a joining viewer.
            if !c.gop.is_empty() || key {
                if c.gop.len() < MAX_GOP_TAGS {
                    c.gop.push(t.clone());
                }
            }
        }
        // No viewers is not an error.
        let _ = self.tx.send(t);
    }

    /// What a joining viewer gets first (headers, then the current GOP),
    /// and the live tags after it. Subscribing under the cache lock means
    /// no tag falls between the two.
    pub fn join(&self) -> (Vec<Tag>, broadcast::Receiver<Tag>) {
        let c = self.cache();
        let rx = self.tx.subscribe();
        let mut first: Vec<Tag> = c.video_config.iter().chain(c.audio_config.iter()).cloned().collect();
        first.extend(c.gop.iter().cloned());
        (first, rx)
    }

    pub fn viewers(&self) -> usize {
        self.tx.receiver_count()
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
        let (first, _rx) = f.join();
        // Video config, then the GOP from the keyframe at 66 ms (2 tags).
        assert_eq!(first.len(), 3);
        assert_eq!(first[1][11], 0x17);
        assert_eq!(f.viewers(), 1);
    }
}
