// OnAir live player: plays a room's low-latency fragmented MP4
// (`/live/ROOM/live.mp4`) with Media Source Extensions.
//
// A standalone ES module with no dependencies, served by the relay at
// `/static/live-player.js`; the relay's `/watch/ROOM` page and the desktop
// app's webview both use it:
//
//   import { playLive } from "/static/live-player.js";
//   const player = playLive(videoElement, "http://relay/live/ROOM/live.mp4",
//                           { onStats: (s) => console.log(s.frames) });
//   ...
//   player.stop();
//
// The relay sends an init segment (ftyp+moov), then one moof+mdat per
// frame, starting at the latest keyframe. The response's Content-Type
// carries the MSE codec string (video/mp4; codecs="avc1.PPCCLL,mp4a.40.2");
// when it does not (the room went live a moment ago), the string is read
// from the init segment's avcC.
//
// Latency is kept low by playing near the end of what is buffered: when
// playback falls more than `maxLagS` behind the newest frame, it jumps to
// `targetLagS` behind it (a viewer that stalled catches up instead of
// staying late). Old media is removed so the buffer stays small.

const DEFAULTS = { maxLagS: 1.0, targetLagS: 0.15, keepS: 10, statsEveryMs: 500 };

/** The MSE type from an init segment: avc1.PPCCLL from avcC, AAC-LC if an esds is there. */
export function codecsFromInit(bytes) {
  const find = (tag) => {
    for (let i = 4; i + 4 <= bytes.length; i++) {
      if (bytes[i] === tag.charCodeAt(0) && bytes[i + 1] === tag.charCodeAt(1) &&
          bytes[i + 2] === tag.charCodeAt(2) && bytes[i + 3] === tag.charCodeAt(3)) return i;
    }
    return -1;
  };
  const a = find("avcC");
  if (a < 0 || a + 8 > bytes.length) return null;
  const hex = (b) => b.toString(16).padStart(2, "0");
  let codecs = `avc1.${hex(bytes[a + 5])}${hex(bytes[a + 6])}${hex(bytes[a + 7])}`;
  if (find("esds") >= 0) codecs += ",mp4a.40.2";
  return `video/mp4; codecs="${codecs}"`;
}

/**
 * Plays `url` in `video`. Returns { stop(), stats() }.
 * opts: maxLagS, targetLagS, keepS, statsEveryMs, onStats(stats), onError(err), onEnd().
 */
export function playLive(video, url, opts = {}) {
  const o = { ...DEFAULTS, ...opts };
  const abort = new AbortController();
  const stats = { bytes: 0, chunks: 0, frames: 0, dropped: 0, currentTime: 0, lagS: 0, jumps: 0, ended: false, error: null };
  const queue = [];
  let sb = null;
  let stopped = false;

  const fail = (e) => {
    if (stopped) return;
    stats.error = String(e && e.message ? e.message : e);
    if (o.onError) o.onError(e);
  };

  const pump = () => {
    if (!sb || sb.updating || queue.length === 0 || stopped) return;
    const n = queue.reduce((s, c) => s + c.length, 0);
    const all = new Uint8Array(n);
    let at = 0;
    for (const c of queue) { all.set(c, at); at += c.length; }
    queue.length = 0;
    try { sb.appendBuffer(all); } catch (e) { fail(e); }
  };

  const steer = () => {
    if (!sb || sb.updating || sb.buffered.length === 0) return;
    const start = sb.buffered.start(0);
    const end = sb.buffered.end(sb.buffered.length - 1);
    stats.lagS = end - video.currentTime;
    if (video.currentTime < start || stats.lagS > o.maxLagS) {
      video.currentTime = Math.max(start, end - o.targetLagS);
      stats.jumps++;
    } else if (video.currentTime - start > o.keepS * 2) {
      sb.remove(start, video.currentTime - o.keepS);
    }
    if (video.paused) video.play().catch(() => {});
  };

  const report = () => {
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
    stats.frames = q ? q.totalVideoFrames - q.droppedVideoFrames : 0;
    stats.dropped = q ? q.droppedVideoFrames : 0;
    stats.currentTime = video.currentTime;
    if (o.onStats) o.onStats({ ...stats });
  };
  const timer = setInterval(report, o.statsEveryMs);

  (async () => {
    const res = await fetch(url, { signal: abort.signal, cache: "no-store" });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    const reader = res.body.getReader();
    let type = res.headers.get("content-type") || "";
    let first = null;
    if (!type.includes("codecs")) {
      // Read until the init segment (ftyp + moov) is in hand.
      first = new Uint8Array(0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the live ended before its first frame");
        const m = new Uint8Array(first.length + value.length);
        m.set(first); m.set(value, first.length); first = m;
        type = codecsFromInit(first);
        if (type) break;
      }
    }
    if (!window.MediaSource || !MediaSource.isTypeSupported(type)) throw new Error(`this browser cannot play ${type}`);
    const ms = new MediaSource();
    video.src = URL.createObjectURL(ms);
    await new Promise((ok) => ms.addEventListener("sourceopen", ok, { once: true }));
    sb = ms.addSourceBuffer(type);
    sb.mode = "segments";
    sb.addEventListener("updateend", () => { steer(); pump(); });
    sb.addEventListener("error", () => fail(new Error("SourceBuffer error")));
    if (first) { queue.push(first); pump(); }
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stats.bytes += value.length;
      stats.chunks++;
      queue.push(value);
      pump();
    }
    stats.ended = true;
    if (o.onEnd) o.onEnd();
  })().catch(fail);

  return {
    stop() { stopped = true; clearInterval(timer); abort.abort(); },
    stats() { report(); return { ...stats }; },
  };
}
