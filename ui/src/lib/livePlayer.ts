// Low-latency live playback with Media Source Extensions: the relay's
// fragmented MP4 stream (`/live/ROOM/live.mp4`: an init segment, then one
// moof+mdat per frame from the latest keyframe). A TypeScript port of the
// relay's own `/static/live-player.js` (same repo): the app's CSP loads
// scripts from the app only, so the logic lives here, with the decisions
// (codec string, when to jump, what to trim) as pure functions under test.

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
  const stats: PlayerStats = { bytes: 0, chunks: 0, frames: 0, dropped: 0, currentTime: 0, lagS: 0, jumps: 0, ended: false, error: null };
  const queue: Uint8Array[] = [];
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
