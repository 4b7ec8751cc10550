// Generated from src-tauri/src/commands by the test `ui_types_are_current`; do not edit.
// Regenerate: ONAIR_BLESS_TS=1 cargo test -p onair-app --lib ui_types_are_current

export type AudioDevice = { 
/**
 * What `mic:N` (or the speaker's index) opens.
 */
index: number, 
/**
 * The host's name for it (ALSA: "default", "pulse", "hw:0,0"): what a choice saves.
 */
id: string, name: string, 
/**
 * The system's default device.
 */
default: boolean, };

export type Camera = { index: number, name: string, };

export type DeviceChoice = { camera: string | null, microphone: string | null, speaker: string | null, };

export type DevicesView = { cameras: Array<Camera>, microphones: Array<AudioDevice>, speakers: Array<AudioDevice>, chosen: DeviceChoice, 
/**
 * The source Go live and Calls use for "camera" / "microphone" now
 * (`camera:N`, `mic:N`; `mic` is the system's default), or None when
 * there is no such device (then calls send the test pattern).
 */
camera_source: string | null, microphone_source: string | null, };

export type Level = { 
/**
 * dBFS, -100 for silence.
 */
dbfs: number, };

export type UploadProgress = { upload: string, sent: number, total: number, };

export type RelayInfo = { 
/**
 * http://127.0.0.1:PORT for the embedded relay.
 */
url: string, 
/**
 * True when this process runs the relay itself.
 */
embedded: boolean, };

export type ChatStatus = { signed_in: boolean, user: string | null, relay: string, online: boolean, 
/**
 * The app's relay is the one it runs itself.
 */
embedded: boolean, };

export type Hotkeys = { record: string, bookmark: string, };

export type SettingsView = { 
/**
 * `$ONAIR_HOME`: recordings, chat caches, credentials, the embedded relay's data.
 */
home: string, 
/**
 * The relay in use now.
 */
relay: RelayInfo, 
/**
 * The relay saved in settings (used from the next start), if any.
 */
relay_setting: string | null, 
/**
 * ONAIR_RELAY_URL overrides the setting for this process.
 */
relay_env: string | null, 
/**
 * Plain http:// to a remote relay is allowed (the user asked for it).
 */
insecure_http: boolean, hotkeys: Hotkeys, 
/**
 * Calls clean the microphone (echo cancellation, noise suppression, gain control).
 */
audio_processing: boolean, version: string, };

export type Bookmark = { id: number, t_ms: number, label: string, };

export type Recording = { id: number, path: string, started_at: number, ended_at: number | null, duration_ms: number | null, size_bytes: number | null, state: string, error: string | null, pinned: boolean, bookmarks: Array<Bookmark>, };

export type RecordingItem = { 
/**
 * File name without the folder.
 */
name: string, 
/**
 * Whether a thumbnail exists (`/media/thumbs/{id}`).
 */
thumb: boolean, id: number, path: string, started_at: number, ended_at: number | null, duration_ms: number | null, size_bytes: number | null, state: string, error: string | null, pinned: boolean, bookmarks: Array<Bookmark>, };

export type Attachment = { id: string, name: string, size: number, mime: string, };

export type Message = { id: string, conv: string, seq: number | null, from: string, text: string, 
/**
 * pending | sent | failed | received | recalled
 */
state: "pending" | "sent" | "failed" | "received" | "recalled", error?: string, 
/**
 * Milliseconds since the epoch: the relay's time once sent, the
 * local time while pending.
 */
sent_at: number, burn_secs?: number, 
/**
 * When this device deletes a burn-after-read message (ms since the
 * epoch): set when I read it; None before, and for other messages.
 */
burn_at?: number, attachment?: Attachment, 
/**
 * Read receipts: other members whose read mark covers this message
 * (filled by history).
 */
read_by?: Array<string>, };

export type ConvSummary = { id: string, 
/**
 * dm | group
 */
kind: "dm" | "group", name: string, owner: string | null, members: Array<string>, 
/**
 * Messages from others after my read mark.
 */
unread: number, last_text: string | null, last_from: string | null, 
/**
 * The latest message's file name, when it carries one.
 */
last_file: string | null, 
/**
 * Milliseconds since the epoch of the latest message.
 */
last_at: number | null, 
/**
 * My messages not yet acknowledged by the relay.
 */
pending: number, };

export type ConvKind = "dm" | "group";

export type ConvInfo = { id: string, kind: ConvKind, name: string, owner: string | null, members: Array<string>, last_seq: number, };

export type FriendState = "friends" | "outgoing" | "incoming" | "blocked";

export type FriendInfo = { user: string, state: FriendState, online: boolean, 
/**
 * Milliseconds since the epoch; None if never seen or not a friend.
 */
last_seen: number | null, };

export type AcceptFrom = "anyone" | "friends";

export type EntryKind = "message" | "recall" | "burn";

export type Entry = { seq: number, 
/**
 * The sender's client id for messages; for recall/burn entries, a
 * relay-made id.
 */
id: string, from: string, 
/**
 * Milliseconds since the Unix epoch, relay clock.
 */
sent_at: number, kind: EntryKind, text: string, ref_seq?: number, burn_secs?: number, attachment?: Attachment, 
/**
 * True once the message was recalled or burned (its text is gone).
 */
deleted: boolean, };

export type RoomComment = { seq: number, from: string, text: string, sent_at: number, };

export type MediaKind = "audio" | "video";

export type SdpKind = "offer" | "answer";

export type IceCandidate = { 
/**
 * The `candidate:` line (without `a=`).
 */
candidate: string, sdp_mid?: string, sdp_m_line_index?: number, username_fragment?: string, };

