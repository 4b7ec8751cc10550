import { describe, expect, it } from "vitest";
import type { ChatPush } from "../api";
import { noticeOf, noticeText } from "./liveNotice";
import { setLanguage } from "./i18n";

describe("go-live notices", () => {
  it("reads room_live events and nothing else", () => {
    const p = { kind: "event", ev: { ev: "room_live", room: "r1", owner: "alice", title: "Speedrun", category: "games" } } as unknown as ChatPush;
    expect(noticeOf(p)).toEqual({ room: "r1", owner: "alice", title: "Speedrun", category: "games" });
    expect(noticeOf({ kind: "event", ev: { ev: "conv_changed", conv: "g" } } as unknown as ChatPush)).toBeNull();
    expect(noticeOf({ kind: "online" } as unknown as ChatPush)).toBeNull();
  });

  it("says who is live in plain words, in English and Chinese", () => {
    const n = { room: "r1", owner: "alice", title: "Speedrun", category: "" };
    setLanguage("en");
    expect(noticeText(n)).toBe("alice is live: Speedrun");
    setLanguage("zh");
    expect(noticeText(n)).toBe("alice 正在直播：Speedrun");
    setLanguage("en");
  });
});
