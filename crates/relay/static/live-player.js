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
//
// A room may offer a quality ladder (`ladder` in GET /v1/rooms/ROOM:
// "source", "480p", "audio", …); `playRoom` plays one rung, or picks one
// by itself (Auto, see `Abr`), and starts again when the stream breaks.
// `playReplay` plays a finished replay and resumes where it was after the
// network drops. The desktop app has a TypeScript port of this file
// (ui/src/lib/livePlayer.ts): keep the two in step.

const DEFAULTS = { maxLagS: 1.0, targetLagS: 0.15, keepS: 10, statsEveryMs: 500 };

/** A rung's low-latency stream: the source at /live/ROOM/live.mp4, a rung at /live/ROOM/RUNG/live.mp4. */
export function rungPath(room, rung) {
  const r = encodeURIComponent(room);
  return !rung || rung === "source" ? `/live/${r}/live.mp4` : `/live/${r}/${encodeURIComponent(rung)}/live.mp4`;
}

/** What a viewer reads for a rung: HD 720p, SD 480p, Smooth 360p, Audio only, Source. */
export function qualityLabel(rung) {
  if (rung === "auto") return "Auto";
  if (rung === "source") return "Source";
  if (rung === "audio") return "Audio only";
  const h = parseInt(rung, 10);
  return `${h >= 720 ? "HD" : h >= 480 ? "SD" : "Smooth"} ${rung}`;
}

/**
 * Auto quality. Checked on every stats sample of the rung playing:
 * - down one rung when it falls behind: media arrives slower than real
 *   time (`rate`, the stream's bytes per second against the rung's own
 *   bytes per second of media, under 0.9 over the last 3 s) while the
 *   delay behind live has grown by more than 1 s, or playback has not
 *   moved for more than 1 s (a stall);
 * - up one rung after a stable stretch on this one (`upAfterS`, 10 s at
 *   first): no stall, rate at least 0.95, delay growth under 0.5 s;
 * - hysteresis: a rung is judged only after 4 s on it (its first keyframe
 *   and the burst of its first group of pictures), and a rung left for the
 *   one below within 20 s of stepping up to it doubles the stretch needed
 *   before the next step up (at most 80 s), so a link that cannot carry the
 *   rung above is not asked to again and again.
 * Auto never picks audio-only: that is the viewer's choice.
 */
export class Abr {
  constructor(ladder, nowMs) {
    this.rungs = ladder.filter((r) => r !== "audio");
    if (this.rungs.length === 0) this.rungs = ["source"];
    this.i = 0;
    this.since = nowMs;
    this.stableFrom = nowMs;
    this.upAt = -Infinity;
    this.upAfterS = 10;
  }
  get rung() { return this.rungs[this.i]; }
  /** The rung to play after this sample ({ rate, growthS, stalledS }). */
  sample(nowMs, s) {
    if (nowMs - this.since < 4000) return this.rung;
    const behind = (s.rate != null && s.rate < 0.9 && s.growthS > 1.0) || s.stalledS > 1.0;
    const steady = s.rate != null && s.rate >= 0.95 && s.growthS < 0.5 && s.stalledS === 0;
    if (behind) {
      if (this.i < this.rungs.length - 1) {
        if (nowMs - this.upAt < 20000) this.upAfterS = Math.min(80, this.upAfterS * 2);
        this.move(this.i + 1, nowMs);
      }
      this.stableFrom = nowMs;
    } else if (!steady) {
      this.stableFrom = nowMs;
    } else if (this.i > 0 && nowMs - this.stableFrom >= this.upAfterS * 1000) {
      this.upAt = nowMs;
      this.move(this.i - 1, nowMs);
    }
    return this.rung;
  }
  move(i, nowMs) { this.i = i; this.since = nowMs; this.stableFrom = nowMs; }
}

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
 * How a stream keeps up, from samples every `everyMs`: `rate` (seconds of
 * media received per second over the last 3 s; 1 when the link carries the
 * stream), `growthS` (how much later than at its best the newest media
 * arrives: the delay the link added), `bytesPerS`, and `stalledS` (how long
 * playback has not moved; before the first frame, only past 6 s, as a rung
 * may take a keyframe interval to start).
 */