export type EndReason = "declined" | "cancelled" | "timeout" | "hangup" | "answered_elsewhere" | "peer_lost" | "shutdown";

export type RecordAction = "start" | "stop";

export type Event = { "ev": "message", conv: string, entry: Entry, } | { "ev": "read", conv: string, user: string, seq: number, } | { "ev": "presence", user: string, online: boolean, last_seen: number | null, } | { "ev": "friend", user: string, state: FriendState | null, } | { "ev": "conv_changed", conv: string, } | { "ev": "call_incoming", call_id: string, from: string, media: Array<MediaKind>, } | { "ev": "call_ringing", call_id: string, } | { "ev": "call_accepted", call_id: string, } | { "ev": "call_ended", call_id: string, reason: EndReason, by?: string | null, } | { "ev": "call_sdp", call_id: string, from: string, kind: SdpKind, sdp: string, } | { "ev": "call_ice", call_id: string, from: string, candidate: IceCandidate | null, } | { "ev": "call_peer", call_id: string, connected: boolean, } | { "ev": "call_recording", call_id: string, by: string, action: RecordAction, } | { "ev": "call_consent_request", call_id: string, by: string, } | { "ev": "call_consent_result", call_id: string, by: string, accepted: boolean, } | { "ev": "call_media", call_id: string, from: string, muted: boolean, camera_off: boolean, } | { "ev": "room_comment", room: string, comment: RoomComment, } | { "ev": "room_viewer", room: string, user: string, joined: boolean, viewers: number, } | { "ev": "room_muted", room: string, user: string, muted: boolean, } | { "ev": "room_kicked", room: string, user: string, until: number, };

export type ChatPush = { "kind": "online" } | { "kind": "offline", error: string, retry_in_ms: number, } | { "kind": "delivered", sent: number, failed: number, } | { "kind": "burned" } | { "kind": "event", ev: Event, } | { "kind": "signed_out", reason: string, };

export type To = { "user": string } | { "conv": string };

export type RoomJoined = { room: string, owner: string, 
/**
 * Who is in the room's chat now.
 */
viewers: Array<string>, 
/**
 * The latest comments, oldest first.
 */
recent: Array<RoomComment>, };

export type TrayWords = { idle: string, live: string, rec: string, in_call: string, calling: string, ringing: string, show: string, start_rec: string, stop_live: string, stop_rec: string, hang_up: string, quit: string, rec_started: string, rec_saved: string, rec_failed: string, bookmark_at: string, no_bookmark: string, incoming_call: string, 
/**
 * A group message's notification title (`{from}`).
 */
group_from: string, sent_file: string, };

export type TrayView = { 
/**
 * Beside the icon where the desktop shows a label: `LIVE · REC`, `REC`, or nothing.
 */
title: string, 
/**
 * The icon's tooltip, and the menu's first (greyed) line without "OnAir — ".
 */
tooltip: string, status: string, 
/**
 * The job item: start recording, or stop what runs.
 */
job: string, 
/**
 * False while a stop is finishing.
 */
job_enabled: boolean, 
/**
 * Hang up is offered while a call rings out or runs.
 */
hang_up: boolean, 
/**
 * Whether this desktop has a tray at all.
 */
installed: boolean, };

export type ChatConn = { signed_in: boolean, user: string | null, online: boolean, };

export type CallStatus = { call_id: string | null, peer: string, 
/**
 * `outgoing`, `incoming` or `active`.
 */
phase: "outgoing" | "incoming" | "active", 
/**
 * When it connected (Unix ms), for the pill's clock.
 */
since_ms: number | null, };

export type AppStatus = { 
/**
 * The Go live job: `idle`, `preview`, `running` or `stopping`.
 */
job: "idle" | "preview" | "running" | "stopping", live: boolean, recording: boolean, 
/**
 * When the running job started (Unix ms): the strip counts from it.
 */
job_started_ms: number | null, 
/**
 * Where the live goes, any key masked.
 */
target: string | null, call: CallStatus | null, chat: ChatConn, 
/**
 * Unread messages over every conversation.
 */
unread: number, };

export type SideMedia = { muted: boolean | null, camera_off: boolean | null, 
/**
 * Why the camera did not open (the call joined with video off).
 */
camera_error: string | null, 
/**
 * Sending the screen instead of a camera.
 */
sharing: boolean, };

export type CallFigures = { 
/**
 * Whether media flows.
 */
connected: boolean, 
/**
 * The picture size we send now (it steps down and up with the network).
 */
send_width: number, send_height: number, 
/**
 * The size of the other side's picture as decoded here.
 */
recv_width: number, recv_height: number, frames_decoded: number, send_kbps: number, target_kbps: number, rtt_ms: number | null, loss: number, quality_score: number, relay_connected: boolean, };

export type CallRecording = { 
/**
 * Our own recorder writes now.
 */
local: boolean, 
/**
 * The other side records.
 */
peer: boolean, 
/**
 * The relay records the call ("Recorded by the server").
 */
server: boolean, };

export type CallView = { phase: "idle" | "outgoing" | "incoming" | "connecting" | "active" | "ended", call_id: string | null, peer: string | null, 
/**
 * When the call was answered (Unix ms), for the call timer.
 */
since_ms: number | null, 
/**
 * Why the last call ended.
 */
end_reason: string | null, 
/**
 * The quality preset this side sends (`360p`, `720p`, `1080p`).
 */
preset: string | null, 
/**
 * My microphone and camera as the engine applies them.
 */
me: SideMedia, 
/**
 * The other side's, as it signalled them (None: not told yet).
 */
peer_media: SideMedia, 
/**
 * The other side's relay connection dropped (it may come back).
 */
peer_away: boolean, figures: CallFigures | null, recording: CallRecording, };
