// The one door from the UI to the Rust side: typed `invoke` wrappers,
// event subscriptions, and the loopback media server's URLs.
//
// Every command rejects with an `ApiError` carrying the Rust `AppError`'s
// `code` (stable, switch on it) and `message` (show it to the user).

import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { ChatMessage } from "./lib/messages";
import type { ConvSummary } from "./lib/conversations";
import type { FriendInfo } from "./lib/friends";
import type { FollowState, Following, ReplayInfo, RoomInfo as DirectoryRoom, RoomKey, WatchTicket } from "./generated/rooms";
// The commands' types generated from the Rust ones (src-tauri/src/commands/types.rs).
import type {
  AppInfo,
  Audience,
  Bookmark,
  CallControl,
  CallPush,
  CallReport,
  CallSources,
  CallView,
  ChatPush,
  CloudDownload,
  CloudRecord,
  CloudRecording,
  ChatStatus,
  ConvInfo,
  Destination,
  DestinationSnapshot,
  DeviceList,
  ErrorCode,
  Event as RelayEvent,
  FaderView,
  Hotkeys,
  LiveRequest,
  LiveStatus,
  RecordingItem,
  RecordingResult,
  RelayInfo,
  RoomJoined,
  SettingsView,
  Sources,
  StatsSnapshot,
  StopResult,
  Stored,
  To,
} from "./generated/app";
export type {
  AppInfo,
  Audience,
  Bookmark,
  CallControl,
  CallPush,
  CallSources,
  CallView,
  ChatPush,
  ChatStatus,
  ConvInfo,
  Destination,
  DeviceList,
  ErrorCode,
  FaderView,
  Hotkeys,
  LiveRequest,
  LiveStatus,
  RecordingItem,
  RecordingResult,
  RelayEvent,
  RelayInfo,
  RoomJoined,
  SettingsView,
  Sources,
  StatsSnapshot,
  StopResult,
  Stored,
  To,
};
/** One live destination's counters (`stats.destinations[i]`, in the request's order). */
export type DestinationStats = DestinationSnapshot;
/** The call engine's figures (onair_call::driver::CallReport), once a second in `call://state`. */
export type CallStats = CallReport;

/** The serialised form of `src-tauri/src/error.rs::AppError`. */
export interface AppErrorBody {
  code: string;
  message: string;
  /** The relay's refusal code (`bad_credentials`, …, an `ErrorCode`), worded by lib/i18n.ts. */
  relay_code?: string;
}

export class ApiError extends Error {
  readonly code: string;
  readonly relay_code?: string;
  constructor(body: AppErrorBody) {
    super(body.message);
    this.code = body.code;
    this.relay_code = body.relay_code;
    this.name = "ApiError";
  }
}

/** Turns whatever a command rejected with into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const b = e as AppErrorBody;
    return new ApiError({ code: String(b.code), message: String(b.message), relay_code: b.relay_code ? String(b.relay_code) : undefined });
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

// ---- Go live (src-tauri/src/commands/live.rs; the types are generated) ----

export const live = {
  preview: (sources: Sources) => call<LiveStatus>("live_preview", { sources }),
  previewStop: () => call<LiveStatus>("live_preview_stop"),
  start: (request: LiveRequest) => call<LiveStatus>("live_start", { request }),
  stop: () => call<StopResult>("live_stop"),
  bookmark: (label?: string) => call<Bookmark>("live_bookmark", { label: label ?? null }),
  setBeauty: (smooth: number, whiten: number) => call<boolean>("live_set_beauty", { smooth, whiten }),
  /** Answers the change's generation (`LiveStatus.mixer_gen`). */
  setFader: (index: number, volume: number, muted: boolean) => call<number>("live_set_fader", { index, volume, muted }),
  status: () => call<LiveStatus>("live_status"),
  devices: () => call<DeviceList>("live_devices"),
  /** The sources last started on this machine (null before the first). */
  remembered: () => call<Sources | null>("live_remembered"),
  saveKey: (url: string, key: string) => call<Stored>("live_save_key", { url, key }),
  hasKey: (url: string) => call<boolean>("live_has_key", { url }),
  rooms: (all: boolean) => call<DirectoryRoom[]>("live_rooms", { all }),
  /** The answer carries the stream key: the relay shows it this once. */
  createRoom: (title: string, category?: string, isPrivate = false) => call<RoomKey>("live_room_create", { title, category: category ?? null, private: isPrivate }),
  /** A new stream key, shown this once; a live on the old key ends. */
  rotateRoomKey: (room: string) => call<RoomKey>("live_room_rotate", { room }),
  /** The cockpit joins the chat of the room it streams to (comments then come as `chat://event`). */
  chatJoin: (room: string) => call<RoomJoined>("live_chat_join", { room }),
  chatMute: (room: string, user: string, muted: boolean) => call<void>("live_chat_mute", { room, user, muted }),
  /** Out of the chat for `secs` (the relay has no lasting ban). */
  chatKick: (room: string, user: string, secs: number) => call<void>("live_chat_kick", { room, user, secs }),
};

// ---- Recordings ----

export const recordings = {
  list: () => call<RecordingItem[]>("recordings_list"),
  get: (id: number) => call<RecordingItem>("recordings_get", { id }),
  remove: (id: number) => call<void>("recordings_delete", { id }),
  pin: (id: number, pinned: boolean) => call<void>("recordings_pin", { id, pinned }),
  retention: () => call<number | null>("recordings_retention"),
  setRetention: (days: number | null) => call<number>("recordings_set_retention", { days }),
  /** "Encrypt recordings on this computer" (the same setting as `onair recordings encrypt`). */
  encryption: () => call<boolean>("recordings_encryption"),
  setEncryption: (on: boolean) => call<boolean>("recordings_set_encryption", { on }),
};

