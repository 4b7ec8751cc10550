// Low-latency live playback with Media Source Extensions: the relay's
// fragmented MP4 stream (`/live/ROOM/live.mp4`: an init segment, then one
// moof+mdat per frame from the latest keyframe). A TypeScript port of the
// relay's own `/static/live-player.js` (same repo): the app's CSP loads
// scripts from the app only, so the logic lives here, with the decisions
// (codec string, when to jump, what to trim, which rung Auto plays) as pure
// functions under test. `playReplay` plays a finished replay and resumes it
// where it was after the network drops.

export interface PlayerOptions {
  /** Jump when playback falls this far behind the newest frame (s). */
  maxLagS: number;
  /** Where to jump to: this far behind the newest frame (s). */
  targetLagS: number;
  /** Media kept behind the playhead (s). */
  keepS: number;
  statsEveryMs: number;
  onStats?: (s: PlayerStats) => void;
  onError?: (e: Error) => void;
  onEnd?: () => void;
}

export interface PlayerStats {
  bytes: number;
  chunks: number;
  frames: number;
  dropped: number;
  currentTime: number;
  lagS: number;
  jumps: number;
  ended: boolean;
  error: string | null;
  /** Seconds of media received per second over the last 3 s (null until known). */
  rate: number | null;
  /** How much later than at its best the newest media arrives (s). */
  growthS: number;
  /** Behind live as the viewer sees it: lagS + growthS. */
  behindS: number;
  /** How long playback has not moved (s). */
  stalledS: number;
  bytesPerS: number;
  width: number;
  height: number;
}

export interface Health {
  rate: number | null;
  growthS: number;
  bytesPerS: number;
  stalledS: number;
}

/**
 * How a stream keeps up, from samples every `everyMs`: `rate` (seconds of
 * media received per second over the last 3 s: the stream's bytes per
 * second against the rung's own bytes per second of media; 1 when the link
 * carries it), `growthS` (how much later than at its best the newest media
 * arrives: the delay the link added), `bytesPerS`, and `stalledS` (how long
 * playback has not moved; before the first frame, only past 6 s, as a rung
 * may take a keyframe interval to start).
 */
export function healthMeter(everyMs: number): (nowMs: number, bufEnd: number | null, bytes: number, currentTime: number, paused: boolean) => Health {
  const hist: { t: number; end: number | null; bytes: number }[] = [];
  let best = Infinity;
  let lastTime = -1;
  let stalledS = 0;
  let t0: number | null = null;
  let started = false;
  return (nowMs, bufEnd, bytes, currentTime, paused) => {
    t0 ??= nowMs;
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
    const moved = currentTime !== lastTime && lastTime >= 0;
    if (moved) started = true;
    if (paused || moved) stalledS = 0;
    else if (started) stalledS += everyMs / 1000;
    else stalledS = Math.max(0, (nowMs - t0) / 1000 - 6);
    lastTime = currentTime;
    return { rate, growthS, bytesPerS, stalledS };
  };
}

/** A rung's low-latency stream: the source at /live/ROOM/live.mp4, a rung at /live/ROOM/RUNG/live.mp4. */
export function rungPath(room: string, rung: string): string {
  const r = encodeURIComponent(room);
  return !rung || rung === "source" ? `/live/${r}/live.mp4` : `/live/${r}/${encodeURIComponent(rung)}/live.mp4`;
}

/** How a rung is named to viewers: HD 720p, SD 480p, Smooth 360p, Audio only, Source (catalogue keys). */
export function qualityName(rung: string): { key: "watch.q_auto" | "watch.q_source" | "watch.q_audio" | "watch.q_hd" | "watch.q_sd" | "watch.q_smooth"; p: string } {
  if (rung === "auto") return { key: "watch.q_auto", p: "" };
  if (rung === "source") return { key: "watch.q_source", p: "" };
  if (rung === "audio") return { key: "watch.q_audio", p: "" };
  const h = parseInt(rung, 10);
  return { key: h >= 720 ? "watch.q_hd" : h >= 480 ? "watch.q_sd" : "watch.q_smooth", p: rung };
}

/** The menu for a ladder: Auto when there is more than one picture to choose from, then the rungs. */
export function qualityChoices(ladder: readonly string[]): string[] {
  const l = ladder.length ? [...ladder] : ["source"];
  return (l.filter((r) => r !== "audio").length > 1 ? ["auto"] : []).concat(l);
}

/** What the status line says of a rung: its height (the source's once known), or "audio". */
export function rungShown(rung: string, height: number): string {
  if (rung === "source") return height ? `${height}p` : "source";
  return rung;
}

