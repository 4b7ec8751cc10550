import { describe, expect, it } from "vitest";
import { NO_STATE, stripView, type AppStatus } from "./appState";
import { setLanguage } from "./i18n";

setLanguage("en");
const at = (o: Partial<AppStatus>): AppStatus => ({ ...NO_STATE, ...o });

describe("the status strip", () => {
  it("shows nothing running before a start (no timer, no LIVE)", () => {
    const v = stripView(at({ job: "preview" }), 10_000);
    expect(v.live).toBeNull();
    expect(v.rec).toBeNull();
    expect(v.stop).toBeNull();
    expect(v.dot).toBe("idle");
    expect(v.relay).toEqual({ tone: "off", text: "Not signed in" });
  });

  it("shows REC with m:ss since the job started and a Stop", () => {
    const v = stripView(at({ job: "running", recording: true, job_started_ms: 1_000 }), 66_000);
    expect(v.rec).toEqual({ text: "REC", elapsed: "1:05" });
    expect(v.stop?.title).toBe("Stop and save the recording");
    expect(v.dot).toBe("rec");
  });

  it("shows LIVE and REC together, the clock once", () => {
    const v = stripView(at({ job: "running", live: true, recording: true, job_started_ms: 0 }), 3_000);
    expect(v.live).toEqual({ text: "LIVE", elapsed: "0:03" });
    expect(v.rec).toEqual({ text: "REC", elapsed: "" });
    expect(v.dot).toBe("live");
  });

  it("shows the call with its clock, and ringing without one", () => {
    const active = stripView(at({ call: { call_id: "c", peer: "bob", phase: "active", since_ms: 0 } }), 75_000);
    expect(active.call).toEqual({ phase: "active", text: "In a call with bob", elapsed: "1:15" });
    const ringing = stripView(at({ call: { call_id: "c", peer: "bob", phase: "incoming", since_ms: null } }), 0);
    expect(ringing.call?.text).toBe("bob is calling");
    expect(ringing.call?.elapsed).toBe("");
  });

  it("shows the relay connection and the unread count", () => {
    const on = stripView(at({ chat: { signed_in: true, user: "a", online: true }, unread: 3 }), 0);
    expect(on.relay.tone).toBe("ok");
    expect(on.unread).toBe("3");
    expect(on.unreadTitle).toBe("3 unread messages");
    const off = stripView(at({ chat: { signed_in: true, user: "a", online: false }, unread: 250 }), 0);
    expect(off.relay.tone).toBe("warn");
    expect(off.unread).toBe("99+");
  });

  it("words it in Chinese when asked", () => {
    setLanguage("zh");
    expect(stripView(at({ job: "running", recording: true, job_started_ms: 0 }), 0).rec?.text).toBe("录制中");
    setLanguage("en");
  });
});
