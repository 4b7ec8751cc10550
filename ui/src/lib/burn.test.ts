import { describe, expect, it } from "vitest";
import { burnView, formatSecs, nextTick } from "./burn";

describe("burn after read", () => {
  it("is inactive for ordinary messages", () => {
    expect(burnView({}, 0).active).toBe(false);
  });
  it("waits for reading before counting", () => {
    expect(burnView({ burn_secs: 30 }, 0)).toEqual({ active: true, remaining: null, label: "Burns 30s after reading", expired: false });
  });
  it("counts down once read and expires", () => {
    expect(burnView({ burn_secs: 30, burn_at: 10_000 }, 0)).toMatchObject({ remaining: 10, label: "Burns in 10s" });
    expect(burnView({ burn_secs: 30, burn_at: 10_000 }, 9_001)).toMatchObject({ remaining: 1, expired: false });
    expect(burnView({ burn_secs: 30, burn_at: 10_000 }, 10_000)).toMatchObject({ remaining: 0, expired: true });
  });
  it("formats durations", () => {
    expect(formatSecs(45)).toBe("45s");
    expect(formatSecs(90)).toBe("1m 30s");
    expect(formatSecs(120)).toBe("2m");
    expect(formatSecs(3600)).toBe("1h");
    expect(formatSecs(3700)).toBe("1h 1m");
  });
  it("schedules one timer for the nearest change", () => {
    expect(nextTick([{ burn_secs: 5 }, {}], 0)).toBeNull();
    expect(nextTick([{ burn_secs: 5, burn_at: 2_300 }, { burn_secs: 5, burn_at: 5_900 }], 0)).toBe(300);
    expect(nextTick([{ burn_secs: 5, burn_at: 2_000 }], 0)).toBe(1000);
  });
});
