// The Calls screen's state machine, driven by `call://state` events from
// the shell (which relays the call engine and the relay's signaling) and by
// the user's buttons. Pure: (state, event) -> state.

import { formatDuration } from "./format";
import { CATALOGUE, has, placeholders, t, type Key } from "./i18n";

export type CallPhase = "idle" | "outgoing" | "incoming" | "connecting" | "active" | "ended";

export interface CallState {
  phase: CallPhase;
  callId: string | null;
  peer: string | null;
  /** Epoch ms when media connected (for the call timer). */
  since: number | null;
  /** Why the last call ended, shown for a moment. */
  endReason: string | null;
  muted: boolean;
  cameraOff: boolean;
  sharing: boolean;
  beauty: boolean;
  /** Latest 0–100 network quality score. */
  quality: number | null;
}

export const IDLE: CallState = { phase: "idle", callId: null, peer: null, since: null, endReason: null, muted: false, cameraOff: false, sharing: false, beauty: false, quality: null };

export type CallEvent =
  | { type: "dialing"; call_id: string | null; peer: string }
  | { type: "ringing"; call_id: string; peer: string }
  | { type: "accepted"; call_id: string }
  | { type: "connected"; call_id: string; at: number }
  | { type: "ended"; call_id: string | null; reason: string }
  | { type: "quality"; call_id: string; score: number }
  | { type: "local"; muted?: boolean; camera_off?: boolean; sharing?: boolean; beauty?: boolean }
  | { type: "dismiss" };

export function reduceCall(s: CallState, ev: CallEvent): CallState {
  const same = (id: string | null) => s.callId === null || id === null || id === s.callId;
  switch (ev.type) {
    case "dialing":
      if (s.phase !== "idle" && s.phase !== "ended") return s;
      return { ...IDLE, phase: "outgoing", callId: ev.call_id, peer: ev.peer };
    case "ringing":
      // A second incoming call while busy is the engine's to decline; keep ours.
      if (s.phase !== "idle" && s.phase !== "ended") return s;
      return { ...IDLE, phase: "incoming", callId: ev.call_id, peer: ev.peer };
    case "accepted":
      if (!same(ev.call_id) || (s.phase !== "outgoing" && s.phase !== "incoming")) return s;
      return { ...s, phase: "connecting", callId: ev.call_id };
    case "connected":
      if (!same(ev.call_id) || s.phase === "idle" || s.phase === "ended") return s;
      return { ...s, phase: "active", callId: ev.call_id, since: s.since ?? ev.at };
    case "ended":
      if (!same(ev.call_id) || s.phase === "idle") return s;
      return { ...s, phase: "ended", endReason: ev.reason };
    case "quality":
      if (!same(ev.call_id)) return s;
      return { ...s, quality: ev.score };
    case "local":
      return {
        ...s,
        muted: ev.muted ?? s.muted,
        cameraOff: ev.camera_off ?? s.cameraOff,
        sharing: ev.sharing ?? s.sharing,
        beauty: ev.beauty ?? s.beauty,
      };
    case "dismiss":
      return s.phase === "ended" ? IDLE : s;
  }
}

/** Which controls the screen shows in each phase. */
export function controls(s: CallState): { call: boolean; answer: boolean; decline: boolean; cancel: boolean; inCall: boolean } {
  return {
    call: s.phase === "idle" || s.phase === "ended",
    answer: s.phase === "incoming",
    decline: s.phase === "incoming",
    cancel: s.phase === "outgoing" || s.phase === "connecting",
    inCall: s.phase === "active",
  };
}

/** The status line: "Calling bob…", "bob is calling", "0:42 with bob", … */
export function statusLine(s: CallState, now: number): string {
  const peer = s.peer ?? "";
  switch (s.phase) {
    case "idle":
      return t("call.status.idle");
    case "outgoing":
      return t("call.status.outgoing", { peer });
    case "incoming":
      return t("call.status.incoming", { peer });
    case "connecting":
      return t("call.status.connecting", { peer });
    case "active":
      return t("call.status.active", { time: duration(now - (s.since ?? now)), peer });
    case "ended":
      return s.endReason ? t("call.status.ended_why", { reason: endReasonText(s.endReason) }) : t("call.status.ended");
  }
}

/** m:ss (h:mm:ss past an hour), as every duration in the app. */
export function duration(ms: number): string {
  return formatDuration(Math.max(0, ms));
}

/** The relay's end reasons in words; a refusal by its code; anything else as an error with its detail. */
export function endReasonText(r: string): string {
  if (has(`call.end.${r}`)) return t(`call.end.${r}` as Key);
  const refusal = `error.relay.${r}`;
  if (has(refusal) && !placeholders(CATALOGUE.en[refusal]).length) return t(refusal);
  return t("call.end.error", { detail: r });
}

/** The figures line under the call's video (the engine's, from the call view). */
export function mediaLine(
  s: { send_width: number; send_height: number; recv_width: number; recv_height: number; send_kbps: number; rtt_ms: number | null; loss: number; relay_connected: boolean } | null,
  preset: string | null = null,
  /** Our camera is off (or did not open): the black frames sent are not "a picture" to name. */
  cameraOff = false,
): string {
  if (!s) return "";
  const parts: string[] = [];
  if (s.send_width && s.send_height && !cameraOff) parts.push(t("call.media.sending", { size: `${s.send_width}×${s.send_height}` }) + (preset ? ` (${preset})` : ""));
  if (s.recv_width && s.recv_height) parts.push(t("call.media.receiving", { size: `${s.recv_width}×${s.recv_height}` }));
  parts.push(t("call.media.out", { kbps: Math.round(s.send_kbps) }));
  if (s.rtt_ms != null) parts.push(`${Math.round(s.rtt_ms)} ms`);
  parts.push(t("call.media.loss", { pct: (s.loss * 100).toFixed(s.loss > 0 && s.loss < 0.01 ? 1 : 0) }));
  if (!s.relay_connected) parts.push(t("call.media.reconnecting"));
  return parts.join(" · ");
}

/** Why our camera did not open, in the user's words where the engine's error is a known one (the rest keep their own). */
export function cameraWhy(err: string): string {
  if (err.startsWith("no camera found")) return t("call.camera_why.none");
  return err;
}

/**
 * The engine's lines ("recording saved: /path (…)", "bookmark \"x\" at 15306 ms")
 * as sentences for the screen; null for lines the screen shows otherwise
 * (buttons, the status line) or that are for the command line only.
 * Failures keep their own words: they say what went wrong.
 */
export function noticeText(line: string): string | null {
  let m: RegExpExecArray | null;
  if (line.startsWith("recording saved")) return t("call.notice.saved");
  if ((m = /^bookmark .* at (\d+) ms$/.exec(line))) return t("call.notice.bookmark", { time: formatDuration(Number(m[1])) });
  if (line === "recording started") return t("call.notice.rec_started");
  if (line.startsWith("recording stopped")) return t("call.notice.rec_stopped");
  if ((m = /^(\S+) is recording this call$/.exec(line))) return t("call.notice.recording_by", { user: m[1] });
  if (line.startsWith("connection lost")) return t("call.notice.reconnecting");
  // The call view says this one beside the video (camera_error).
  if (line.startsWith("the camera could not open")) return null;
  if (/(failed|could not|refused)/.test(line)) return line;
  return null;
}
