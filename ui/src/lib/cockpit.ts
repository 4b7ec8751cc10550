// The live cockpit's figures: the last minute of each destination's
// bitrate and dropped frames, from the counters `live://stats` carries
// twice a second (they are totals: the graph is made of their differences),
// drawn as small SVG paths; and the audience line.

import type { DestinationStats } from "../api";
import { t } from "./i18n";

/** How much history a graph shows (ms). */
export const WINDOW_MS = 60_000;

/** One point of a destination's graph: kbit/s and frames dropped since the last point. */
export interface Sample {
  at: number;
  kbps: number;
  drops: number;
}

interface Last {
  at: number;
  bytes: number;
  dropped: number;
}

/** The last minute per destination, by name, fed with each stats snapshot. */
export class StatsHistory {
  private last = new Map<string, Last>();
  private samples = new Map<string, Sample[]>();

  /** Adds one snapshot taken at `now` (ms). Counters that went back (a new job) start afresh. */
  push(now: number, dests: readonly DestinationStats[]): void {
    for (const d of dests) {
      const prev = this.last.get(d.name);
      this.last.set(d.name, { at: now, bytes: d.bytes_sent, dropped: d.video_frames_dropped });
      if (!prev || d.bytes_sent < prev.bytes || d.video_frames_dropped < prev.dropped) {
        this.samples.set(d.name, []);
        continue;
      }
      const dt = now - prev.at;
      if (dt <= 0) continue;
      const list = this.samples.get(d.name) ?? [];
      list.push({ at: now, kbps: ((d.bytes_sent - prev.bytes) * 8) / dt, drops: d.video_frames_dropped - prev.dropped });
      while (list.length && list[0].at < now - WINDOW_MS) list.shift();
      this.samples.set(d.name, list);
    }
  }

  /** A destination's points, oldest first. */
  of(name: string): Sample[] {
    return this.samples.get(name) ?? [];
  }

  clear(): void {
    this.last.clear();
    this.samples.clear();
  }
}

/** The graph's scale: a round kbit/s at or above the highest point (at least 500). */
export function scaleKbps(samples: readonly Sample[]): number {
  const top = Math.max(500, ...samples.map((s) => s.kbps));
  const step = top <= 2000 ? 500 : 1000;
  return Math.ceil(top / step) * step;
}

/** The bitrate as an SVG path over `w`×`h`, the newest point at the right edge, `now` the right edge's time. */
export function bitratePath(samples: readonly Sample[], now: number, w: number, h: number, max = scaleKbps(samples)): string {
  const x = (at: number) => Math.max(0, w - ((now - at) / WINDOW_MS) * w);
  const y = (k: number) => h - (Math.min(k, max) / max) * h;
  return samples.map((s, i) => `${i ? "L" : "M"}${x(s.at).toFixed(1)},${y(s.kbps).toFixed(1)}`).join("");
}

/** Where frames were dropped: one x position per sample with drops. */
export function dropMarks(samples: readonly Sample[], now: number, w: number): number[] {
  return samples.filter((s) => s.drops > 0).map((s) => Math.max(0, w - ((now - s.at) / WINDOW_MS) * w));
}

/** "3 watching · peak 5". */
export function audienceLine(viewers: number, peak: number): string {
  return `${t("live.cockpit.viewers", { n: viewers })} · ${t("live.cockpit.peak", { n: peak })}`;
}
