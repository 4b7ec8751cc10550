import { describe, expect, it } from "vitest";
import { cloudRecView } from "./cloudRec";

const cloud = (state: "pending" | "recording" | "done" | "failed" | "declined", started_by = "alice", reason: string | null = null) => ({ id: "r0123456789abcdef", state, started_by, reason });

describe("record on server", () => {
  it("offers to start when nothing is asked for", () => {
    expect(cloudRecView(null, "alice", "bob")).toMatchObject({ action: "start", label: "Record on server", line: null, ask: null });
  });
  it("says it is asking the other side, and asks the other side", () => {
    expect(cloudRecView(cloud("pending"), "alice", "bob")).toMatchObject({ action: "none", line: { text: "Asking bob to agree to server recording…", tone: "waiting" } });
    expect(cloudRecView(cloud("pending"), "bob", "alice").ask).toBe("alice wants the server to record this call. Allow?");
  });
  it("shows both sides it is recorded, and either can stop", () => {
    for (const me of ["alice", "bob"]) expect(cloudRecView(cloud("recording"), me, "x")).toMatchObject({ action: "stop", line: { text: "Recorded by the server", tone: "recording" } });
  });
  it("says it stopped, or failed and why", () => {
    expect(cloudRecView(cloud("done"), "alice", "bob")).toMatchObject({ action: "start", line: { text: "Server recording stopped: find it in Recordings → On the server" } });
    expect(cloudRecView(cloud("failed", "alice", "no recorder worker"), "bob", "alice").line).toEqual({ text: "Server recording failed: no recorder worker", tone: "error" });
    expect(cloudRecView(cloud("declined"), "alice", "bob").line?.text).toBe("bob declined server recording");
  });
});