// ---- Recordings → On the server (src-tauri/src/commands/cloud.rs) ----

export const cloud = {
  list: () => call<CloudRecording[]>("cloud_list"),
  get: (id: string) => call<CloudRecording>("cloud_get", { id }),
  pin: (id: string, pinned: boolean) => call<void>("cloud_pin", { id, pinned }),
  remove: (id: string) => call<void>("cloud_delete", { id }),
  /** Into the local library; progress comes as `recordings://cloud-download` ({@link CloudDownload}). Resolves to the local id. */
  download: (id: string) => call<number>("cloud_download", { id }),
  /** Start, stop or answer the server recording of the call in progress (its state comes in `call://view`). */
  record: (action: CloudRecord) => call<CloudRecording | null>("cloud_record", { action }),
};
export type { CloudDownload, CloudRecording };

// ===== app2: Chat, Watch, Calls, Settings =====

// ---- Chat (src-tauri/src/commands/chat.rs) ----

// ChatPush (`chat://event` payloads), RelayEvent, ConvInfo and To are generated (see the imports).

export const chat = {
  status: () => call<ChatStatus>("chat_status"),
  signIn: (user: string, password: string, register: boolean) => call<ChatStatus>("chat_sign_in", { user, password, register }),
  signOut: () => call<ChatStatus>("chat_sign_out"),
  conversations: () => call<ConvSummary[]>("chat_conversations"),
  history: (conv: string, limit = 200) => call<ChatMessage[]>("chat_history", { conv, limit }),
  send: (to: To, text: string, burnSecs: number | null) => call<ChatMessage>("chat_send", { to, text, burnSecs }),
  retry: (id: string) => call<ChatMessage>("chat_retry", { id }),
  recall: (id: string) => call<void>("chat_recall", { id }),
  read: (conv: string) => call<number>("chat_read", { conv }),
  search: (query: string, limit = 50) => call<ChatMessage[]>("chat_search", { query, limit }),
  friends: () => call<FriendInfo[]>("chat_friends"),
  friend: (action: "add" | "accept" | "remove" | "block" | "unblock", user: string) => call<void>("chat_friend", { action, user }),
  privacy: (acceptFrom: "anyone" | "friends") => call<void>("chat_privacy", { acceptFrom }),
  groupCreate: (name: string, members: string[]) => call<ConvInfo>("chat_group_create", { name, members }),
  group: (action: "add" | "remove" | "leave", conv: string, user?: string) => call<void>("chat_group", { action, conv, user: user ?? null }),
};

// ---- Watch (src-tauri/src/commands/watch.rs) ----


/** A directory room (generated from the relay's Rust type). */
export type WatchRoom = DirectoryRoom;

export const watch = {
  relay: () => call<string>("watch_relay"),
  rooms: (all: boolean, search?: string) => call<WatchRoom[]>("watch_rooms", { all, search: search ?? null }),
  room: (room: string) => call<WatchRoom>("watch_room", { room }),
  replays: (room: string) => call<ReplayInfo[]>("watch_replays", { room }),
  /** A ticket for a private room's media URLs (members only). */
  ticket: (room: string) => call<WatchTicket>("watch_ticket", { room }),
  join: (room: string) => call<RoomJoined>("watch_join", { room }),
  leave: (room: string) => call<void>("watch_leave", { room }),
  say: (room: string, text: string) => call<void>("watch_say", { room, text }),
  /** What the user follows and the followed rooms on air now. */
  following: () => call<Following>("watch_following"),
  /** Follow (`on`) or unfollow a streamer, or with `room` a room id. */
  follow: (target: string, room: boolean, on: boolean) => call<FollowState>("watch_follow", { target, room, on }),
  /** Go live's room details (owner): category and cover picture bytes. */
  studio: (room: string, category: string | null, cover: number[] | null) => call<DirectoryRoom>("room_studio", { room, category, cover }),
};

// ---- Calls (src-tauri/src/commands/call.rs; the types are generated) ----

export const calls = {
  invite: (peer: string, video: boolean, sources: CallSources) => call<string>("call_invite", { peer, video, sources }),
  accept: (callId: string, peer: string, sources: CallSources) => call<void>("call_accept", { callId, peer, sources }),
  control: (control: CallControl) => call<void>("call_control", { control }),
  decline: (callId: string) => call<void>("call_decline", { callId }),
  hangup: (callId: string) => call<void>("call_hangup", { callId }),
  consent: (callId: string, accept: boolean) => call<void>("call_consent", { callId, accept }),
  /** The one call state (src-tauri callview.rs); `call://view` pushes it when it changes. */
  view: () => call<CallView>("call_view"),
};

// ---- Settings (src-tauri/src/commands/settings.rs) ----


export const settings = {
  get: () => call<SettingsView>("settings_get"),
  setRelay: (url: string | null, insecureHttp = false) => call<boolean>("settings_set_relay", { url, insecureHttp }),
  setHotkeys: (hotkeys: Hotkeys) => call<Hotkeys>("settings_set_hotkeys", { hotkeys }),
  /** Echo cancellation, noise suppression and gain control in calls (from the next call). */
  setAudioProcessing: (on: boolean) => call<boolean>("settings_set_audio_processing", { on }),
};
