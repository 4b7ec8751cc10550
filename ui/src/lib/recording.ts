// The "being recorded" banner and the consent prompt of a call, derived
// from the call's recording events (the relay's audit events: requested,
// start, stop, declined — each with who did it). Both sides always see
// when either side records.

import { t, tn } from "./i18n";

export type RecordingEvent =
  | { type: "requested"; by: string }
  | { type: "started"; by: string }
  | { type: "stopped"; by: string }
  | { type: "declined"; by: string }
  | { type: "reset" };

export interface RecordingState {
  /** Who is recording now. */
  recording: string[];
  /** A request waiting for the other side's consent, and who made it. */
  requestedBy: string | null;
  /** The last refusal (shown once, cleared by the next event). */
  declinedBy: string | null;
}

export const NO_RECORDING: RecordingState = { recording: [], requestedBy: null, declinedBy: null };

export function reduceRecording(s: RecordingState, ev: RecordingEvent): RecordingState {
  switch (ev.type) {
    case "reset":
      return NO_RECORDING;
    case "requested":
      return { ...s, requestedBy: ev.by, declinedBy: null };
    case "started":
      return { recording: s.recording.includes(ev.by) ? s.recording : [...s.recording, ev.by], requestedBy: null, declinedBy: null };
    case "stopped":
      return { ...s, recording: s.recording.filter((u) => u !== ev.by), declinedBy: null };
    case "declined":
      return { ...s, requestedBy: null, declinedBy: ev.by };
  }
}

export interface Banner {
  visible: boolean;
  /** "recording" (red, steady) | "waiting" | "declined" | "none". */
  tone: "recording" | "waiting" | "declined" | "none";
  text: string;
}

/** The banner both sides see, worded for `me`. */
export function recordingBanner(s: RecordingState, me: string): Banner {
  const others = s.recording.filter((u) => u !== me);
  const mine = s.recording.includes(me);
  if (others.length && mine) return { visible: true, tone: "recording", text: t("call.rec.both", { others: others.join(", ") }) };
  if (others.length) return { visible: true, tone: "recording", text: tn("call.rec.others", others.length, { others: others.join(", ") }) };
  if (mine) return { visible: true, tone: "recording", text: t("call.rec.mine") };
  if (s.requestedBy === me) return { visible: true, tone: "waiting", text: t("call.rec.waiting") };
  if (s.declinedBy && s.declinedBy !== me) return { visible: true, tone: "declined", text: t("call.rec.declined", { user: s.declinedBy }) };
  return { visible: false, tone: "none", text: "" };
}

/** Whether to ask `me` for consent (the other side asked to record). */
export function consentPrompt(s: RecordingState, me: string): { show: boolean; text: string } {
  if (s.requestedBy && s.requestedBy !== me) return { show: true, text: t("call.rec.consent", { user: s.requestedBy }) };
  return { show: false, text: "" };
}

/** What the Record button does now. */
export function recordButton(s: RecordingState, me: string): { label: string; action: "start" | "stop" | "none"; disabled: boolean } {
  if (s.recording.includes(me)) return { label: t("call.stop_record"), action: "stop", disabled: false };
  if (s.requestedBy === me) return { label: t("call.asking"), action: "none", disabled: true };
  return { label: t("call.record"), action: "start", disabled: false };
}
