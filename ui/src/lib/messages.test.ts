import { describe, expect, it } from "vitest";
import { canRecall, canRetry, displayText, formatBytes, mergeHistory, messageBadge, withDaySeparators, type ChatMessage } from "./messages";

const msg = (over: Partial<ChatMessage>): ChatMessage => ({ id: "m", conv: "dm:alice:bob", seq: 1, from: "alice", text: "hi", state: "sent", sent_at: 1_000, ...over });

describe("message badges", () => {
  it("shows pending as sending online and queued offline", () => {
    expect(messageBadge(msg({ state: "pending", seq: null }), "alice", true)).toMatchObject({ text: "sending…", tone: "pending" });
    expect(messageBadge(msg({ state: "pending", seq: null }), "alice", false)).toMatchObject({ text: "queued", tone: "pending" });
  });
  it("shows sent, read and failed with the relay's reason", () => {
    expect(messageBadge(msg({}), "alice", true)).toMatchObject({ text: "sent", tone: "sent" });
    expect(messageBadge(msg({ read_by: ["bob"] }), "alice", true)).toMatchObject({ text: "read", tone: "read", title: "Read by bob" });
    expect(messageBadge(msg({ read_by: ["bob", "carol"] }), "alice", true).text).toBe("read by 2");
    const f = messageBadge(msg({ state: "failed", seq: null, error: "bob blocked you" }), "alice", true);
    expect(f).toMatchObject({ text: "failed", tone: "failed" });
    expect(f.title).toContain("bob blocked you");
  });
  it("gives others' messages no badge, except recalled", () => {
    expect(messageBadge(msg({ from: "bob", state: "received" }), "alice", true).tone).toBe("none");
    expect(messageBadge(msg({ from: "bob", state: "recalled" }), "alice", true).tone).toBe("recalled");
  });
});

describe("retry and recall", () => {
  it("retries only my failed messages", () => {
    expect(canRetry(msg({ state: "failed" }), "alice")).toBe(true);
    expect(canRetry(msg({ state: "pending" }), "alice")).toBe(false);
    expect(canRetry(msg({ state: "sent" }), "alice")).toBe(false);
    expect(canRetry(msg({ state: "failed", from: "bob" }), "alice")).toBe(false);
  });
  it("recalls my sent messages inside the window only", () => {
    expect(canRecall(msg({ sent_at: 0 }), "alice", 119_000)).toBe(true);
    expect(canRecall(msg({ sent_at: 0 }), "alice", 121_000)).toBe(false);
    expect(canRecall(msg({ sent_at: 0, state: "pending" }), "alice", 1)).toBe(false);
    expect(canRecall(msg({ sent_at: 0, from: "bob", state: "received" }), "alice", 1)).toBe(false);
  });
});

describe("rendering helpers", () => {
  it("shows recalled and attachment-only messages", () => {
    expect(displayText(msg({ state: "recalled", text: "" }))).toBe("Message recalled");
    expect(displayText(msg({ text: "", attachment: { id: "a", name: "f.png", size: 3, mime: "image/png" } }))).toBe("f.png");
    expect(formatBytes(10)).toBe("10 B");
    expect(formatBytes(2048)).toBe("2.0 KB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
  });
  it("inserts a separator per local day", () => {
    const now = new Date(2026, 10, 21, 12).getTime();
    const rows = withDaySeparators([msg({ sent_at: new Date(2026, 10, 20, 9).getTime() }), msg({ id: "b", sent_at: new Date(2026, 10, 21, 8).getTime() }), msg({ id: "c", sent_at: new Date(2026, 10, 21, 9).getTime() })], now);
    expect(rows.map((r) => (r.kind === "day" ? r.label : r.msg.id))).toEqual(["Yesterday", "m", "Today", "b", "c"]);
  });
  it("merges pages by sender and id, ordered then pending", () => {
    const cur = [msg({ id: "a", seq: 1 }), msg({ id: "p", seq: null, state: "pending", sent_at: 5 })];
    const fresh = [msg({ id: "p", seq: 2, state: "sent", sent_at: 6 }), msg({ id: "q", seq: null, state: "pending", sent_at: 7 })];
    expect(mergeHistory(cur, fresh).map((m) => `${m.id}:${m.state}`)).toEqual(["a:sent", "p:sent", "q:pending"]);
  });
});
