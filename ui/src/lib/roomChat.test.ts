import { describe, expect, it } from "vitest";
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
    expect(sayError("muted", "x")).toContain("muted");
    expect(sayError("other", "as the relay said")).toBe("as the relay said");
  });
});
