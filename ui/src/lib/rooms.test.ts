import { describe, expect, it } from "vitest";
import { formatViewers, liveFor, orderRooms, relayUrl, replayLabel, roomRow, searchRooms, withTicket, type RoomInfo } from "./rooms";

const room = (over: Partial<RoomInfo>): RoomInfo => ({
  id: "r1",
  title: "Room",
  category: "",
  owner: "alice",
  private: false,
  live: true,
  started_at: 0,
  clock_anchor_ms: null,
  hls_path: "/live/r1/index.m3u8",
  flv_path: "/live/r1/live.flv",
  mp4_path: "/live/r1/live.mp4",
  mse_type: null,
  viewers: 0,
  stream_viewers: 0,
  chat_viewers: 0,
  ladder: ["source"],
  followers: 0,
  cover_path: "/v1/rooms/r1/cover",
  has_cover: false,
  ...over,
});

describe("room directory", () => {
  it("formats viewer counts", () => {
    expect(formatViewers(0)).toBe("no viewers");
    expect(formatViewers(1)).toBe("1 viewer");
    expect(formatViewers(42)).toBe("42 viewers");
    expect(formatViewers(1530)).toBe("1.5k viewers");
    expect(formatViewers(2000)).toBe("2k viewers");
    expect(formatViewers(3_250_000)).toBe("3.2M viewers");
  });
  it("says how long a room has been live", () => {
    expect(liveFor(room({ started_at: 0 }), 30_000)).toBe("just started");
    expect(liveFor(room({ started_at: 0 }), 5 * 60_000)).toBe("live for 5 min");
    expect(liveFor(room({ started_at: 0 }), 65 * 60_000)).toBe("live for 1 h 5 min");
    expect(liveFor(room({ started_at: 0 }), 120 * 60_000)).toBe("live for 2 h");
    expect(liveFor(room({ live: false, started_at: null }), 1)).toBe("offline");
  });
  it("orders live, then by viewers, then newest", () => {
    const rs = [room({ id: "off", live: false, viewers: 99 }), room({ id: "a", viewers: 2, started_at: 5 }), room({ id: "b", viewers: 2, started_at: 9 }), room({ id: "c", viewers: 10 })];
    expect(orderRooms(rs).map((r) => r.id)).toEqual(["c", "b", "a", "off"]);
  });
  it("searches title, streamer and category", () => {
    const rs = [room({ id: "1", title: "Speedrun", owner: "bob" }), room({ id: "2", title: "Cooking", category: "Food" })];
    expect(searchRooms(rs, "speed").map((r) => r.id)).toEqual(["1"]);
    expect(searchRooms(rs, "BOB").map((r) => r.id)).toEqual(["1"]);
    expect(searchRooms(rs, "food").map((r) => r.id)).toEqual(["2"]);
    expect(searchRooms(rs, "  ")).toHaveLength(2);
  });
  it("builds rows and URLs", () => {
    expect(roomRow(room({ title: "", viewers: 1 }), 0)).toMatchObject({ title: "r1", streamer: "alice", viewers: "1 viewer" });
    expect(relayUrl("http://127.0.0.1:7380/", "/live/r1/live.flv")).toBe("http://127.0.0.1:7380/live/r1/live.flv");
    expect(relayUrl("http://h:1", "x")).toBe("http://h:1/x");
    expect(replayLabel({ id: "1", started_at: new Date(2026, 0, 2, 3, 4).getTime(), bytes: 5 * 1024 * 1024, path: "/replays/r/1.mp4", renditions: [] })).toBe("2026-01-02 03:04 · 5.0 MB");
  });
});

describe("private rooms", () => {
  it("puts the watch ticket on media URLs", () => {
    expect(withTicket("http://r/live/a/live.mp4", "wt.a.1.ff.ann")).toBe("http://r/live/a/live.mp4?ticket=wt.a.1.ff.ann");
    expect(withTicket("http://r/x?y=1", "t")).toBe("http://r/x?y=1&ticket=t");
    expect(withTicket("http://r/x", null)).toBe("http://r/x");
  });
});
