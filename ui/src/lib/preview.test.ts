import { describe, expect, it } from "vitest";
import { HEADER, LatencyWindow, parseHeader } from "./preview";

function frame(w: number, h: number, seq: number, t: number, extra = 0): ArrayBuffer {
  const buf = new ArrayBuffer(HEADER + w * h * 4 + extra);
  const v = new DataView(buf);
  v.setUint32(0, w, true);
  v.setUint32(4, h, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, 1, true);
  v.setFloat64(16, t, true);
  return buf;
}

describe("parseHeader", () => {
  it("reads what video.rs writes", () => {
    expect(parseHeader(frame(4, 2, 7, 1234.5))).toEqual({ width: 4, height: 2, seq: 7, format: 1, capturedMs: 1234.5 });
  });
  it("refuses short or inconsistent messages", () => {
    expect(parseHeader(new ArrayBuffer(10))).toBeNull();
    expect(parseHeader(frame(4, 2, 1, 0, 3))).toBeNull();
  });
});

describe("LatencyWindow", () => {
  it("gives nearest-rank percentiles over the window", () => {
    const w = new LatencyWindow(4);
    [100, 10, 20, 30, 40].forEach((x) => w.push(x));
    expect(w.count).toBe(4);
    expect(w.percentile(50)).toBe(20);
    expect(w.percentile(100)).toBe(40);
    expect(new LatencyWindow().percentile(50)).toBeNaN();
  });
});
