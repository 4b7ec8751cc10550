import { describe, expect, it } from "vitest";
import { consentPrompt, NO_RECORDING, recordButton, recordingBanner, reduceRecording, type RecordingEvent } from "./recording";

const run = (evs: RecordingEvent[]) => evs.reduce(reduceRecording, NO_RECORDING);

describe("recording banner", () => {
  it("is hidden when nobody records", () => {
    expect(recordingBanner(NO_RECORDING, "alice").visible).toBe(false);
  });
  it("tells me clearly that the other side records", () => {
    const b = recordingBanner(run([{ type: "started", by: "bob" }]), "alice");
    expect(b).toMatchObject({ visible: true, tone: "recording" });
    expect(b.text).toContain("bob is recording this call");
  });
  it("shows my own recording, and both", () => {
    expect(recordingBanner(run([{ type: "started", by: "alice" }]), "alice").text).toContain("you are recording");
    expect(recordingBanner(run([{ type: "started", by: "alice" }, { type: "started", by: "bob" }]), "alice").text).toContain("you and bob");
  });
  it("disappears when recording stops, and duplicates do not stack", () => {
    const s = run([{ type: "started", by: "bob" }, { type: "started", by: "bob" }, { type: "stopped", by: "bob" }]);
    expect(s.recording).toEqual([]);
    expect(recordingBanner(s, "alice").visible).toBe(false);
  });
  it("asks for consent on the other side's request, and waits on mine", () => {
    const s = run([{ type: "requested", by: "bob" }]);
    expect(consentPrompt(s, "alice")).toEqual({ show: true, text: "bob wants to record this call. Allow?" });
    expect(consentPrompt(s, "bob").show).toBe(false);
    expect(recordingBanner(s, "bob").tone).toBe("waiting");
    expect(recordButton(s, "bob")).toMatchObject({ disabled: true });
  });
  it("clears the prompt on start or decline and reports the refusal", () => {
    expect(consentPrompt(run([{ type: "requested", by: "bob" }, { type: "started", by: "bob" }]), "alice").show).toBe(false);
    const d = run([{ type: "requested", by: "alice" }, { type: "declined", by: "bob" }]);
    expect(consentPrompt(d, "bob").show).toBe(false);
    expect(recordingBanner(d, "alice")).toMatchObject({ tone: "declined", text: "bob declined recording" });
    expect(run([{ type: "started", by: "bob" }, { type: "reset" }])).toEqual(NO_RECORDING);
  });
  it("toggles the record button", () => {
    expect(recordButton(NO_RECORDING, "alice")).toMatchObject({ action: "start", label: "Record" });
    expect(recordButton(run([{ type: "started", by: "alice" }]), "alice")).toMatchObject({ action: "stop" });
  });
});
