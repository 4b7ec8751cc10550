import { describe, expect, it } from "vitest";
import { hotkeyClashes, parseHotkey, retentionLabel, validRelayUrl } from "./settings";

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
