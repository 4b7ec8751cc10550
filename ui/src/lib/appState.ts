// The one app state the Rust side pushes (`app://state`, src-tauri
// appstate.rs) and what the status strip, the sidebar and the red dot
// beside "OnAir" make of it. Pure: tested in appState.test.ts.

import { formatDuration } from "./format";
import { t, tn } from "./i18n";
import type { AppStatus, CallStatus } from "../generated/app";

// Generated from src-tauri appstate.rs (ui_types_are_current).
export type { AppStatus, CallStatus };

export const NO_STATE: AppStatus = {
  job: "idle",
  live: false,
  recording: false,
  job_started_ms: null,
  target: null,
  call: null,
  chat: { signed_in: false, user: null, online: false },
  unread: 0,
};

export interface Pill {
  text: string;
  /** m:ss since it started, "" when unknown. */
  elapsed: string;
}

export interface StripView {
  /** LIVE with its clock; null when not live. */
  live: Pill | null;
  /** REC with its clock; null when not recording. */
  rec: Pill | null;
  /** The Stop button: what it stops (its tooltip), or null when nothing runs. */
  stop: { title: string; busy: boolean } | null;
  call: (Pill & { phase: CallStatus["phase"] }) | null;
  relay: { tone: "ok" | "warn" | "off"; text: string };
  /** The dot beside "OnAir": red and pulsing while live or recording. */
  dot: "live" | "rec" | "idle";
  /** The sidebar's Chat badge ("" for none, "99+" above 99). */
  unread: string;
  unreadTitle: string;
}

const since = (start: number | null, now: number) => (start === null ? "" : formatDuration(Math.max(0, now - start)));

export function stripView(s: AppStatus, now: number): StripView {
  const running = s.job === "running" || s.job === "stopping";
  const clock = since(s.job_started_ms, now);
  const live = running && s.live ? { text: t("strip.live"), elapsed: clock } : null;
  const rec = running && s.recording ? { text: t("strip.rec"), elapsed: live ? "" : clock } : null;
  let call: StripView["call"] = null;
  if (s.call) {
    const key = s.call.phase === "active" ? "strip.in_call" : s.call.phase === "incoming" ? "strip.ringing" : "strip.calling";
    call = { phase: s.call.phase, text: t(key, { peer: s.call.peer }), elapsed: s.call.phase === "active" ? since(s.call.since_ms, now) : "" };
  }
  const relay = !s.chat.signed_in
    ? { tone: "off" as const, text: t("strip.signed_out") }
    : s.chat.online
      ? { tone: "ok" as const, text: t("strip.online") }
      : { tone: "warn" as const, text: t("strip.offline") };
  return {
    live,
    rec,
    stop: running ? { title: t(s.live ? "strip.stop_live" : "strip.stop_rec"), busy: s.job === "stopping" } : null,
    call,
    relay,
    dot: live ? "live" : rec ? "rec" : "idle",
    unread: s.unread <= 0 ? "" : s.unread > 99 ? "99+" : String(s.unread),
    unreadTitle: s.unread > 0 ? tn("shell.unread", s.unread) : "",
  };
}
