// Go-live notices (issue 17): when a streamer or room the user follows
// goes live, the relay sends `room_live` on the chat socket (once per
// go-live); the shell shows this banner on every screen (the Rust side
// shows a desktop notification from the same event). "Watch" opens the
// room on the Watch screen.

import { on, type ChatPush } from "../api";
import { h } from "./dom";
import { t } from "./i18n";

export interface LiveNotice {
  room: string;
  owner: string;
  title: string;
  category: string;
}

/** The notice in a `chat://event` payload, if it is one. */
export function noticeOf(p: ChatPush): LiveNotice | null {
  if (p.kind !== "event") return null;
  const ev = p.ev as unknown as Record<string, unknown>;
  if (ev.ev !== "room_live" || typeof ev.room !== "string") return null;
  return { room: ev.room, owner: String(ev.owner ?? ""), title: String(ev.title ?? ""), category: String(ev.category ?? "") };
}

/** The notice's words: "alice is live: TITLE". */
export function noticeText(n: LiveNotice): string {
  return t("notice.live", { owner: n.owner, title: n.title || n.room });
}

let wanted: string | null = null;

/** The room a notice's Watch button asked for (once). */
export function takeWantedRoom(): string | null {
  const r = wanted;
  wanted = null;
  return r;
}

/** Shows each notice as a banner until dismissed or a minute passes. */
export function followLiveNotices(openWatch: () => void): () => void {
  const box = h("div.live-notices", { "data-testid": "live-notices" });
  // A row under the status strip, in the flow: a notice pushes the screen
  // down while it shows instead of covering the screen's own header.
  const strip = document.getElementById("strip");
  if (strip) strip.after(box);
  else document.body.appendChild(box);
  const un = on<ChatPush>("chat://event", (p) => {
    const n = noticeOf(p);
    if (!n) return;
    const el = h(
      "div.live-notice",
      { "data-testid": "live-notice", "data-room": n.room, role: "status" },
      h("span.live-dot", {}, t("strip.live")),
      h("span.live-notice-text", {}, noticeText(n)),
      h("button.small.primary", { "data-testid": "live-notice-watch", onclick: () => ((wanted = n.room), el.remove(), openWatch()) }, t("notice.watch")),
      h("button.small", { onclick: () => el.remove(), title: t("notice.dismiss"), "aria-label": t("notice.dismiss") }, "×"),
    );
    box.appendChild(el);
    window.setTimeout(() => el.remove(), 60_000);
  });
  return () => {
    un();
    box.remove();
  };
}
