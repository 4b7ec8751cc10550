// Pure formatting for the screens (tested in format.test.ts).

import { t } from "./i18n";

/** 65_000 → "1:05", 3_725_000 → "1:02:05"; negative or NaN → "0:00". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "0:00";
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** 1536 → "1.5 KB"; binary units, one decimal below 10. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** 2500 → "2.5 Mb/s", 800 → "800 kb/s". */
export function formatBitrate(kbps: number): string {
  if (!Number.isFinite(kbps) || kbps <= 0) return "0 kb/s";
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mb/s` : `${Math.round(kbps)} kb/s`;
}

/** Unix seconds → "2026-11-21 17:30" in local time. */
export function formatDate(unixSecs: number): string {
  const d = new Date(unixSecs * 1000);
  const p = (x: number) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export interface StatsLike {
  fps: number;
  video_kbps: number;
  video_frames_dropped: number;
  reconnecting: boolean;
  reconnects: number;
  elapsed_s: number;
  bookmarks: number;
}

export interface StatsView {
  elapsed: string;
  fps: string;
  bitrate: string;
  dropped: string;
  connection: string;
  /** "ok" | "warn" | "bad" | "off": the colour of the connection badge. */
  health: "ok" | "warn" | "bad" | "off";
}

/** The live stats strip's text (a running job only: a preview shows none). */
export function formatStats(s: StatsLike, live: boolean): StatsView {
  const connection = !live
    ? t("live.stat.recording_only")
    : s.reconnecting
      ? t("live.stat.reconnecting", { n: s.reconnects })
      : s.reconnects > 0
        ? t("live.stat.reconnected", { n: s.reconnects })
        : t("live.stat.connected");
  // Green only means "connected to the ingest": a recording has no connection to judge.
  const health = live && s.reconnecting ? "bad" : s.video_frames_dropped > 0 || (live && s.reconnects > 0) ? "warn" : live ? "ok" : "off";
  return {
    elapsed: formatDuration(s.elapsed_s * 1000),
    fps: t("live.stat.fps", { fps: s.fps.toFixed(1) }),
    bitrate: formatBitrate(s.video_kbps),
    dropped: t("live.stat.dropped", { n: s.video_frames_dropped }),
    connection,
    health,
  };
}

/** The badge shown on the Go live screen. */
export function stateBadge(live: boolean, recording: boolean): { text: string; cls: string } {
  if (live && recording) return { text: t("live.badge.live_rec"), cls: "live" };
  if (live) return { text: t("live.badge.live"), cls: "live" };
  if (recording) return { text: t("live.badge.rec"), cls: "rec" };
  return { text: t("live.badge.off"), cls: "off" };
}

/** Wide characters (CJK, Hangul, full-width forms, emoji) take about two columns. */
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u;

/**
 * A user's name cut to about `cols` columns with a visible "…", for places
 * CSS cannot ellipsise (a `<select>`'s options in WebKitGTK). Counts
 * characters, not UTF-16 units, so an emoji is never split in half, and a
 * wide (CJK) character as two columns.
 */
export function clipText(s: string, cols: number): string {
  let used = 0;
  const out: string[] = [];
  const chars = [...s];
  for (let i = 0; i < chars.length; i++) {
    const w = WIDE.test(chars[i]) ? 2 : 1;
    if (used + w > cols) {
      // Room for the "…": drop characters until it fits in `cols`.
      while (out.length > 1 && used + 1 > cols) used -= WIDE.test(out.pop() as string) ? 2 : 1;
      return out.join("").trimEnd() + "…";
    }
    used += w;
    out.push(chars[i]);
  }
  return s;
}
