// The Watch screen's live-room directory: formatting and ordering of what
// `watch_rooms` returns (the relay's GET /v1/rooms).

import type { ReplayInfo, RoomInfo } from "../generated/rooms";
import { t, tn } from "./i18n";

export type { ReplayInfo, RoomInfo };

/** 0 → "no viewers", 1 → "1 viewer", 1530 → "1.5k viewers". */
export function formatViewers(n: number): string {
  if (!n || n < 0) return t("watch.no_viewers");
  if (n < 1000) return tn("watch.viewers", n);
  if (n < 1_000_000) return t("watch.viewers.other", { n: `${trim1(n / 1000)}k` });
  return t("watch.viewers.other", { n: `${trim1(n / 1_000_000)}M` });
}

function trim1(x: number): string {
  return (Math.floor(x * 10) / 10).toFixed(1).replace(/\.0$/, "");
}

/** "live for 3 min" / "live for 1 h 5 min"; "offline" when not live. */
export function liveFor(r: Pick<RoomInfo, "live" | "started_at">, now: number): string {
  if (!r.live || r.started_at == null) return t("watch.offline");
  const mins = Math.max(0, Math.floor((now - r.started_at) / 60_000));
  if (mins < 1) return t("watch.just_started");
  if (mins < 60) return t("watch.live_min", { m: mins });
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  return m ? t("watch.live_hm", { h, m }) : t("watch.live_h", { h });
}

/** Live rooms first, then by viewers, then newest start, then title. */
export function orderRooms<T extends RoomInfo>(rooms: readonly T[]): T[] {
  return [...rooms].sort(
    (a, b) => Number(b.live) - Number(a.live) || b.viewers - a.viewers || (b.started_at ?? 0) - (a.started_at ?? 0) || a.title.localeCompare(b.title),
  );
}

/** The search box: title, streamer or category, any case. */
export function searchRooms<T extends RoomInfo>(rooms: readonly T[], query: string): T[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...rooms];
  return rooms.filter((r) => r.title.toLowerCase().includes(q) || r.owner.toLowerCase().includes(q) || r.category.toLowerCase().includes(q));
}

/** One directory row's text parts. */
export function roomRow(r: RoomInfo, now: number): { title: string; streamer: string; viewers: string; since: string; category: string } {
  return { title: r.title || r.id, streamer: r.owner, viewers: formatViewers(r.viewers), since: liveFor(r, now), category: r.category };
}

/** An absolute URL on the relay for a path the relay gave. */
export function relayUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + (path.startsWith("/") ? path : `/${path}`);
}

/** A media URL with a private room's watch ticket (`?ticket=`), if any. */
export function withTicket(url: string, ticket: string | null | undefined): string {
  if (!ticket) return url;
  return `${url}${url.includes("?") ? "&" : "?"}ticket=${encodeURIComponent(ticket)}`;
}

/** A replay's list label: local date and time, and size. */
export function replayLabel(r: ReplayInfo): string {
  const d = new Date(r.started_at);
  const pad = (n: number) => String(n).padStart(2, "0");
  const mb = r.bytes / 1024 / 1024;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())} · ${mb >= 1 ? `${mb.toFixed(1)} MB` : `${Math.max(1, Math.round(r.bytes / 1024))} KB`}`;
}
