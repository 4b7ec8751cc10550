// The one door from the UI to the Rust side: typed `invoke` wrappers,
// event subscriptions, and the loopback media server's URLs.
//
// Every command rejects with an `ApiError` carrying the Rust `AppError`'s
// `code` (stable, switch on it) and `message` (show it to the user).

import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";

/** The serialised form of `src-tauri/src/error.rs::AppError`. */
export interface AppErrorBody {
  code: string;
  message: string;
}

export class ApiError extends Error {
  readonly code: string;
  constructor(body: AppErrorBody) {
    super(body.message);
    this.code = body.code;
    this.name = "ApiError";
  }
}

/** Turns whatever a command rejected with into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    return new ApiError({ code: String((e as AppErrorBody).code), message: String((e as AppErrorBody).message) });
  }
  return new ApiError({ code: "internal", message: String(e) });
}

/** Calls a Tauri command; rejects with ApiError. */
export async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toApiError(e);
  }
}

/**
 * Subscribes to a Tauri event (`live://stats`, `chat://event`, `call://state`,
 * `watch://…`). Returns an unsubscribe function usable at once (screens call
 * it from their cleanup even if the subscription is still being set up).
 */
export function on<T>(event: string, handler: (payload: T) => void): () => void {
  let stop: (() => void) | null = null;
  let cancelled = false;
  listen<T>(event, (e) => handler(e.payload)).then((un) => {
    if (cancelled) un();
    else stop = un;
  });
  return () => {
    cancelled = true;
    if (stop) stop();
  };
}

// ---- app ----

export interface RelayInfo {
  url: string;
  embedded: boolean;
}

export interface AppInfo {
  home: string;
  relay: RelayInfo;
  video_port: number;
  video_token: string;
  version: string;
  pid: number;
  started_ms: number;
}

let info: Promise<AppInfo> | null = null;

/** Data folder, relay, loopback media server port and token (cached). */
export function appInfo(): Promise<AppInfo> {
  if (!info) info = call<AppInfo>("app_info");
  return info;
}

/** An http:// URL on the loopback media server, with the launch token. */
export async function mediaUrl(path: string): Promise<string> {
  const i = await appInfo();
  return `http://127.0.0.1:${i.video_port}${path}?token=${encodeURIComponent(i.video_token)}`;
}

/** A ws:// URL on the loopback media server, with the launch token. */
export async function wsUrl(path: string): Promise<string> {
  const i = await appInfo();
  return `ws://127.0.0.1:${i.video_port}${path}?token=${encodeURIComponent(i.video_token)}`;
}

// ---- Go live ----

export interface Sources {
  video: string;
  overlay?: string | null;
  overlay_corner?: string;
  overlay_size?: number;
  audio: string;
  preset?: string;
  smooth?: number;
  whiten?: number;
  looped?: boolean;
}

export type Destination =
  | { kind: "none" }
  | { kind: "room"; room: string }
  | { kind: "rtmp"; url: string; key?: string | null };

export interface LiveRequest {
  sources: Sources;
  destination: Destination;
  record: boolean;
}

export interface StatsSnapshot {
  video_frames_captured: number;
  video_frames_encoded: number;
  video_frames_dropped: number;
  bytes_sent: number;
  bytes_recorded: number;
  reconnects: number;
  reconnecting: boolean;
  bookmarks: number;
  elapsed_s: number;
  video_kbps: number;
  fps: number;
  [k: string]: number | boolean;
}

export interface LiveStatus {
  state: "idle" | "preview" | "running";
  live: boolean;
  recording: boolean;
  target: string | null;
  stats: StatsSnapshot | null;
  sources: string[];
}

export interface Bookmark {
  id: number;
  t_ms: number;
  label: string;
}

export interface RecordingResult {
  id: number;
  path: string;
  duration_ms: number;
  size_bytes: number;
  bookmarks: Bookmark[];
}

export interface StopResult {
  reason: string | null;
  recording: RecordingResult | null;
  stats: StatsSnapshot;
  errors: string[];
}

export interface DeviceList {
  cameras: { Ok?: string[]; Err?: string };
  microphones: { Ok?: string[]; Err?: string };
  screens: string[];
  video_encoders: string[];
}

export interface RoomInfo {
  id: string;
  title: string;
  category: string;
  hls_path: string;
}

export interface Stored {
  store: "keychain" | "file";
  note: string | null;
}

export const live = {
  preview: (sources: Sources) => call<LiveStatus>("live_preview", { sources }),
  previewStop: () => call<LiveStatus>("live_preview_stop"),
  start: (request: LiveRequest) => call<LiveStatus>("live_start", { request }),
  stop: () => call<StopResult>("live_stop"),
  bookmark: (label?: string) => call<Bookmark>("live_bookmark", { label: label ?? null }),
  setBeauty: (smooth: number, whiten: number) => call<boolean>("live_set_beauty", { smooth, whiten }),
  status: () => call<LiveStatus>("live_status"),
  devices: () => call<DeviceList>("live_devices"),
  saveKey: (url: string, key: string) => call<Stored>("live_save_key", { url, key }),
  hasKey: (url: string) => call<boolean>("live_has_key", { url }),
  rooms: (all: boolean) => call<Array<Record<string, unknown>>>("live_rooms", { all }),
  createRoom: (title: string, category?: string) => call<RoomInfo>("live_room_create", { title, category: category ?? null }),
};

// ---- Recordings ----

export interface RecordingItem {
  id: number;
  path: string;
  name: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  size_bytes: number | null;
  state: string;
  error: string | null;
  pinned: boolean;
  bookmarks: Bookmark[];
  thumb: boolean;
}

export const recordings = {
  list: () => call<RecordingItem[]>("recordings_list"),
  get: (id: number) => call<RecordingItem>("recordings_get", { id }),
  remove: (id: number) => call<void>("recordings_delete", { id }),
  pin: (id: number, pinned: boolean) => call<void>("recordings_pin", { id, pinned }),
  retention: () => call<number | null>("recordings_retention"),
  setRetention: (days: number | null) => call<number>("recordings_set_retention", { days }),
};
