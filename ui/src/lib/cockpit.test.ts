import { describe, expect, it } from "vitest";
import type { DestinationStats } from "../api";
import { StatsHistory, WINDOW_MS, audienceLine, bitratePath, dropMarks, scaleKbps } from "./cockpit";

const d = (bytes: number, dropped = 0, name = "relay://r"): DestinationStats => ({ name, state: "live", bytes_sent: bytes, video_frames_dropped: dropped, reconnects: 0, kbps: 0 }) as DestinationStats;

describe("cockpit", () => {
  it("turns counter totals into kbit/s and drops per interval", () => {
    const h = new StatsHistory();
    h.push(0, [d(0)]);
    h.push(500, [d(125_000, 2)]);
    h.push(1000, [d(250_000, 2)]);
    expect(h.of("relay://r")).toEqual([
      { at: 500, kbps: 2000, drops: 2 },
      { at: 1000, kbps: 2000, drops: 0 },
    ]);
  });
  it("keeps one minute and starts afresh when counters go back", () => {
    const h = new StatsHistory();
    for (let i = 0; i <= 200; i++) h.push(i * 500, [d(i * 1000)]);
    const s = h.of("relay://r");
    expect(s[0].at).toBeGreaterThanOrEqual(200 * 500 - WINDOW_MS);
    h.push(200 * 500 + 500, [d(10)]);
    expect(h.of("relay://r")).toEqual([]);
  });
  it("draws the newest point at the right edge, scaled", () => {
    const s = [
      { at: 30_000, kbps: 1000, drops: 0 },
      { at: 60_000, kbps: 2000, drops: 3 },
    ];
    expect(scaleKbps(s)).toBe(2000);
    expect(bitratePath(s, 60_000, 120, 40)).toBe("M60.0,20.0L120.0,0.0");
    expect(dropMarks(s, 60_000, 120)).toEqual([120]);
    expect(scaleKbps([])).toBe(500);
  });
  it("words the audience", () => {
    expect(audienceLine(3, 5)).toBe("3 watching · peak 5");
  });
});
