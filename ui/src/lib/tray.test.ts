import { afterEach, describe, expect, it } from "vitest";
import { setLanguage } from "./i18n";
import { trayWords } from "./tray";

describe("tray words", () => {
  afterEach(() => setLanguage("en"));

  it("come from the catalogue with the placeholders Rust fills", () => {
    const en = trayWords();
    expect(en.idle).toBe("Nothing live or recording");
    expect(en.in_call).toBe("In a call with {peer}");
    expect(en.bookmark_at).toContain("{time}");
    setLanguage("zh");
    const zh = trayWords();
    expect(zh.idle).toBe("没有直播或录制");
    expect(zh.in_call).toContain("{peer}");
    for (const [k, v] of Object.entries(zh)) expect(v, k).not.toBe(en[k as keyof typeof en]);
  });

  it("word a failed hotkey's notification as the toasts do", () => {
    setLanguage("zh");
    const w = trayWords();
    expect(w.errors["relay.not_owner"]).toBe("只有所有者可以这样做。");
    expect(w.errors["app.media"]).toContain("{detail}");
    expect(w.errors["relay.refused"]).toContain("{detail}");
  });
});
