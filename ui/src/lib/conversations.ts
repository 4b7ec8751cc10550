// Conversation list view logic: titles, ordering and unread badges.
// Pure functions over what the `chat_conversations` command returns.

import { t } from "./i18n";
import type { ConvSummary } from "../generated/app";

/** One conversation as `chat_conversations` returns it (generated from onair_chat::ConvSummary). */
export type { ConvSummary };

/** The other user of a 1:1 conversation id (`dm:a:b`), if `me` is in it. */
export function dmPeer(convId: string, me: string): string | null {
  if (!convId.startsWith("dm:")) return null;
  const [a, b] = convId.slice(3).split(":");
  if (a === undefined || b === undefined) return null;
  if (a === me) return b;
  if (b === me) return a;
  return null;
}

/** The DM id for two users, as the relay derives it. */
export function dmConvId(a: string, b: string): string {
  return a <= b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/** What the list shows as a conversation's name. */
export function convTitle(c: Pick<ConvSummary, "id" | "kind" | "name" | "members">, me: string): string {
  if (c.kind === "dm") return dmPeer(c.id, me) ?? c.id;
  if (c.name.trim()) return c.name;
  const others = c.members.filter((m) => m !== me);
  return others.length ? others.slice(0, 3).join(", ") + (others.length > 3 ? ` +${others.length - 3}` : "") : t("chat.group");
}

/**
 * Newest activity first; conversations with unread messages do not jump
 * ahead of newer ones (the order is by time only, as users expect), and
 * ties (or empty conversations) fall back to the title so the order is stable.
 */
export function orderConversations<T extends ConvSummary>(list: readonly T[], me: string): T[] {
  return [...list].sort((x, y) => {
    const tx = x.last_at ?? -1;
    const ty = y.last_at ?? -1;
    if (tx !== ty) return ty - tx;
    return convTitle(x, me).localeCompare(convTitle(y, me));
  });
}

/** The badge text for an unread count: "" for none, "99+" past 99. */
export function unreadBadge(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return "";
  return n > 99 ? "99+" : String(Math.floor(n));
}

/** Total unread across conversations (for the nav badge and the tray). */
export function totalUnread(list: readonly Pick<ConvSummary, "unread">[]): number {
  return list.reduce((s, c) => s + Math.max(0, c.unread), 0);
}

/** One line of preview under the title. */
export function preview(c: Pick<ConvSummary, "kind" | "last_text" | "last_from"> & { last_file?: string | null }, me: string): string {
  if (c.last_text === null) return t("chat.no_messages");
  const text = c.last_text === "" ? (c.last_file ? t("chat.file_preview", { name: c.last_file }) : t("chat.recalled_preview")) : c.last_text.replace(/\s+/g, " ");
  const short = text.length > 60 ? text.slice(0, 59) + "…" : text;
  if (c.last_from === me) return t("chat.you", { text: short });
  if (c.kind === "group" && c.last_from) return `${c.last_from}: ${short}`;
  return short;
}

/** Case-insensitive filter of the list by title (the search box over the list). */
export function filterConversations<T extends ConvSummary>(list: readonly T[], me: string, query: string): T[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...list];
  return list.filter((c) => convTitle(c, me).toLowerCase().includes(q) || c.members.some((m) => m.toLowerCase().includes(q)));
}

/**
 * Applies a pushed message to the list without a round trip: moves the
 * conversation's last message and bumps unread unless it is the open one
 * or the message is mine. Unknown conversations are added (the next full
 * refresh fills in names).
 */
export function applyIncoming(
  list: readonly ConvSummary[],
  ev: { conv: string; from: string; text: string; sent_at: number },
  me: string,
  openConv: string | null,
): ConvSummary[] {
  const bump = ev.from !== me && ev.conv !== openConv ? 1 : 0;
  let found = false;
  const out = list.map((c) => {
    if (c.id !== ev.conv) return c;
    found = true;
    return { ...c, last_text: ev.text, last_from: ev.from, last_at: ev.sent_at, unread: c.unread + bump };
  });
  if (!found) {
    out.push({
      id: ev.conv,
      kind: ev.conv.startsWith("g:") ? "group" : "dm",
      name: "",
      owner: null,
      members: [],
      last_file: null,
      unread: bump,
      last_text: ev.text,
      last_from: ev.from,
      last_at: ev.sent_at,
      pending: 0,
    });
  }
  return out;
}