export function healthMeter(everyMs) {
  const hist = [];
  let best = Infinity;
  let lastTime = -1;
  let stalledS = 0;
  let t0 = null;
  let started = false;
  return (nowMs, bufEnd, bytes, currentTime, paused) => {
    if (t0 === null) t0 = nowMs;
    let growthS = 0;
    if (bufEnd != null) {
      const d = nowMs / 1000 - bufEnd;
      best = Math.min(best, d);
      growthS = d - best;
    }
    hist.push({ t: nowMs, end: bufEnd, bytes });
    while (hist.length > 2 && nowMs - hist[1].t >= 3000) hist.shift();
    const old = hist[0];
    const span = (nowMs - old.t) / 1000;
    const rate = span >= 2.5 && old.end != null && bufEnd != null ? (bufEnd - old.end) / span : null;
    const bytesPerS = span > 0 ? (bytes - old.bytes) / span : 0;
    if (currentTime !== lastTime && lastTime >= 0) started = true;
    if (paused || (currentTime !== lastTime && lastTime >= 0)) stalledS = 0;
    else if (started) stalledS += everyMs / 1000;
    else stalledS = Math.max(0, (nowMs - t0) / 1000 - 6);
    lastTime = currentTime;
    return { rate, growthS, bytesPerS, stalledS };
  };
}

/**
 * Plays `url` in `video`. Returns { stop(), stats() }.
 * opts: maxLagS, targetLagS, keepS, statsEveryMs, onStats(stats), onError(err), onEnd().
 */
