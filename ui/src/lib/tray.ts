// The tray's words (src-tauri tray.rs): the Rust side draws the tray from
// the app state, in the words the UI's catalogue gives it here, so the tray
// speaks the language the window does. Sent at start and on a change.

import { call } from "../api";
import type { TrayWords } from "../generated/app";
import { CATALOGUE, t, type Key } from "./i18n";

/** The tray's words in the language now chosen (`{peer}`, `{time}` stay for Rust to fill). */
export function trayWords(): TrayWords {
  return {
    idle: t("strip.idle"),
    live: t("strip.live"),
    rec: t("strip.rec"),
    in_call: t("strip.in_call", { peer: "{peer}" }),
    calling: t("strip.calling", { peer: "{peer}" }),
    ringing: t("strip.ringing", { peer: "{peer}" }),
    show: t("tray.show"),
    start_rec: t("tray.start_rec"),
    stop_live: t("strip.stop_live"),
    stop_rec: t("strip.stop_rec"),
    hang_up: t("call.hangup"),
    quit: t("tray.quit"),
    rec_started: t("tray.rec_started"),
    rec_saved: t("tray.rec_saved"),
    rec_failed: t("tray.rec_failed"),
    bookmark_at: t("tray.bookmark_at", { time: "{time}" }),
    no_bookmark: t("tray.no_bookmark"),
    incoming_call: t("tray.incoming_call"),
    group_from: t("tray.group_from", { from: "{from}" }),
    sent_file: t("tray.sent_file"),
    live_now: t("notice.live", { owner: "{owner}", title: "{title}" }),
    errors: errorWords(),
  };
}

/**
 * The error sentences (`relay.<code>`, `app.<code>`, `{detail}` kept) for
 * a failed hotkey's notification, worded as `errorText` words a toast.
 */
export function errorWords(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(CATALOGUE.en) as Key[]) {
    if (k.startsWith("error.relay.") || k.startsWith("error.app.")) out[k.slice("error.".length)] = t(k, { detail: "{detail}" });
  }
  return out;
}

/** Tells the tray the words; a failure only leaves it in English. */
export function sendTrayWords(): void {
  call<void>("tray_words", { words: trayWords() }).catch(() => {});
}
