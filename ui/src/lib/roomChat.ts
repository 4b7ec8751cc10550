// Live-room chat beside the player: comments in seq order without
// duplicates (the join answer's `recent` and pushed comments overlap),
// bounded so a busy room never grows the page without end.

import { errorText, kickedFor, t, tn, type ErrorLike } from "./i18n";
import type { RoomComment } from "../generated/app";

// Generated from the relay's Rust type (onair_proto::RoomComment).
export type { RoomComment };

export const KEEP_COMMENTS = 200;

/** Merges comments by seq, oldest first, keeping the newest `keep`. */
export function addComments(list: readonly RoomComment[], more: readonly RoomComment[], keep = KEEP_COMMENTS): RoomComment[] {
  const by = new Map<number, RoomComment>();
  for (const c of list) by.set(c.seq, c);
  for (const c of more) by.set(c.seq, c);
  const all = [...by.values()].sort((a, b) => a.seq - b.seq);
  return all.length > keep ? all.slice(all.length - keep) : all;
}

/** The line under the player: "12 in chat". */
export function chatCount(n: number): string {
  return tn("watch.in_chat", Math.max(0, n));
}

/**
 * A comment's refusal in words (the relay's codes, docs/protocol.md); any
 * other error as `errorText` words it, never the relay's own English.
 */
export function sayError(e: unknown): string {
  const x: ErrorLike = e && typeof e === "object" ? (e as ErrorLike) : { message: String(e) };
  switch (x.relay_code ?? x.code) {
    case "banned_word":
      return t("watch.err.banned_word");
    case "muted":
      return t("watch.err.muted");
    case "kicked":
      return t("watch.err.kicked", { detail: kickedFor(x.message ?? "") });
    case "rate_limited":
      return t("watch.err.rate_limited");
    default:
      return errorText(e);
  }
}
