import { describe, expect, it } from "vitest";
import { cameraWhy, controls, duration, endReasonText, IDLE, mediaLine, noticeText, reduceCall, statusLine, type CallEvent } from "./callState";

const run = (evs: CallEvent[]) => evs.reduce(reduceCall, IDLE);

describe("call state", () => {
  it("goes outgoing → connecting → active → ended → idle", () => {
    let s = run([{ type: "dialing", call_id: null, peer: "bob" }]);
    expect(s.phase).toBe("outgoing");
    expect(controls(s)).toMatchObject({ cancel: true, answer: false });
    expect(statusLine(s, 0)).toBe("Calling bob… (ringing)");
    s = reduceCall(s, { type: "accepted", call_id: "c1" });
    expect(s).toMatchObject({ phase: "connecting", callId: "c1" });
    s = reduceCall(s, { type: "connected", call_id: "c1", at: 1_000 });
    expect(controls(s).inCall).toBe(true);
    expect(statusLine(s, 43_000)).toBe("0:42 with bob");
    s = reduceCall(s, { type: "ended", call_id: "c1", reason: "hangup" });
    expect(statusLine(s, 0)).toBe("Call ended: hung up");
    expect(reduceCall(s, { type: "dismiss" })).toEqual(IDLE);
  });
  it("rings, and decline ends it", () => {
    let s = run([{ type: "ringing", call_id: "c2", peer: "carol" }]);
    expect(controls(s)).toMatchObject({ answer: true, decline: true, call: false });
    expect(statusLine(s, 0)).toBe("carol is calling");
    s = reduceCall(s, { type: "ended", call_id: "c2", reason: "declined" });
    expect(s.phase).toBe("ended");
  });
  it("ignores events of other calls and a second ring while busy", () => {
    let s = run([{ type: "ringing", call_id: "c2", peer: "carol" }, { type: "accepted", call_id: "c2" }]);
    s = reduceCall(s, { type: "ringing", call_id: "c3", peer: "dan" });
    expect(s).toMatchObject({ callId: "c2", peer: "carol" });
    s = reduceCall(s, { type: "ended", call_id: "c3", reason: "timeout" });
    expect(s.phase).toBe("connecting");
    s = reduceCall(s, { type: "quality", call_id: "c3", score: 10 });
    expect(s.quality).toBeNull();
    s = reduceCall(s, { type: "quality", call_id: "c2", score: 90 });
    expect(s.quality).toBe(90);
  });
  it("tracks local controls", () => {
    const s = run([{ type: "local", muted: true }, { type: "local", camera_off: true, sharing: true }, { type: "local", muted: false }]);
    expect(s).toMatchObject({ muted: false, cameraOff: true, sharing: true, beauty: false });
  });
  it("formats durations and reasons", () => {
    expect(duration(3_723_000)).toBe("1:02:03");
    expect(duration(-5)).toBe("0:00");
    expect(endReasonText("timeout")).toBe("no answer");
    expect(endReasonText("weird")).toBe("an error (weird)");
    expect(endReasonText("offline")).toMatch(/^The other side is not online/);
  });
});

describe("call media view", () => {
  it("says what the link does in one line", () => {
    expect(mediaLine(null)).toBe("");
    const f = { send_width: 1280, send_height: 720, recv_width: 640, recv_height: 360, send_kbps: 1180.4, rtt_ms: 2.6, loss: 0, relay_connected: true };
    expect(mediaLine(f, "720p")).toBe("Sending 1280×720 (720p) · receiving 640×360 · 1180 kbps out · 3 ms · 0% loss");
    expect(mediaLine(f, "720p", true)).toBe("receiving 640×360 · 1180 kbps out · 3 ms · 0% loss");
    expect(mediaLine({ ...f, send_width: 0, send_height: 0, recv_width: 0, recv_height: 0, send_kbps: 90, rtt_ms: null, loss: 0.004, relay_connected: false })).toBe("90 kbps out · 0.4% loss · relay reconnecting…");
  });

});

describe("a camera that did not open", () => {
  it("says why in the user's words", () => {
    expect(cameraWhy("no camera found at camera:7 (V4L2 error): connect one, or pick another video source (--video test|file:PATH|screen)")).toBe("no camera is connected here; pick another video source");
    expect(cameraWhy("the camera is busy")).toBe("the camera is busy");
  });
});

describe("the engine's lines on screen", () => {
  it("turns log lines into sentences and hides the rest", () => {
    expect(noticeText('bookmark "Bookmark 1" at 15306 ms')).toBe("Bookmark added at 0:15");
    expect(noticeText("recording saved: /home/a/call-bob.mp4 (3000 ms, 1 bookmarks)")).toBe("Recording saved in Recordings");
    expect(noticeText("alice is recording this call")).toBe("alice is recording this call");
    expect(noticeText("camera off (sending black)")).toBeNull();
    expect(noticeText("connected")).toBeNull();
    expect(noticeText("could not start recording: disk full")).toBe("could not start recording: disk full");
  });
});
