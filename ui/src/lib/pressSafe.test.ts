import { afterEach, describe, expect, it, vi } from "vitest";
import { pressSafe } from "./dom";

describe("a redraw never lands between a press and its release", () => {
  const g = globalThis as unknown as { window?: EventTarget };
  afterEach(() => {
    delete g.window;
    vi.useRealTimers();
  });

  it("waits for the release, then draws once, after the click", () => {
    vi.useFakeTimers();
    g.window = new EventTarget();
    const el = new EventTarget() as unknown as HTMLElement;
    let draws = 0;
    const s = pressSafe(el, () => draws++);
    s.redraw();
    expect(draws).toBe(1);
    el.dispatchEvent(new Event("mousedown"));
    s.redraw();
    s.redraw();
    expect(draws).toBe(1);
    g.window.dispatchEvent(new Event("mouseup"));
    expect(draws).toBe(1);
    vi.runAllTimers();
    expect(draws).toBe(2);
    s.redraw();
    expect(draws).toBe(3);
    s.dispose();
  });

  it("does not wait for ever on a release that never comes", () => {
    vi.useFakeTimers();
    g.window = new EventTarget();
    const el = new EventTarget() as unknown as HTMLElement;
    let draws = 0;
    const s = pressSafe(el, () => draws++);
    el.dispatchEvent(new Event("pointerdown"));
    s.redraw();
    expect(draws).toBe(0);
    vi.advanceTimersByTime(2500);
    s.redraw();
    expect(draws).toBe(1);
  });
});
