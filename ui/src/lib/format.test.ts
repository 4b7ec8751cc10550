import { describe, expect, it } from "vitest";
import { clipText, formatBitrate, formatBytes, formatDuration, formatStats, stateBadge } from "./format";

describe("formatDuration", () => {
  it("shows m:ss under an hour and h:mm:ss above", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(5_400)).toBe("0:05");
    expect(formatDuration(65_000)).toBe("1:05");
    expect(formatDuration(3_725_000)).toBe("1:02:05");
  });
  it("treats missing and bad values as zero", () => {
    expect(formatDuration(null)).toBe("0:00");
    expect(formatDuration(-5)).toBe("0:00");
    expect(formatDuration(NaN)).toBe("0:00");
  });
});

describe("formatBytes and formatBitrate", () => {
  it("uses binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(25 * 1024 * 1024)).toBe("25 MB");
    expect(formatBytes(null)).toBe("—");
  });
  it("switches to Mb/s at 1000 kb/s", () => {
    expect(formatBitrate(800)).toBe("800 kb/s");
    expect(formatBitrate(2500)).toBe("2.5 Mb/s");
    expect(formatBitrate(0)).toBe("0 kb/s");
  });
});

describe("formatStats", () => {
  const base = { fps: 29.97, video_kbps: 2500, video_frames_dropped: 0, reconnecting: false, reconnects: 0, elapsed_s: 61.2, bookmarks: 0 };
  it("shows a healthy live job", () => {
    const v = formatStats(base, true);
    expect(v).toMatchObject({ elapsed: "1:01", fps: "30.0 fps", bitrate: "2.5 Mb/s", dropped: "0 dropped", connection: "Connected", health: "ok" });
  });
  it("flags reconnecting as bad and drops as a warning", () => {
    expect(formatStats({ ...base, reconnecting: true, reconnects: 2 }, true)).toMatchObject({ connection: "Reconnecting… (attempt 2)", health: "bad" });
    expect(formatStats({ ...base, video_frames_dropped: 3 }, false)).toMatchObject({ connection: "Recording only", health: "warn" });
    expect(formatStats(base, false)).toMatchObject({ health: "off" });
  });
  it("badges the state", () => {
    expect(stateBadge(true, true).text).toBe("LIVE · REC");
    expect(stateBadge(false, true).cls).toBe("rec");
    expect(stateBadge(false, false).text).toBe("OFFLINE");
  });
});

describe("clipText", () => {
  it("keeps short names and cuts long ones with a visible ellipsis", () => {
    expect(clipText("Friday stream", 40)).toBe("Friday stream");
    const long = "A very long room title that goes on and on well past what a dropdown shows";
    const c = clipText(long, 40);
    expect([...c].length).toBe(40);
    expect(c.endsWith("…")).toBe(true);
    expect(long.startsWith(c.slice(0, -1))).toBe(true);
  });
  it("never splits a character made of two UTF-16 units, and counts wide ones as two columns", () => {
    expect(clipText("🎮".repeat(50), 10)).toBe("🎮".repeat(4) + "…");
    expect(clipText("周五晚上的直播间欢迎大家来玩", 10)).toBe("周五晚上…");
    expect(clipText("周五", 10)).toBe("周五");
  });
});
