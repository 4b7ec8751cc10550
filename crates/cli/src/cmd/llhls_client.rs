//! `onair watch --ll-hls`: low-latency HLS as a part-aware player plays it.
//! FFmpeg's HLS reader ignores `EXT-X-PART` and waits for whole segments;
//! this client reads the media playlist once, starts at its newest
//! independent part, then asks for each next part in turn — the relay holds
//! a request for a part not made yet until it is (the preload hint's
//! promise), and answers 404 for a part a segment ended without, which
//! moves the client to the next segment's first part. The init segment and
//! the parts go down a pipe that FFmpeg reads as one fragmented MP4.

use onair_chat::net::{Http, Method};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where to start in a media playlist: its init segment and the newest
/// independent part as (media sequence number, part index).
#[derive(Debug, PartialEq, Eq)]
pub struct Start {
    pub init: String,
    pub msn: u64,
    pub part: usize,
    pub ended: bool,
}

/// Reads `part.MSN.N.m4s` (any query after it ignored).
fn part_name(uri: &str) -> Option<(u64, usize)> {
    let name = uri.split('?').next()?;
    let mut it = name.strip_prefix("part.")?.strip_suffix(".m4s")?.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn attr<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!("{key}="))? + key.len() + 1;
    let rest = &line[at..];
    match rest.strip_prefix('"') {
        Some(q) => q.split('"').next(),
        None => rest.split(',').next(),
    }
}

pub fn start_of(playlist: &str) -> Option<Start> {
    let mut init = None;
    let mut newest = None;
    for line in playlist.lines() {
        if line.starts_with("#EXT-X-MAP:") {
            init = attr(line, "URI").map(String::from);
        } else if line.starts_with("#EXT-X-PART:") && line.contains("INDEPENDENT=YES") {
            newest = attr(line, "URI").and_then(part_name).or(newest);
        }
    }
    let (msn, part) = newest?;
    Some(Start { init: init?, msn, part, ended: playlist.contains("#EXT-X-ENDLIST") })
}

/// Fetches `dir`'s `ll.m3u8` and its parts (`query`: a private room's
/// `?ticket=…` or empty) into `out` until `stop`, the live's end or an
/// error; the error, if any, is the return value.
///
/// `rt` must be a runtime that runs while this thread waits (a multi-thread
/// one): the process's HTTP client pools connections, and a connection is
/// driven by the runtime that opened it.
pub fn run(rt: &tokio::runtime::Handle, http: &Http, dir: &str, query: &str, mut out: impl Write, stop: Arc<AtomicBool>) -> Result<(), String> {
    let get = |path: String| -> Result<Option<Vec<u8>>, String> {
        let req = http.request(Method::GET, &path, None).map_err(|e| e.to_string())?;
        let (status, body) = rt.block_on(http.send(req)).map_err(|e| e.to_string())?;
        match status.as_u16() {
            200 => Ok(Some(body.to_vec())),
            404 => Ok(None),
            s => Err(format!("{path}: HTTP {s}")),
        }
    };
    // A rung starts at the source's next keyframe: its first parts may be
    // a few seconds away (each playlist request waits up to 4 s for one).
    let mut tries = 0;
    let start = loop {
        let text = get(format!("{dir}/ll.m3u8{query}"))?;
        if let Some(s) = text.as_deref().and_then(|t| start_of(&String::from_utf8_lossy(t))) {
            break s;
        }
        tries += 1;
        if tries >= 5 || stop.load(Ordering::Relaxed) {
            return Err("no low-latency HLS parts came (is the room live?)".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let init = get(format!("{dir}/{}", start.init))?.ok_or("no init segment")?;
    out.write_all(&init).map_err(|e| e.to_string())?;
    let (mut msn, mut part) = (start.msn, start.part);
    let mut misses = 0;
    while !stop.load(Ordering::Relaxed) {
        match get(format!("{dir}/part.{msn}.{part}.m4s{query}"))? {
            Some(b) => {
                misses = 0;
                if out.write_all(&b).and_then(|_| out.flush()).is_err() {
                    // The reader (FFmpeg) is done.
                    return Ok(());
                }
                part += 1;
            }
            // The segment ended before this part: the next one's first.
            None if part > 0 && misses == 0 => {
                (msn, part, misses) = (msn + 1, 0, 1);
            }
            // Twice nothing: the live ended, or we fell out of the window.
            None => {
                let text = get(format!("{dir}/ll.m3u8{query}"))?.unwrap_or_default();
                let s = start_of(&String::from_utf8_lossy(&text));
                match s {
                    Some(s) if !s.ended && misses < 3 => {
                        misses += 1;
                        (msn, part) = (s.msn, s.part);
                    }
                    _ => return Ok(()),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn starts_at_the_newest_independent_part() {
        let p = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4?ticket=t\"\n#EXTINF:1.0,\nseg.5.m4s\n#EXT-X-PART:DURATION=0.200,URI=\"part.6.0.m4s\",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.200,URI=\"part.6.1.m4s\"\n#EXTINF:1.0,\nseg.6.m4s\n#EXT-X-PART:DURATION=0.200,URI=\"part.7.0.m4s?ticket=t\",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.200,URI=\"part.7.1.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part.7.2.m4s\"\n";
        assert_eq!(super::start_of(p), Some(super::Start { init: "init.mp4?ticket=t".into(), msn: 7, part: 0, ended: false }));
        assert_eq!(super::start_of("#EXTM3U\n"), None);
        assert_eq!(super::part_name("part.12.3.m4s"), Some((12, 3)));
        assert_eq!(super::part_name("seg.12.m4s"), None);
    }
}
