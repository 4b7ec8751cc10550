// Message list view logic: delivery-state badges, retry and recall
// eligibility, and day separators. States come from the chat cache:
// pending | sent | failed | received | recalled.

import { t } from "./i18n";
import type { Message } from "../generated/app";

/** A message as `chat_history` returns it (generated from onair_chat::Message). */
export type ChatMessage = Message;
export type MessageState = Message["state"];

export interface Badge {
  /** Short text next to the message. */
  text: string;
  /** CSS modifier: pending | sent | read | failed | recalled | none. */
  tone: "pending" | "sent" | "read" | "failed" | "recalled" | "none";
  /** Longer explanation for the tooltip. */
  title: string;
}

/**
 * The delivery badge of a message. Only my messages carry one, except a
 * recalled message, which everyone sees as recalled. `online` changes the
 * pending wording: offline, it will go out when the relay is back.
 */
export function messageBadge(m: Pick<ChatMessage, "from" | "state" | "error" | "read_by">, me: string, online: boolean): Badge {
  if (m.state === "recalled") return { text: t("chat.state.recalled"), tone: "recalled", title: t("chat.state.recalled_title") };
  if (m.from !== me) return { text: "", tone: "none", title: "" };
  switch (m.state) {
    case "pending":
      return online
        ? { text: t("chat.state.sending"), tone: "pending", title: t("chat.state.sending_title") }
        : { text: t("chat.state.queued"), tone: "pending", title: t("chat.state.queued_title") };
    case "failed":
      return { text: t("chat.state.failed"), tone: "failed", title: m.error ? t("chat.state.failed_title", { detail: m.error }) : t("chat.state.failed_plain") };
    case "sent": {
      const readers = m.read_by ?? [];
      if (readers.length) return { text: readers.length === 1 ? t("chat.state.read") : t("chat.state.read_by", { n: readers.length }), tone: "read", title: t("chat.state.read_title", { users: readers.join(", ") }) };
      return { text: t("chat.state.sent"), tone: "sent", title: t("chat.state.sent_title") };
    }
    default:
      return { text: "", tone: "none", title: "" };
  }
}

/** A failed message of mine may be sent again (the relay refused it, nothing was stored). */
export function canRetry(m: Pick<ChatMessage, "from" | "state">, me: string): boolean {
  return m.from === me && m.state === "failed";
}

/** The relay's recall window (relay default `recall_window_secs` = 120). */
export const RECALL_WINDOW_MS = 120_000;

/** My sent message, still inside the recall window, may be recalled. */
export function canRecall(m: Pick<ChatMessage, "from" | "state" | "sent_at">, me: string, now: number, windowMs = RECALL_WINDOW_MS): boolean {
  return m.from === me && m.state === "sent" && now - m.sent_at <= windowMs;
}

/** The text to show: recalled messages have none left. */
export function displayText(m: Pick<ChatMessage, "state" | "text" | "attachment">): string {
  if (m.state === "recalled") return t("chat.msg_recalled");
  if (m.text) return m.text;
  if (m.attachment) return m.attachment.name;
  return "";
}

/** Human size for attachments. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** HH:MM in local time. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** Local calendar day key, for day separators. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export type Row = { kind: "day"; key: string; label: string } | { kind: "msg"; msg: ChatMessage };

/** Messages with a day separator before the first message of each local day. */
export function withDaySeparators(msgs: readonly ChatMessage[], now: number): Row[] {
  const today = dayKey(now);
  const yesterday = dayKey(now - 86_400_000);
  const rows: Row[] = [];
  let last = "";
  for (const m of msgs) {
    const k = dayKey(m.sent_at);
    if (k !== last) {
      rows.push({ kind: "day", key: k, label: k === today ? t("chat.today") : k === yesterday ? t("chat.yesterday") : k });
      last = k;
    }
    rows.push({ kind: "msg", msg: m });
  }
  return rows;
}

/**
 * Merges a fresh history page with what the screen holds, keyed by
 * (from, id), keeping the server order: pending messages stay after
 * ordered ones in the order written.
 */
export function mergeHistory(current: readonly ChatMessage[], fresh: readonly ChatMessage[]): ChatMessage[] {
  const key = (m: ChatMessage) => `${m.from}\u0000${m.id}`;
  const byKey = new Map<string, ChatMessage>();
  for (const m of current) byKey.set(key(m), m);
  for (const m of fresh) byKey.set(key(m), m);
  const all = [...byKey.values()];
  const ordered = all.filter((m) => m.seq !== null).sort((a, b) => (a.seq as number) - (b.seq as number));
  const pending = all.filter((m) => m.seq === null).sort((a, b) => a.sent_at - b.sent_at);
  return [...ordered, ...pending];
}
