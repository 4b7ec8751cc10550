import { describe, expect, it } from "vitest";
import { hotkeyClashes, hotkeyFromEvent, parseHotkey, retentionLabel, validRelayUrl } from "./settings";

describe("settings", () => {
  it("validates relay URLs like the chat client", () => {
    expect(validRelayUrl("http://127.0.0.1:7380")).toBeNull();
    expect(validRelayUrl("http://localhost:7380/")).toBeNull();
    expect(validRelayUrl("https://relay.example:443")).toBeNull();
    expect(validRelayUrl("https://relay.example")).toBeNull();
    expect(validRelayUrl("wss://[::1]:8443")).toBeNull();
    expect(validRelayUrl("http://relay.example:80/")).toContain("unencrypted");
    expect(validRelayUrl("http://relay.example:80/", true)).toBeNull();
    expect(validRelayUrl("http://127.0.0.1")).toContain("port");
    expect(validRelayUrl("https://h:70000")).toContain("1–65535");
    expect(validRelayUrl("https://h:1/path")).not.toBeNull();
    expect(validRelayUrl("https://user@h")).not.toBeNull();
  });
  it("parses and normalises hotkeys", () => {
    expect(parseHotkey("ctrl + shift + r")).toEqual({ ok: true, value: "Ctrl+Shift+R" });
    expect(parseHotkey("Shift+CommandOrControl+f5")).toEqual({ ok: true, value: "CommandOrControl+Shift+F5" });
    expect(parseHotkey("R").ok).toBe(false);
    expect(parseHotkey("Ctrl+A+B").ok).toBe(false);
    expect(parseHotkey("Alt+Banana").ok).toBe(false);
    expect(parseHotkey("").ok).toBe(false);
  });
  it("finds clashing shortcuts", () => {
    expect(hotkeyClashes({ record: "Ctrl+Shift+R", bookmark: "shift+ctrl+r", live: "Ctrl+Shift+L" })).toEqual([["record", "bookmark"]]);
  });
  it("labels retention", () => {
    expect(retentionLabel(null)).toBe("Keep forever");
    expect(retentionLabel(1)).toBe("1 day");
    expect(retentionLabel(30)).toBe("30 days");
  });
});

describe("the hotkey recorder", () => {
  const ev = (o: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean; key: string; code: string }>) => ({ ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, key: "", code: "", ...o });
  it("turns a key press into the accelerator the plugin takes", () => {
    expect(hotkeyFromEvent(ev({ ctrlKey: true, shiftKey: true, key: "R", code: "KeyR" }))).toBe("CommandOrControl+Shift+R");
    expect(hotkeyFromEvent(ev({ altKey: true, shiftKey: true, key: "!", code: "Digit1" }))).toBe("Alt+Shift+1");
    expect(hotkeyFromEvent(ev({ metaKey: true, key: "F5", code: "F5" }))).toBe("CommandOrControl+F5");
  });
  it("waits while only modifiers are down", () => {
    expect(hotkeyFromEvent(ev({ ctrlKey: true, key: "Control", code: "ControlLeft" }))).toBeNull();
  });
  it("gives what parseHotkey accepts, or refuses a bare key", () => {
    const v = hotkeyFromEvent(ev({ ctrlKey: true, key: "b", code: "KeyB" }))!;
    expect(parseHotkey(v)).toEqual({ ok: true, value: v });
    expect(parseHotkey(hotkeyFromEvent(ev({ key: "b", code: "KeyB" }))!).ok).toBe(false);
  });
});
