import { describe, expect, it } from "vitest";
import { setLanguage } from "./i18n";
import { addComments, chatCount, sayError, type RoomComment } from "./roomChat";

const c = (seq: number, text = `c${seq}`): RoomComment => ({ seq, from: "bob", text, sent_at: seq });

describe("room chat", () => {
  it("merges recent and pushed comments by seq without duplicates", () => {
    const l = addComments([c(1), c(2)], [c(2), c(4), c(3)]);
    expect(l.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
  });
  it("keeps only the newest comments", () => {
    const l = addComments([], Array.from({ length: 10 }, (_, i) => c(i + 1)), 3);
    expect(l.map((x) => x.seq)).toEqual([8, 9, 10]);
  });
  it("words counts and refusals", () => {
    expect(chatCount(1)).toBe("1 in chat");
    expect(chatCount(5)).toBe("5 in chat");
    // The relay's refusal arrives as `relay_code` (the app's `code` is "network").
    expect(sayError({ code: "network", relay_code: "muted", message: "x" })).toContain("muted");
    expect(sayError({ code: "network", relay_code: "kicked", message: "kicked from this room's chat for 590 more seconds" })).toBe("You were removed from this chat for about 10 min.");
    expect(sayError({ code: "state", message: "as the app said" })).toBe("as the app said");
  });
  it("words a refused comment in Chinese, not in the relay's English", () => {
    setLanguage("zh");
    try {
      const kicked = sayError({ code: "network", relay_code: "kicked", message: "kicked from this room's chat for 59 more seconds" });
      expect(kicked).toBe("你已被移出本聊天，约 1 分钟。");
      for (const code of ["banned_word", "muted", "rate_limited", "not_member", "unauthorized"]) {
        const s = sayError({ code: "network", relay_code: code, message: "the relay's English" });
        expect(s, code).toMatch(/[\u4e00-\u9fff]/);
        expect(s, code).not.toContain("English");
      }
    } finally {
      setLanguage("en");
    }
  });
});
