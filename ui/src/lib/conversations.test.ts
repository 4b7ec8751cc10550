import { describe, expect, it } from "vitest";
import { applyIncoming, convTitle, dmConvId, dmPeer, filterConversations, orderConversations, preview, totalUnread, unreadBadge, type ConvSummary } from "./conversations";

const conv = (id: string, last_at: number | null, extra: Partial<ConvSummary> = {}): ConvSummary => ({
  id,
  kind: id.startsWith("g:") ? "group" : "dm",
  name: "",
  owner: null,
  members: [],
  last_file: null,
  unread: 0,
  last_text: last_at === null ? null : "hi",
  last_from: "bob",
  last_at,
  pending: 0,
  ...extra,
});

describe("conversation list", () => {
  it("derives dm ids and peers symmetrically", () => {
    expect(dmConvId("bob", "alice")).toBe("dm:alice:bob");
    expect(dmPeer("dm:alice:bob", "alice")).toBe("bob");
    expect(dmPeer("dm:alice:bob", "bob")).toBe("alice");
    expect(dmPeer("dm:alice:bob", "carol")).toBeNull();
    expect(dmPeer("g:0123456789abcdef", "alice")).toBeNull();
  });

  it("titles dms by peer and unnamed groups by members", () => {
    expect(convTitle(conv("dm:alice:bob", 1), "alice")).toBe("bob");
    expect(convTitle(conv("g:0123456789abcdef", 1, { name: "Crew" }), "alice")).toBe("Crew");
    expect(convTitle(conv("g:0123456789abcdef", 1, { members: ["alice", "bob", "carol", "dan", "eve"] }), "alice")).toBe("bob, carol, dan +1");
  });

  it("orders by newest activity, empty ones last, ties by title", () => {
    const list = [conv("dm:alice:zed", 5), conv("dm:alice:bob", null), conv("dm:alice:carl", 9), conv("dm:alice:amy", 5), conv("dm:alice:al", null)];
    expect(orderConversations(list, "alice").map((c) => c.id)).toEqual(["dm:alice:carl", "dm:alice:amy", "dm:alice:zed", "dm:alice:al", "dm:alice:bob"]);
  });

  it("formats unread badges and totals", () => {
    expect(unreadBadge(0)).toBe("");
    expect(unreadBadge(-2)).toBe("");
    expect(unreadBadge(7)).toBe("7");
    expect(unreadBadge(100)).toBe("99+");
    expect(unreadBadge(NaN)).toBe("");
    expect(totalUnread([{ unread: 2 }, { unread: 0 }, { unread: 5 }])).toBe(7);
  });

  it("previews the last message with its sender", () => {
    expect(preview({ kind: "dm", last_text: null, last_from: null }, "alice")).toBe("No messages yet");
    expect(preview({ kind: "dm", last_text: "hello", last_from: "alice" }, "alice")).toBe("You: hello");
    expect(preview({ kind: "group", last_text: "yo\n there", last_from: "bob" }, "alice")).toBe("bob: yo there");
    expect(preview({ kind: "dm", last_text: "", last_from: "bob" }, "alice")).toBe("(recalled)");
    expect(preview({ kind: "dm", last_text: "", last_from: "bob", last_file: "cat.png" }, "alice")).toBe("File: cat.png");
    expect(preview({ kind: "dm", last_text: "x".repeat(80), last_from: "bob" }, "alice")).toHaveLength(60);
  });

  it("filters by title or member", () => {
    const list = [conv("dm:alice:bob", 1), conv("g:0123456789abcdef", 2, { name: "Team", members: ["alice", "carol"] })];
    expect(filterConversations(list, "alice", "car").map((c) => c.id)).toEqual(["g:0123456789abcdef"]);
    expect(filterConversations(list, "alice", " BO ").map((c) => c.id)).toEqual(["dm:alice:bob"]);
    expect(filterConversations(list, "alice", "")).toHaveLength(2);
  });

  it("applies pushed messages: unread only for others' messages in closed conversations", () => {
    let list = [conv("dm:alice:bob", 1)];
    list = applyIncoming(list, { conv: "dm:alice:bob", from: "bob", text: "one", sent_at: 10 }, "alice", null);
    expect(list[0]).toMatchObject({ unread: 1, last_text: "one", last_at: 10 });
    list = applyIncoming(list, { conv: "dm:alice:bob", from: "bob", text: "two", sent_at: 11 }, "alice", "dm:alice:bob");
    expect(list[0].unread).toBe(1);
    list = applyIncoming(list, { conv: "dm:alice:bob", from: "alice", text: "mine", sent_at: 12 }, "alice", null);
    expect(list[0].unread).toBe(1);
    list = applyIncoming(list, { conv: "g:0123456789abcdef", from: "carol", text: "new", sent_at: 13 }, "alice", null);
    expect(list).toHaveLength(2);
    expect(list[1]).toMatchObject({ kind: "group", unread: 1 });
  });
});