/**
 * Auto quality. Checked on every stats sample of the rung playing:
 * - down one rung when it falls behind: media arrives slower than real
 *   time (`rate` under 0.9 over the last 3 s) while the delay behind live
 *   has grown by more than 1 s, or playback has not moved for more than
 *   1 s (a stall);
 * - up one rung after a stable stretch on this one (`upAfterS`, 10 s at
 *   first): no stall, rate at least 0.95, delay growth under 0.5 s;
 * - hysteresis: a rung is judged only after 4 s on it (its first keyframe
 *   and the burst of its first group of pictures), and a rung left for the
 *   one below within 20 s of stepping up to it doubles the stretch needed
 *   before the next step up (at most 80 s), so a link that cannot carry the
 *   rung above is not asked to again and again.
 * Auto never picks audio-only: that is the viewer's choice. The relay's
 * /static/live-player.js has the same rule.
 */
export class Abr {
  readonly rungs: string[];
  private i = 0;
  private since: number;
  private stableFrom: number;
  private upAt = -Infinity;
  upAfterS = 10;

  constructor(ladder: readonly string[], nowMs: number) {
    const video = ladder.filter((r) => r !== "audio");
    this.rungs = video.length ? video : ["source"];
    this.since = nowMs;
    this.stableFrom = nowMs;
  }

  get rung(): string {
    return this.rungs[this.i];
  }

