// The Calls screen's state machine, driven by `call://state` events from
// the shell (which relays the call engine and the relay's signaling) and by
// the user's buttons. Pure: (state, event) -> state.

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

/** The status line: "Calling bob…", "bob is calling", "00:42 with bob", … */
export function statusLine(s: CallState, now: number): string {
  switch (s.phase) {
    case "idle":
      return "No call";
    case "outgoing":
      return `Calling ${s.peer}… (ringing)`;
    case "incoming":
      return `${s.peer} is calling`;
    case "connecting":
      return `Connecting to ${s.peer}…`;
    case "active":
      return `${duration(now - (s.since ?? now))} with ${s.peer}`;
    case "ended":
      return `Call ended${s.endReason ? `: ${endReasonText(s.endReason)}` : ""}`;
  }
}

export function duration(ms: number): string {
  const t = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(t / 3600);
  const mm = String(Math.floor((t % 3600) / 60)).padStart(2, "0");
  const ss = String(t % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The relay's end reasons in words. */
export function endReasonText(r: string): string {
  const map: Record<string, string> = {
    declined: "declined",
    cancelled: "cancelled",
    timeout: "no answer",
    hangup: "hung up",
    answered_elsewhere: "answered on another device",
    peer_lost: "connection lost",
    shutdown: "relay shut down",
  };
  return map[r] ?? r;
}

/** The figures line under the call's video. */
export function mediaLine(s: { video_width: number; video_height: number; send_kbps: number; rtt_ms: number | null; loss: number; relay_connected: boolean } | null): string {
  if (!s) return "";
  const parts: string[] = [];
  if (s.video_width && s.video_height) parts.push(`${s.video_width}×${s.video_height}`);
  parts.push(`${Math.round(s.send_kbps)} kbps out`);
  if (s.rtt_ms != null) parts.push(`${Math.round(s.rtt_ms)} ms`);
  parts.push(`${(s.loss * 100).toFixed(s.loss > 0 && s.loss < 0.01 ? 1 : 0)}% loss`);
  if (!s.relay_connected) parts.push("relay reconnecting…");
  return parts.join(" · ");
}

export interface SourceOption {
  value: string;
  label: string;
}

/** The Calls screen's picker options from the device list. */
export function sourceOptions(d: { cameras: { Ok?: string[] }; microphones: { Ok?: string[] } } | null): { video: SourceOption[]; audio: SourceOption[] } {
  const cams = d?.cameras.Ok ?? [];
  const mics = d?.microphones.Ok ?? [];
  return {
    video: [
      ...cams.map((name, i) => ({ value: `camera:${i}`, label: name || `Camera ${i + 1}` })),
      { value: "screen", label: "Screen" },
      { value: "test", label: "Test pattern" },
      { value: "none", label: "No video" },
    ],
    audio: [...mics.map((name, i) => ({ value: `mic:${i}`, label: name || `Microphone ${i + 1}` })), { value: "test", label: "Test tone" }, { value: "none", label: "No sound" }],
  };
}

/** A saved choice if it is still offered, else the first device, else nothing. */
export function pickSource(options: SourceOption[], saved: string | null): string {
  if (saved && options.some((o) => o.value === saved)) return saved;
  const device = options.find((o) => o.value.startsWith("camera:") || o.value.startsWith("mic:"));
  return device ? device.value : "none";
}
