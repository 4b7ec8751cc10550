import { describe, expect, it } from "vitest";
import { codecsFromInit, concat, DEFAULTS, firstVideoStart, steer } from "./livePlayer";

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