  /** The rung to play after this sample. */
  sample(nowMs: number, s: Pick<Health, "rate" | "growthS" | "stalledS">): string {
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

  private move(i: number, nowMs: number) {
    this.i = i;
    this.since = nowMs;
    this.stableFrom = nowMs;
  }
}

export const DEFAULTS: PlayerOptions = { maxLagS: 1.0, targetLagS: 0.15, keepS: 10, statsEveryMs: 500 };

function findBox(bytes: Uint8Array, tag: string): number {
  const t = [0, 1, 2, 3].map((i) => tag.charCodeAt(i));
  for (let i = 4; i + 4 <= bytes.length; i++) {
    if (bytes[i] === t[0] && bytes[i + 1] === t[1] && bytes[i + 2] === t[2] && bytes[i + 3] === t[3]) return i;
  }
  return -1;
}

/** The MSE type from an init segment: avc1.PPCCLL from avcC, plus AAC-LC when an esds is present. */
export function codecsFromInit(bytes: Uint8Array): string | null {
  const a = findBox(bytes, "avcC");
  if (a < 0 || a + 8 > bytes.length) return null;
  const hex = (b: number) => b.toString(16).padStart(2, "0");
  let codecs = `avc1.${hex(bytes[a + 5])}${hex(bytes[a + 6])}${hex(bytes[a + 7])}`;
  if (findBox(bytes, "esds") >= 0) codecs += ",mp4a.40.2";
  return `video/mp4; codecs="${codecs}"`;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
}

/**
 * When the first video fragment in `bytes` (an init segment, then
 * fragments) starts, in seconds of the stream's own clock; null until a
 * whole `tfdt` of track 1 (the relay's video track) has arrived. The
 * player shifts the stream by this so playback starts at 0 without a
 * seek: WebKit's MSE can deadlock when it seeks while still prerolling.
 */
export function firstVideoStart(bytes: Uint8Array): number | null {
  const m = findBox(bytes, "mdhd");
  if (m < 0 || m + 20 > bytes.length) return null;
  const v1 = bytes[m + 4] === 1;
  const scale = v1 ? u32(bytes, m + 24) : u32(bytes, m + 16);
  if (!scale || (v1 && m + 28 > bytes.length)) return null;
  let from = 0;
  for (;;) {
    const rest = bytes.subarray(from);
    const h = findBox(rest, "tfhd");
    if (h < 0 || h + 12 > rest.length) return null;
    const t = findBox(rest.subarray(h), "tfdt");
    if (t < 0) return null;
    const at = h + t;
    if (u32(rest, h + 8) === 1) {
      if (rest[at + 4] === 1) {
        if (at + 16 > rest.length) return null;
        return (u32(rest, at + 8) * 2 ** 32 + u32(rest, at + 12)) / scale;
      }
      if (at + 12 > rest.length) return null;
      return u32(rest, at + 8) / scale;
    }
    from += at + 4;
  }
}

export type SteerAction = { kind: "none" } | { kind: "jump"; to: number } | { kind: "trim"; from: number; to: number };

/**
 * What to do with the playhead given what is buffered: jump near the live
 * edge when behind (or before the buffer), trim old media when far ahead
 * of the buffer's start, else nothing.
 */
export function steer(bufStart: number, bufEnd: number, currentTime: number, o: Pick<PlayerOptions, "maxLagS" | "targetLagS" | "keepS">): SteerAction {
  const lag = bufEnd - currentTime;
  if (currentTime < bufStart || lag > o.maxLagS) return { kind: "jump", to: Math.max(bufStart, bufEnd - o.targetLagS) };
  if (currentTime - bufStart > o.keepS * 2) return { kind: "trim", from: bufStart, to: currentTime - o.keepS };
  return { kind: "none" };
}

/** Concatenates chunks into one buffer (one appendBuffer per batch). */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export interface LivePlayer {
  stop(): void;
  stats(): PlayerStats;
}

/** Plays `url` in `video` until stopped or the live ends. */
export function playLive(video: HTMLVideoElement, url: string, opts: Partial<PlayerOptions> = {}): LivePlayer {
  const o: PlayerOptions = { ...DEFAULTS, ...opts };
  const abort = new AbortController();
  const stats: PlayerStats = { bytes: 0, chunks: 0, frames: 0, dropped: 0, currentTime: 0, lagS: 0, jumps: 0, ended: false, error: null, rate: null, growthS: 0, behindS: 0, stalledS: 0, bytesPerS: 0, width: 0, height: 0 };
  const queue: Uint8Array[] = [];
  const health = healthMeter(o.statsEveryMs);
  let sb: SourceBuffer | null = null;
  let stopped = false;
  // Seeks (jumps to the live edge) wait until playback has begun, and come
  // at most every 2 s: WebKit's MSE can deadlock its web process when it
  // is asked to seek while its pipeline is still prerolling.
  let started = false;
  let lastJump = 0;
  // Whether the stream was shifted to start at 0 (no first seek needed).
  let shifted = false;
  video.addEventListener("playing", () => (started = true), { once: true });
  let objectUrl: string | null = null;

  const fail = (e: unknown) => {
    if (stopped) return;
    const err = e instanceof Error ? e : new Error(String(e));
    stats.error = err.message;
    o.onError?.(err);
  };

  const pump = () => {
    if (!sb || sb.updating || queue.length === 0 || stopped) return;
    const all = concat(queue);
    queue.length = 0;
    try {
      sb.appendBuffer(all as BufferSource);
    } catch (e) {
      fail(e);
    }
  };

  const onUpdateEnd = () => {
    if (sb && !sb.updating && sb.buffered.length > 0) {
      const start = sb.buffered.start(0);
      const end = sb.buffered.end(sb.buffered.length - 1);
      stats.lagS = end - video.currentTime;
      const a = steer(start, end, video.currentTime, o);
      const canJump = started || (!shifted && video.currentTime < start);
      if (a.kind === "jump" && canJump && !video.seeking && Date.now() - lastJump > 2000) {
        lastJump = Date.now();
        video.currentTime = a.to;
        stats.jumps++;
      } else if (a.kind === "trim") {
        sb.remove(a.from, a.to);
      }
      if (video.paused) video.play().catch(() => {});
    }
    pump();
  };

  const report = () => {
    const q = video.getVideoPlaybackQuality?.();
    stats.frames = q ? q.totalVideoFrames - q.droppedVideoFrames : 0;
    stats.dropped = q ? q.droppedVideoFrames : 0;
    stats.currentTime = video.currentTime;
    const end = sb && sb.buffered.length ? sb.buffered.end(sb.buffered.length - 1) : null;
    Object.assign(stats, health(Date.now(), end, stats.bytes, video.currentTime, video.paused && stats.frames > 0));
    stats.behindS = stats.lagS + stats.growthS;
    stats.width = video.videoWidth;
    stats.height = video.videoHeight;
    o.onStats?.({ ...stats });
  };
  const timer = window.setInterval(report, o.statsEveryMs);

  (async () => {
    const res = await fetch(url, { signal: abort.signal, cache: "no-store" });
    if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
    const reader = res.body.getReader();
    let type = res.headers.get("content-type") ?? "";
    let first: Uint8Array | null = null;
    if (!type.includes("codecs")) {
      first = new Uint8Array(0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the live ended before its first frame");
        first = concat([first, value]);
        const t = codecsFromInit(first);
        if (t) {
          type = t;
          break;
        }
      }
    }
    if (!window.MediaSource || !MediaSource.isTypeSupported(type)) throw new Error(`this system cannot play ${type} (install gstreamer1.0-libav)`);
    const ms = new MediaSource();
    objectUrl = URL.createObjectURL(ms);
    video.src = objectUrl;
    await new Promise((ok) => ms.addEventListener("sourceopen", ok, { once: true }));
    sb = ms.addSourceBuffer(type);
    sb.mode = "segments";
    sb.addEventListener("updateend", onUpdateEnd);
    sb.addEventListener("error", () => fail(new Error("the video decoder refused the stream")));
    // Hold the media back until the first video fragment's time is known
    // (or 2 MiB came without one), then shift the stream to start at 0.
    let head: Uint8Array | null = first ?? new Uint8Array(0);
    const release = (start: number | null) => {
      if (start !== null && sb && !sb.updating) {
        sb.timestampOffset = -start;
        shifted = true;
      }
      queue.push(head as Uint8Array);
      head = null;
      pump();
    };
    if (first) {
      const start = firstVideoStart(first);
      if (start !== null) release(start);
    }
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stats.bytes += value.length;
      stats.chunks++;
      if (head) {
        head = concat([head, value]);
        const start = firstVideoStart(head);
        if (start !== null || head.length > 2 * 1024 * 1024) release(start);
        continue;
      }
      queue.push(value);
      pump();
    }
    if (head) release(null);
    stats.ended = true;
    o.onEnd?.();
  })().catch((e) => {
    if (!stopped) fail(e);
  });

