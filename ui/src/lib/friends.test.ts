import { describe, expect, it } from "vitest";
import { ago, applyPresence, friendActions, friendSections, presenceText, validUsername, type FriendInfo } from "./friends";

const f = (user: string, state: FriendInfo["state"], online = false, last_seen: number | null = null): FriendInfo => ({ user, state, online, last_seen });

describe("friends", () => {
  it("splits into sections sorted by name", () => {
    const s = friendSections([f("zed", "friends", true), f("amy", "friends", true), f("bob", "friends"), f("cat", "incoming"), f("dan", "outgoing"), f("eve", "blocked")]);
    expect(s.online.map((x) => x.user)).toEqual(["amy", "zed"]);
    expect(s.offline.map((x) => x.user)).toEqual(["bob"]);
    expect([s.incoming[0].user, s.outgoing[0].user, s.blocked[0].user]).toEqual(["cat", "dan", "eve"]);
  });
  it("describes presence", () => {
    expect(presenceText(f("a", "friends", true), 0)).toBe("Online");
    expect(presenceText(f("a", "friends", false, 0), 5 * 60_000)).toBe("Seen 5 min ago");
    expect(presenceText(f("a", "friends"), 0)).toBe("Offline");
    expect(presenceText(f("a", "incoming"), 0)).toBe("Wants to be friends");
    expect(ago(30_000)).toBe("just now");
    expect(ago(3 * 3_600_000)).toBe("3 h ago");
    expect(ago(50 * 3_600_000)).toBe("2 d ago");
  });
  it("applies presence events", () => {
    const l = applyPresence([f("a", "friends", false, 1), f("b", "friends")], { user: "a", online: true, last_seen: null });
    expect(l[0]).toMatchObject({ online: true, last_seen: 1 });
    expect(l[1].online).toBe(false);
  });
  it("offers the right actions", () => {
    expect(friendActions(f("a", "incoming"))).toContain("accept");
    expect(friendActions(f("a", "blocked"))).toEqual(["unblock"]);
    expect(friendActions(f("a", "friends"))).toContain("call");
  });
  it("checks user names like the relay", () => {
    expect(validUsername("alice_1")).toBe(true);
    expect(validUsername("Alice")).toBe(false);
    expect(validUsername("_x")).toBe(false);
    expect(validUsername("a".repeat(33))).toBe(false);
  });
});
