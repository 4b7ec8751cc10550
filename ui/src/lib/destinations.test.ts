import { describe, expect, it } from "vitest";
import { PRESETS, destinationLine, presetOf, rtmpDestination } from "./destinations";

describe("destinations", () => {
  it("knows the platforms' ingest URLs", () => {
    expect(presetOf("rtmp://live.twitch.tv/app")).toBe("twitch");
    expect(presetOf(" rtmp://a.rtmp.youtube.com/live2 ")).toBe("youtube");
    expect(presetOf("rtmp://127.0.0.1:1935/live")).toBe("custom");
    expect(PRESETS.every((p) => /^rtmps?:\/\//.test(p.url))).toBe(true);
  });

  it("leaves an empty row out and a blank key to the keychain", () => {
    expect(rtmpDestination("  ", "k")).toBeNull();
    expect(rtmpDestination("rtmp://h/app", "")).toEqual({ kind: "rtmp", url: "rtmp://h/app", key: null });
  });

  it("says each destination's state and counters", () => {
    const line = destinationLine({ name: "rtmp://h/app", state: "reconnecting", bytes_sent: 1, video_frames_dropped: 3, reconnects: 2, kbps: 2479.6, bitrate_kbps: 0, bitrate_changes: 0 });
    expect(line).toContain("reconnecting");
    expect(line).toContain("2480 kbps");
    expect(line).toContain("3 dropped");
    expect(line).toContain("2 reconnects");
  });
});