export function playLive(video, url, opts = {}) {
  const o = { ...DEFAULTS, ...opts };
  const abort = new AbortController();
  const stats = { bytes: 0, chunks: 0, frames: 0, dropped: 0, currentTime: 0, lagS: 0, jumps: 0, ended: false, error: null,
                  rate: null, growthS: 0, behindS: 0, stalledS: 0, bytesPerS: 0, width: 0, height: 0 };
  const queue = [];
  const health = healthMeter(o.statsEveryMs);
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
    const end = sb && sb.buffered.length ? sb.buffered.end(sb.buffered.length - 1) : null;
    Object.assign(stats, health(Date.now(), end, stats.bytes, video.currentTime, video.paused && stats.frames > 0));
    stats.behindS = stats.lagS + stats.growthS;
    stats.width = video.videoWidth;
    stats.height = video.videoHeight;
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

/** What the status line says of a rung: its height (the source's once known), or "audio". */
export function rungShown(rung, height) {
  if (rung === "source") return height ? `${height}p` : "source";
  return rung;
}

/**
 * Plays a live room: one rung of its `ladder`, or Auto (see `Abr`); a
 * stream that breaks (an error, the connection cut, no picture for 12 s)
 * starts again on a fresh MediaSource, backing off from 0.5 to 5 s.
 * opts: room, ladder, quality ("auto" or a rung), base (the relay's URL;
 * default this page's), urlFor(rung) (a Promise of the URL, for tickets),
 * onStats(stats, rung), onStatus(line), onRung(rung), onError(err).
 * Returns { setQuality(q), stop(), rung() }.
 */
export function playRoom(video, opts) {
  const ladder = opts.ladder && opts.ladder.length ? opts.ladder : ["source"];
  const urlFor = opts.urlFor || (async (r) => (opts.base || "") + rungPath(opts.room, r));
  let quality = opts.quality || "auto";
  let abr = new Abr(ladder, Date.now());
  let player = null;
  let rung = null;
  let stopped = false;
  let attempt = 0;
  let gen = 0;
  const status = (line) => opts.onStatus && opts.onStatus(line);
  const pick = () => (quality === "auto" ? abr.rung : ladder.includes(quality) ? quality : ladder[0]);

  const retry = (why) => {
    if (stopped) return;
    // A new generation: the broken player's callbacks are ignored from now.
    const me = ++gen;
    if (player) player.stop();
    player = null;
    status(`Reconnecting… (${why})`);
    setTimeout(() => { if (me === gen) start(); }, Math.min(5000, 500 * 2 ** attempt++));
  };

  const start = async () => {
    if (stopped) return;
    const me = ++gen;
    if (player) player.stop();
    player = null;
    rung = pick();
    if (opts.onRung) opts.onRung(rung);
    let url;
    try { url = await urlFor(rung); } catch (e) { return retry(e && e.message ? e.message : String(e)); }
    if (me !== gen || stopped) return;
    let moved = 0;
    player = playLive(video, url, {
      onStats: (s) => {
        if (me !== gen) return;
        if (s.frames > moved || (rung === "audio" && s.stalledS === 0 && s.currentTime > 0)) { moved = s.frames; attempt = 0; }
        if (s.stalledS > 12) return retry("no picture");
        const auto = quality === "auto";
        status(`${auto ? "Auto · " : ""}${rungShown(rung, s.height)} · ${s.behindS.toFixed(1)} s behind`);
        if (opts.onStats) opts.onStats(s, rung);
        if (auto && abr.sample(Date.now(), s) !== rung) start();
      },
      onError: (e) => { if (me === gen) { if (opts.onError) opts.onError(e); retry(e && e.message ? e.message : String(e)); } },
      onEnd: () => { if (me === gen) retry("the stream ended"); },
    });
  };
  start();
  return {
    setQuality(q) {
      quality = q;
      abr = new Abr(ladder, Date.now());
      attempt = 0;
      start();
    },
    rung: () => rung,
    stop() { stopped = true; gen++; if (player) player.stop(); },
  };
}

/**
 * Plays a finished replay (an MP4 the relay serves with HTTP Range) and
 * keeps playing through network drops: on a media error, or when playback
 * has not moved for 4 s while it should, it loads the file again from the
 * position it had reached (the browser asks for that byte range), after 1,
 * 2, 4, then every 8 s. opts.onState("playing" | "reconnecting").
 * Returns { stop(), position() }.
 */
export function playReplay(video, url, opts = {}) {
  const off = new AbortController();
  const on = (ev, f) => video.addEventListener(ev, f, { signal: off.signal });
  let pos = 0;
  let attempt = 0;
  let reconnecting = false;
  let timer = null;
  let last = -1;
  let still = 0;
  const state = (s) => opts.onState && opts.onState(s);
  const load = () => {
    const at = pos;
    // `url`: a string, or a function (a replay's rendition chosen meanwhile).
    video.src = typeof url === "function" ? url() : url;
    video.addEventListener("loadedmetadata", () => { if (at > 0) video.currentTime = at; video.play().catch(() => {}); }, { once: true, signal: off.signal });
  };
  const retry = () => {
    if (timer || off.signal.aborted) return;
    if (!reconnecting) { pos = Math.max(pos, video.currentTime || 0); reconnecting = true; state("reconnecting"); }
    still = 0;
    timer = setTimeout(() => { timer = null; load(); }, Math.min(8000, 1000 * 2 ** attempt++));
  };
  on("error", retry);
  on("timeupdate", () => {
    if (!reconnecting) { pos = video.currentTime; return; }
    // Back once playback moves on from where it was.
    if (video.currentTime > pos + 0.2) { reconnecting = false; attempt = 0; state("playing"); }
  });
  // A connection cut mid-file can look like the end to the media stack:
  // an "end" well before the duration is a drop too.
  const cutShort = () => video.ended && Number.isFinite(video.duration) && video.currentTime < video.duration - 1;
  on("ended", () => { if (cutShort()) retry(); });
  const watch = setInterval(() => {
    const t = video.currentTime;
    if (cutShort()) return retry();
    const waiting = !video.ended && (!video.paused || reconnecting);
    still = waiting && t === last ? still + 1 : 0;
    last = t;
    if (still >= 4) retry();
  }, 1000);
  load();
  video.play().catch(() => {});
  return {
    position: () => (reconnecting ? pos : video.currentTime),
    /** Loads the URL again (another rendition) at the same position. */
    reload() { if (!reconnecting) pos = video.currentTime || pos; load(); video.play().catch(() => {}); },
    stop() { off.abort(); clearInterval(watch); if (timer) clearTimeout(timer); },
  };
}