  return {
    stop() {
      stopped = true;
      window.clearInterval(timer);
      abort.abort();
      video.removeAttribute("src");
      video.load();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    },
    stats() {
      report();
      return { ...stats };
    },
  };
}

export type ReplayState = "playing" | "reconnecting";

export interface ReplayPlayer {
  stop(): void;
  /** Where the replay is (while reconnecting: where it will resume). */
  position(): number;
  /** Loads the URL again (another rendition, say) at the same position. */
  reload(): void;
}

/**
 * Plays a finished replay (an MP4 the relay serves with HTTP Range) and
 * keeps playing through network drops: on a media error, or when playback
 * has not moved for 4 s while it should, it loads the file again from the
 * position it had reached (the media stack asks for that byte range), after
 * 1, 2, 4, then every 8 s. `url` is asked again before each try (a private
 * room's watch ticket may have expired). The relay's /static/live-player.js
 * has the same logic.
 */
export function playReplay(video: HTMLVideoElement, url: () => Promise<string>, onState: (s: ReplayState) => void): ReplayPlayer {
  const off = new AbortController();
  let pos = 0;
  let attempt = 0;
  let reconnecting = false;
  let timer: number | null = null;
  let last = -1;
  let still = 0;
  const load = async () => {
    const at = pos;
    let src: string;
    try {
      src = await url();
    } catch {
      return retry();
    }
    if (off.signal.aborted) return;
    video.addEventListener(
      "loadedmetadata",
      () => {
        if (at > 0) video.currentTime = at;
        video.play().catch(() => {});
      },
      { once: true, signal: off.signal },
    );
    video.src = src;
    video.play().catch(() => {});
  };
  const retry = () => {
    if (timer !== null || off.signal.aborted) return;
    if (!reconnecting) {
      pos = Math.max(pos, video.currentTime || 0);
      reconnecting = true;
      onState("reconnecting");
    }
    still = 0;
    timer = window.setTimeout(() => {
      timer = null;
      void load();
    }, Math.min(8000, 1000 * 2 ** attempt++));
  };
  video.addEventListener("error", retry, { signal: off.signal });
  video.addEventListener(
    "timeupdate",
    () => {
      if (!reconnecting) {
        pos = video.currentTime;
        return;
      }
      // Back once playback moves on from where it was.
      if (video.currentTime > pos + 0.2) {
        reconnecting = false;
        attempt = 0;
        onState("playing");
      }
    },
    { signal: off.signal },
  );
  // A connection cut mid-file can look like the end to the media stack:
  // an "end" well before the duration is a drop too.
  const cutShort = () => video.ended && Number.isFinite(video.duration) && video.currentTime < video.duration - 1;
  video.addEventListener("ended", () => cutShort() && retry(), { signal: off.signal });
  const watch = window.setInterval(() => {
    const t = video.currentTime;
    if (cutShort()) return retry();
    const waiting = !video.ended && (!video.paused || reconnecting);
    still = waiting && t === last ? still + 1 : 0;
    last = t;
    if (still >= 4) retry();
  }, 1000);
  void load();
  return {
    position: () => (reconnecting ? pos : video.currentTime),
    reload() {
      if (!reconnecting) pos = video.currentTime || pos;
      void load();
    },
    stop() {
      off.abort();
      window.clearInterval(watch);
      if (timer !== null) window.clearTimeout(timer);
    },
  };
}
