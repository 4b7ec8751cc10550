import { describe, expect, it } from "vitest";
import { qualityLabel, qualityView, scoreFromStats } from "./quality";

describe("network quality", () => {
  it("maps scores to labels at the documented thresholds", () => {
    expect(qualityLabel(100)).toBe("excellent");
    expect(qualityLabel(81)).toBe("excellent");
    expect(qualityLabel(80)).toBe("good");
    expect(qualityLabel(41)).toBe("good");
    expect(qualityLabel(40)).toBe("poor");
    expect(qualityLabel(21)).toBe("poor");
    expect(qualityLabel(20)).toBe("bad");
    expect(qualityLabel(0)).toBe("bad");
    expect(qualityLabel(null)).toBe("unknown");
    expect(qualityLabel(NaN)).toBe("unknown");
  });
  it("gives bars and text", () => {
    expect(qualityView(90)).toEqual({ label: "excellent", bars: 4, text: "Excellent connection" });
    expect(qualityView(30)).toMatchObject({ bars: 2, text: "Poor connection" });
    expect(qualityView(undefined)).toMatchObject({ bars: 0, text: "Measuring…" });
  });
  it("scores raw stats: clean link high, lossy link low", () => {
    expect(scoreFromStats({ lossPct: 0, rttMs: 50, jitterMs: 5 })).toBeGreaterThan(80);
    expect(scoreFromStats({ lossPct: 5, rttMs: 150, jitterMs: 20 })).toBeLessThanOrEqual(40);
    expect(scoreFromStats({ lossPct: 50, rttMs: 900, jitterMs: 100 })).toBe(0);
  });
});
