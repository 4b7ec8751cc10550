// Friends, requests and blocks with presence, as `chat_friends` returns
// them (the relay's FriendInfo list) and as presence events update them.

import { t } from "./i18n";
import type { FriendInfo, FriendState } from "../generated/app";

// Generated from the relay's Rust types (onair_proto::FriendInfo).
export type { FriendInfo, FriendState };

export interface FriendSections {
  incoming: FriendInfo[];
  online: FriendInfo[];
  offline: FriendInfo[];
  outgoing: FriendInfo[];
  blocked: FriendInfo[];
}

/** Splits the list into what the sidebar shows, each sorted by name. */
export function friendSections(list: readonly FriendInfo[]): FriendSections {
  const by = (f: (x: FriendInfo) => boolean) => list.filter(f).sort((a, b) => a.user.localeCompare(b.user));
  return {
    incoming: by((f) => f.state === "incoming"),
    online: by((f) => f.state === "friends" && f.online),
    offline: by((f) => f.state === "friends" && !f.online),
    outgoing: by((f) => f.state === "outgoing"),
    blocked: by((f) => f.state === "blocked"),
  };
}

/** "online", "last seen 5 min ago", "request sent", … */
export function presenceText(f: FriendInfo, now: number): string {
  switch (f.state) {
    case "incoming":
      return t("presence.incoming");
    case "outgoing":
      return t("presence.outgoing");
    case "blocked":
      return t("presence.blocked");
    case "friends":
      if (f.online) return t("presence.online");
      if (f.last_seen == null) return t("presence.offline");
      return t("presence.last_seen", { ago: ago(now - f.last_seen) });
  }
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return t("ago.now");
  const m = Math.floor(s / 60);
  if (m < 60) return t("ago.min", { n: m });
  const h = Math.floor(m / 60);
  if (h < 24) return t("ago.hour", { n: h });
  return t("ago.day", { n: Math.floor(h / 24) });
}

/** Applies a pushed presence event. */
export function applyPresence(list: readonly FriendInfo[], ev: { user: string; online: boolean; last_seen: number | null }): FriendInfo[] {
  return list.map((f) => (f.user === ev.user ? { ...f, online: ev.online, last_seen: ev.last_seen ?? f.last_seen } : f));
}

/** The actions a row offers. */
export function friendActions(f: FriendInfo): ("accept" | "remove" | "block" | "unblock" | "message" | "call")[] {
  switch (f.state) {
    case "incoming":
      return ["accept", "remove", "block"];
    case "outgoing":
      return ["remove", "block"];
    case "blocked":
      return ["unblock"];
    case "friends":
      return ["message", "call", "remove", "block"];
  }
}

/** The relay's user-name rule, checked before a request goes out. */
export function validUsername(name: string): boolean {
  return /^[a-z0-9][a-z0-9_.-]{0,31}$/.test(name);
}
