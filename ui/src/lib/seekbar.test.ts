import { describe, expect, it } from "vitest";
import { markPositions, nextMark, timeAt } from "./seekbar";

describe("markPositions", () => {
  it("places bookmarks proportionally, sorted by time", () => {
    const m = markPositions(
      [
        { id: 2, t_ms: 7_500, label: "b" },
        { id: 1, t_ms: 2_500, label: "a" },
      ],
      10_000,
    );
    expect(m.map((x) => [x.id, x.pct])).toEqual([
      [1, 25],
      [2, 75],
    ]);
  });
  it("drops bookmarks outside the recording and handles no duration", () => {
    expect(markPositions([{ id: 1, t_ms: 12_000, label: "" }], 10_000)).toEqual([]);
    expect(markPositions([{ id: 1, t_ms: 1_000, label: "" }], 0)).toEqual([]);
  });
  it("rounds to 0.01 %", () => {
    expect(markPositions([{ id: 1, t_ms: 1_000, label: "" }], 3_000)[0].pct).toBe(33.33);
  });
});

describe("timeAt and nextMark", () => {
  it("maps clicks to times, clamped", () => {
    expect(timeAt(50, 200, 8_000)).toBe(2_000);
    expect(timeAt(-10, 200, 8_000)).toBe(0);
    expect(timeAt(500, 200, 8_000)).toBe(8_000);
  });
  it("finds the next bookmark past the playhead", () => {
    const marks = markPositions(
      [
        { id: 1, t_ms: 1_000, label: "" },
        { id: 2, t_ms: 5_000, label: "" },
      ],
      10_000,
    );
    expect(nextMark(marks, 900)?.id).toBe(2);
    expect(nextMark(marks, 0)?.id).toBe(1);
    expect(nextMark(marks, 6_000)).toBeUndefined();
  });
});
