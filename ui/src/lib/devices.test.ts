import { describe, expect, it } from "vitest";
import { audioOptions, callDefaults, cameraModeOptions, meterPercent, type DevicesView } from "./devices";

const view = (over: Partial<DevicesView> = {}): DevicesView => ({
  cameras: [],
  microphones: [
    { index: 1, id: "default", name: "PulseAudio default", default: true },
    { index: 7, id: "pulse", name: "PulseAudio Sound Server", default: false },
  ],
  speakers: [],
  chosen: { camera: null, microphone: null, speaker: null },
  camera_source: null,
  microphone_source: "mic",
  camera_mode: null,
  ...over,
});

describe("devices", () => {
  it("puts the system default first, named", () => {
    const o = audioOptions(view().microphones);
    expect(o[0].value).toBe("");
    expect(o[0].label).toContain("PulseAudio default");
    expect(o.map((x) => x.value)).toEqual(["", "pulse"]);
  });
  it("calls send something: the test pattern without a camera, the default microphone", () => {
    expect(callDefaults(view())).toEqual({ video: "test", audio: "mic" });
    expect(callDefaults(view({ camera_source: "camera:0", microphone_source: "mic:7" }))).toEqual({ video: "camera:0", audio: "mic:7" });
    expect(callDefaults(view({ microphone_source: null }))).toEqual({ video: "test", audio: "test" });
    expect(callDefaults(null)).toEqual({ video: "test", audio: "test" });
  });
  it("meter maps -60..0 dBFS to 0..100 %", () => {
    expect(meterPercent(-100)).toBe(0);
    expect(meterPercent(-30)).toBe(50);
    expect(meterPercent(3)).toBe(100);
  });
});

describe("call pickers", () => {
  it("offer usable microphones with the default first and never a null device", async () => {
    const { callSourceOptions, pickCallSource } = await import("./devices");
    const o = callSourceOptions(view());
    expect(o.audio.map((x) => x.value)).toEqual(["mic", "mic:7", "test", "none"]);
    expect(o.video.map((x) => x.value)).toEqual(["screen", "test", "none"]);
    expect(pickCallSource(o.video, null, "test")).toBe("test");
    expect(pickCallSource(o.video, "camera:0", "test")).toBe("test");
    expect(pickCallSource(o.audio, "mic:7", "mic")).toBe("mic:7");
    expect(pickCallSource(o.audio, "mic:0", "mic")).toBe("mic");
  });
});

describe("camera modes", () => {
  it("offers the chosen camera's modes after 'closest to the quality chosen'", () => {
    const v = view({
      cameras: [
        { index: 0, name: "Integrated", modes: ["1280x720@30"] },
        { index: 2, name: "USB Cam", modes: ["1920x1080@30", "1280x720@60"] },
      ],
      camera_source: "camera:2",
    });
    const o = cameraModeOptions(v);
    expect(o.map((x) => x.value)).toEqual(["", "1920x1080@30", "1280x720@60"]);
    expect(o[1].label).toBe("1920×1080 · 30 fps");
  });
  it("offers only the automatic choice for a camera that lists no modes, or none", () => {
    expect(cameraModeOptions(view()).length).toBe(1);
    expect(cameraModeOptions(view({ cameras: [{ index: 0, name: "Cam", modes: [] }], camera_source: "camera:0" })).length).toBe(1);
  });
});
