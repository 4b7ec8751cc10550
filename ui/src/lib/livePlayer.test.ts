import { describe, expect, it } from "vitest";
import { Abr, codecsFromInit, concat, DEFAULTS, firstVideoStart, healthMeter, qualityChoices, qualityName, rungPath, steer } from "./livePlayer";

/** A box: 4-byte size, 4-byte tag, payload. */
function box(tag: string, payload: number[]): number[] {
  const size = 8 + payload.length;
  return [(size >>> 24) & 255, (size >>> 16) & 255, (size >>> 8) & 255, size & 255, ...[...tag].map((c) => c.charCodeAt(0)), ...payload];
}

describe("live player", () => {
  it("reads the codec string from avcC (profile, constraints, level) and esds", () => {
    // avcC payload: version 1, profile 0x64 (High), compat 0x00, level 0x1f (3.1)
    const video = new Uint8Array([...box("ftyp", [0, 0, 0, 0]), ...box("avcC", [1, 0x64, 0x00, 0x1f, 0xff])]);
    expect(codecsFromInit(video)).toBe('video/mp4; codecs="avc1.64001f"');
    const both = new Uint8Array([...video, ...box("esds", [0, 0, 0, 0])]);
    expect(codecsFromInit(both)).toBe('video/mp4; codecs="avc1.64001f,mp4a.40.2"');
    expect(codecsFromInit(new Uint8Array(box("ftyp", [0])))).toBeNull();
    // A truncated avcC (the rest not yet received) is not guessed.
    expect(codecsFromInit(new Uint8Array([0, 0, 0, 9, 0x61, 0x76, 0x63, 0x43, 1]))).toBeNull();
  });
  it("jumps to the live edge when behind or before the buffer", () => {
    expect(steer(0, 5, 3.5, DEFAULTS)).toEqual({ kind: "jump", to: 4.85 });
    expect(steer(2, 3, 1, DEFAULTS)).toEqual({ kind: "jump", to: 2.85 });
    expect(steer(2, 2.1, 1, DEFAULTS)).toEqual({ kind: "jump", to: 2 });
  });
  it("keeps playing near the edge, and trims old media", () => {
    expect(steer(0, 5, 4.5, DEFAULTS)).toEqual({ kind: "none" });
    expect(steer(0, 30, 29.9, DEFAULTS)).toEqual({ kind: "trim", from: 0, to: 19.9 });
  });
  it("finds when the first video fragment starts, once its tfdt has arrived", () => {
    const be = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    // mdhd v0: version+flags, creation, modification, timescale 90 kHz.
    const init = box("moov", box("mdhd", [0, 0, 0, 0, ...be(0), ...be(0), ...be(90000), ...be(0)]));
    const traf = (track: number, tfdt: number[]) => box("traf", [...box("tfhd", [0, 2, 0, 0, ...be(track)]), ...box("tfdt", tfdt)]);
    const audio = box("moof", traf(2, [1, 0, 0, 0, ...be(0), ...be(44100)]));
    // Video at 2^32 + 900000 ticks: a 64-bit tfdt (version 1).
    const video = box("moof", traf(1, [1, 0, 0, 0, ...be(1), ...be(900000)]));
    const all = new Uint8Array([...init, ...audio, ...video]);
    expect(firstVideoStart(all)).toBeCloseTo((2 ** 32 + 900000) / 90000, 6);
    // Audio only so far, or the video tfdt cut short: not yet known.
    expect(firstVideoStart(new Uint8Array([...init, ...audio]))).toBeNull();
    expect(firstVideoStart(all.subarray(0, all.length - 3))).toBeNull();
    // A 32-bit tfdt (version 0).
    const v0 = box("moof", traf(1, [0, 0, 0, 0, ...be(180000)]));
    expect(firstVideoStart(new Uint8Array([...init, ...v0]))).toBe(2);
    expect(firstVideoStart(new Uint8Array(init))).toBeNull();
  });
  it("concatenates chunks", () => {
    expect([...concat([new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3])])]).toEqual([1, 2, 3]);
  });
});

describe("quality", () => {
  const ok = { rate: 1, growthS: 0.1, stalledS: 0 };
  const slow = { rate: 0.6, growthS: 1.5, stalledS: 0 };
  it("offers Auto only when there is a picture to choose, and names rungs", () => {
    expect(qualityChoices(["source", "480p", "audio"])).toEqual(["auto", "source", "480p", "audio"]);
    expect(qualityChoices(["source", "audio"])).toEqual(["source", "audio"]);
    expect(qualityChoices([])).toEqual(["source"]);
    expect(qualityName("720p")).toEqual({ key: "watch.q_hd", p: "720p" });
    expect(qualityName("480p").key).toBe("watch.q_sd");
    expect(qualityName("360p").key).toBe("watch.q_smooth");
    expect(rungPath("a b", "source")).toBe("/live/a%20b/live.mp4");
    expect(rungPath("r", "360p")).toBe("/live/r/360p/live.mp4");
  });
  it("steps down when behind, up after a stable stretch, and waits longer after a failed step up", () => {
    const a = new Abr(["source", "480p", "360p", "audio"], 0);
    expect(a.sample(1000, slow)).toBe("source"); // a new rung settles first
    expect(a.sample(5000, slow)).toBe("480p");
    expect(a.sample(9500, { ...ok, stalledS: 2 })).toBe("360p");
    expect(a.sample(14000, ok)).toBe("360p");
    expect(a.sample(24000, ok)).toBe("480p"); // 10 s stable
    expect(a.sample(29000, slow)).toBe("360p"); // the step up failed within 20 s
    expect(a.upAfterS).toBe(20);
    expect(a.sample(44000, ok)).toBe("360p");
    expect(a.sample(50000, ok)).toBe("480p");
    expect(a.sample(99000, { ...ok, stalledS: 5 })).toBe("360p");
    expect(a.sample(200000, slow)).toBe("360p"); // never audio-only
  });
  it("measures rate, delay growth and stalls", () => {
    const m = healthMeter(500);
    let h = m(0, 1, 0, 0, false);
    for (let t = 500; t <= 4000; t += 500) h = m(t, 1 + t / 2000, t * 100, t / 2000, false);
    expect(h.rate).toBeCloseTo(0.5, 2);
    expect(h.growthS).toBeCloseTo(2, 2);
    expect(h.bytesPerS).toBeCloseTo(100000, -2);
    expect(h.stalledS).toBe(0);
    h = m(4500, 3, 450000, 2, false);
    h = m(5000, 3, 450000, 2, false);
    expect(h.stalledS).toBe(1);
  });
});
