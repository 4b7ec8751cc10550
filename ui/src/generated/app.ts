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

export type Camera = { index: number, name: string, 
/**
 * Its modes (`1920x1080@30`, …), largest first; empty when it cannot say.
 */
modes: Array<string>, };

export type DeviceChoice = { camera: string | null, microphone: string | null, speaker: string | null, 
/**
 * The camera's mode (`1280x720@30`); None: the one closest to the job's size.
 */
camera_mode?: string | null, };

export type DevicesView = { cameras: Array<Camera>, microphones: Array<AudioDevice>, speakers: Array<AudioDevice>, chosen: DeviceChoice, 
/**
 * The source Go live and Calls use for "camera" / "microphone" now
 * (`camera:N`, `mic:N`; `mic` is the system's default), or None when
 * there is no such device (then calls send the test pattern).
 */
camera_source: string | null, microphone_source: string | null, 
/**
 * The chosen camera's mode when that camera offers it (else None: the
 * mode closest to the job's size).
 */
camera_mode: string | null, };

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

export type AppInfo = { home: string, relay: RelayInfo, 
/**
 * Loopback port of the video/media server, and the per-launch token
 * the page passes as `?token=` (the CSP allows ws://127.0.0.1:*).
 */
video_port: number, video_token: string, version: string, 
/**
 * This process, and when it started (Unix ms): the benchmark measures
 * cold start and the memory of the app's process tree from them.
 */
pid: number, started_ms: number, };

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

export type Recording = { id: number, path: string, started_at: number, ended_at: number | null, duration_ms: number | null, size_bytes: number | null, state: string, error: string | null, pinned: boolean, bookmarks: Array<Bookmark>, 
/**
 * Encrypted at rest: the file is an `onair-vault` file, readable with
 * this computer's recording key only.
 */
encrypted: boolean, };

export type RecordingItem = { 
/**
 * File name without the folder.
 */
name: string, 
/**
 * Whether a thumbnail exists (`/media/thumbs/{id}`).
 */
thumb: boolean, id: number, path: string, started_at: number, ended_at: number | null, duration_ms: number | null, size_bytes: number | null, state: string, error: string | null, pinned: boolean, bookmarks: Array<Bookmark>, 
/**
 * Encrypted at rest: the file is an `onair-vault` file, readable with
 * this computer's recording key only.
 */
encrypted: boolean, };

export type Tier = "360p" | "720p" | "1080p" | "audio";

export type CloudState = "pending" | "recording" | "done" | "failed" | "declined";

export type CloudBookmark = { 
/**
 * Milliseconds from the start of the recording.
 */
t_ms: number, by: string, label: string, };

export type CloudAccess = { user: string, action: string, at: number, };

export type CloudRecording = { id: string, call_id: string, caller: string, callee: string, started_by: string, tier: Tier, state: CloudState, created_at: number, ended_at?: number, duration_ms: number, 
/**
 * Size of the (plain) MP4.
 */
bytes: number, pinned: boolean, bookmarks: Array<CloudBookmark>, 
/**
 * `show` only: every step and access, oldest first.
 */
audit?: Array<CloudAccess>, };

export type CloudDownload = { id: string, done: number, total: number | null, };

export type CloudRecord = { "action": "start", tier?: Tier, } | { "action": "stop", id: string, } | { "action": "answer", id: string, accept: boolean, } | { "action": "bookmark", id: string, label: string, };

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

export type Event = { "ev": "message", conv: string, entry: Entry, } | { "ev": "read", conv: string, user: string, seq: number, } | { "ev": "presence", user: string, online: boolean, last_seen: number | null, } | { "ev": "friend", user: string, state: FriendState | null, } | { "ev": "conv_changed", conv: string, } | { "ev": "room_live", room: string, owner: string, title: string, category: string, } | { "ev": "call_incoming", call_id: string, from: string, media: Array<MediaKind>, } | { "ev": "call_ringing", call_id: string, } | { "ev": "call_accepted", call_id: string, } | { "ev": "call_ended", call_id: string, reason: EndReason, by?: string | null, } | { "ev": "call_sdp", call_id: string, from: string, kind: SdpKind, sdp: string, } | { "ev": "call_ice", call_id: string, from: string, candidate: IceCandidate | null, } | { "ev": "call_peer", call_id: string, connected: boolean, } | { "ev": "call_recording", call_id: string, by: string, action: RecordAction, } | { "ev": "call_consent_request", call_id: string, by: string, } | { "ev": "call_consent_result", call_id: string, by: string, accepted: boolean, } | { "ev": "call_media", call_id: string, from: string, muted: boolean, camera_off: boolean, } | { "ev": "room_comment", room: string, comment: RoomComment, } | { "ev": "room_viewer", room: string, user: string, joined: boolean, viewers: number, } | { "ev": "room_muted", room: string, user: string, muted: boolean, } | { "ev": "room_kicked", room: string, user: string, until: number, } | { "ev": "cloud_recording", id: string, call_id: string, state: CloudState, started_by: string, tier: Tier, reason?: string, };

export type ErrorCode = "bad_frame" | "too_large" | "unknown_type" | "unsupported_version" | "unauthorized" | "rate_limited" | "invalid" | "not_found" | "not_member" | "not_owner" | "blocked" | "stranger_refused" | "too_late" | "taken" | "bad_credentials" | "busy" | "offline" | "no_such_call" | "not_participant" | "wrong_state" | "bad_sdp" | "internal" | "banned_word" | "muted" | "kicked" | "quota_exceeded";

export type ChatPush = { "kind": "online" } | { "kind": "offline", error: string, retry_in_ms: number, } | { "kind": "delivered", sent: number, failed: number, } | { "kind": "burned" } | { "kind": "event", ev: Event, } | { "kind": "signed_out", reason: string, };

export type To = { "user": string } | { "conv": string };

export type Sources = { 
/**
 * `test`, `camera[:N]`, `screen[:DISPLAY]`, `file:PATH` or `none`.
 */
video: string, 
/**
 * A second video layer in a corner (picture-in-picture).
 */
overlay?: string | null, overlay_corner?: string, overlay_size?: number, 
/**
 * `test`, `mic[:N]`, `file:PATH` or `none`.
 */
audio: string, 
/**
 * `480p30`, `720p30`, `1080p30`, `1080p60`.
 */
preset?: string, smooth?: number, whiten?: number, 
/**
 * Loop file sources.
 */
looped?: boolean, 
/**
 * The camera's mode (`1280x720@30`, Settings → Devices); None: the
 * mode closest to the preset.
 */
camera_mode?: string | null, };

export type Destination = { "kind": "none" } | { "kind": "room", room: string, } | { "kind": "rtmp", url: string, key?: string | null, };

export type LiveRequest = { sources: Sources, destination: Destination, 
/**
 * More destinations fed by the same encode (Go live's list: another
 * RTMP(S) ingest such as Twitch, YouTube or Kick), each with its own
 * connection, state and counters.
 */
destinations?: Array<Destination>, record: boolean, };

export type DestinationSnapshot = { 
/**
 * What the user named (`relay://ROOM`, or the URL with its key hidden).
 */
name: string, 
/**
 * `live` or `reconnecting`.
 */
state: "live" | "reconnecting", bytes_sent: number, 
/**
 * Video frames this destination did not send (down, or too slow).
 */
video_frames_dropped: number, reconnects: number, 
/**
 * Bytes sent per second over the whole run, as kbit/s.
 */
kbps: number, 
/**
 * Its dynamic-bitrate rung now (kbit/s; 0 with --fixed-bitrate).
 */
bitrate_kbps: number, 
/**
 * How many times its rung changed.
 */
bitrate_changes: number, };

export type StatsSnapshot = { video_frames_captured: number, video_frames_encoded: number, 
/**
 * All video frames that did not reach every output: dropped before
 * encoding plus dropped by the live output.
 */
video_frames_dropped: number, video_frames_dropped_capture: number, video_frames_dropped_live: number, audio_chunks_captured: number, audio_packets_encoded: number, bytes_encoded: number, bytes_sent: number, bytes_recorded: number, reconnects: number, reconnecting: boolean, bookmarks: number, elapsed_s: number, 
/**
 * Encoded video bitrate over the whole run, kbit/s.
 */
video_kbps: number, 
/**
 * Frames encoded per second over the whole run.
 */
fps: number, 
/**
 * The video encoder's target bitrate now (kbit/s): the highest rung of
 * the live destinations when they adapt.
 */
encoder_kbps: number, 
/**
 * Each live destination on its own; the totals above sum them
 * (`reconnecting` is true while any one is).
 */
destinations: Array<DestinationSnapshot>, };

export type FaderView = { name: string, volume: number, muted: boolean, 
/**
 * The last 20 ms's peak in dBFS (-100 for silence).
 */
level_dbfs: number, };

export type Audience = { room: string, 
/**
 * People watching now: the larger of open streams and the room's chat,
 * the streamer's own place in the chat not counted.
 */
viewers: number, 
/**
 * The most `viewers` seen during this live.
 */
peak: number, stream_viewers: number, chat_viewers: number, 
/**
 * People following the room or the streamer.
 */
followers: number, 
/**
 * When the relay last answered (Unix ms); None before its first answer.
 */
updated_ms: number | null, 
/**
 * The last failure to ask, in words (kept until an answer comes).
 */
error: string | null, };

export type LiveStatus = { 
/**
 * `idle`, `preview`, `running`, or `stopping` while Stop finalises the
 * recording.
 */
state: "idle" | "preview" | "running" | "stopping", live: boolean, recording: boolean, 
/**
 * The ingest, with any key masked.
 */
target: string | null, stats: StatsSnapshot | null, sources: Array<string>, 
/**
 * When the running job started (Unix ms); None for a preview.
 */
started_ms: number | null, 
/**
 * What the running job was started with, so a screen opened later
 * shows the job's own sources and destination, not its defaults.
 */
request: LiveRequest | null, 
/**
 * The audio mixer: each source's volume, mute and level (preview or job).
 */
mixer: Array<FaderView>, 
/**
 * How many fader changes `mixer` shows: the screen ignores a report
 * older than the change it just made (`live_set_fader`'s answer).
 */
mixer_gen: number, 
/**
 * Live into a room: its audience now and at its peak (the cockpit).
 */
audience: Audience | null, };

export type RecordingResult = { id: number, path: string, duration_ms: number, size_bytes: number, bookmarks: Array<Bookmark>, };

export type StopResult = { 
/**
 * Why it stopped when it stopped by itself.
 */
reason: string | null, recording: RecordingResult | null, stats: StatsSnapshot, errors: Array<string>, };

export type DeviceList = { cameras: { Ok : Array<string> } | { Err : string }, microphones: { Ok : Array<string> } | { Err : string }, screens: Array<string>, 
/**
 * Application windows that `window:` can capture (X11; none where the
 * window system cannot be asked).
 */
windows: Array<WindowInfo>, video_encoders: Array<string>, };

export type WindowInfo = { 
/**
 * The system's id (X11: the window's XID); `window:0x…` names it.
 */
id: number, title: string, width: number, height: number, };

export type Stored = { 
/**
 * `keychain` or `file`.
 */
store: "keychain" | "file", 
/**
 * Shown to the user when the keychain was not used.
 */
note: string | null, };

export type CallSources = { 
/**
 * `camera[:N]`, `screen`, `file:PATH`, `test` or `none` (black).
 */
video: string, 
/**
 * `mic[:N]`, `file:PATH`, `test` or `none`.
 */
audio: string, smooth?: number, whiten?: number, 
/**
 * `360p`, `720p` (the default) or `1080p`.
 */
preset?: string | null, };

export type CallControl = { "type": "mute", on: boolean, } | { "type": "camera", on: boolean, } | { "type": "share", source: string, } | { "type": "beauty", smooth: number, whiten: number, } | { "type": "record", on: boolean, } | { "type": "bookmark", label: string | null, };

export type Band = "excellent" | "good" | "poor" | "bad";

export type Step = { 
/**
 * Seconds since the ladder started (the send started).
 */
at_s: number, width: number, height: number, 
/**
 * The target that made the step.
 */
target_kbps: number, };

export type RecordingEvent = { event: "start" | "stop" | "declined", by: string, 
/**
 * Unix milliseconds (the relay's clock when it says).
 */
at: number, };

export type CallReport = { peer: string | null, call_id: string | null, ended: string, connected: boolean, duration_s: number, video_frames_sent: number, video_frames_encoded: number, video_frames_dropped: number, video_frames_received: number, video_frames_decoded: number, video_frames_broken: number, video_width: number, video_height: number, 
/**
 * Mean colour (Y, U, V, 0-255) of the last picture decoded from the
 * other side: black (16, 128, 128) while their camera is off.
 */
picture_yuv: [number, number, number] | null, 
/**
 * Loudness of the other side's last ~0.5 s of audio (dBFS; about -100 while they are muted).
 */
audio_level_dbfs: number | null, 
/**
 * Our own controls: muted, camera off, and what video we send.
 */
muted: boolean, camera_off: boolean, 
/**
 * Why our camera did not open (the call joined with video off).
 */
camera_error: string | null, 
/**
 * The other side's microphone and camera as it last told us (None: not told yet).
 */
peer_muted: boolean | null, peer_camera_off: boolean | null, video_source: string, 
/**
 * Whether our relay connection is up (false while reconnecting).
 */
relay_connected: boolean, 
/**
 * Whether our recorder is writing now.
 */
recording_now: boolean, audio_packets_sent: number, audio_packets_received: number, audio_samples_decoded: number, rtt_ms: number | null, loss: number, jitter_ms: number, quality_score: number, quality: Band | null, send_kbps: number, target_kbps: number, 
/**
 * GCC's estimate from TWCC feedback (kbit/s); the encoder's target stays at or below it.
 */
gcc_kbps: number | null, 
/**
 * The picture size we send now, and each step it took with the network.
 */
send_width: number, send_height: number, size_steps: Array<Step>, latency_ms_p50: number | null, latency_ms_p95: number | null, latency_samples: number, 
/**
 * Our side of the selected ICE pair (`relay` when through TURN), when the stats name it.
 */
candidate_type: string | null, ice_restarts: number, 
/**
 * First connections that did not come up and were started again afresh.
 */
connect_retries: number, relay_reconnects: number, recording_events: Array<RecordingEvent>, 
/**
 * The other side's picture: freezes as WebRTC's stats count them (a gap ≥ max(3× the average, average + 150 ms)), time frozen, longest gap.
 */
freezes: number, freeze_ms: number, longest_gap_ms: number, 
/**
 * Their PLI/FIR, and how many came too soon after the last to make another keyframe.
 */
keyframe_requests: number, keyframe_requests_ignored: number, 
/**
 * Retransmissions: sent within their budget, and dropped over it.
 */
resent_kbytes: number, resends_dropped: number, recording: RecordingResult | null, notices: Array<string>, };

export type CallPush = { "type": "dialing", call_id: string | null, peer: string, } | { "type": "ringing", call_id: string, peer: string, } | { "type": "peer_ringing", call_id: string, } | { "type": "accepted", call_id: string, } | { "type": "connected", call_id: string, at: number, } | { "type": "ended", call_id: string | null, reason: string, } | { "type": "quality", call_id: string, score: number, } | { "type": "peer_connection", call_id: string, connected: boolean, } | { "type": "recording", call_id: string, by: string, action: "started" | "stopped", } | { "type": "cloud", call_id: string, id: string, state: CloudState, started_by: string, reason: string | null, } | { "type": "consent_request", call_id: string, by: string, } | { "type": "consent_result", call_id: string, by: string, accepted: boolean, } | { "type": "notice", call_id: string, text: string, } | { "type": "media", call_id: string, stats: CallReport, } | { "type": "started", call_id: string, preset: string, };

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
group_from: string, sent_file: string, 
/**
 * A followed streamer went live: `{owner}`, `{title}`.
 */
live_now: string, 
/**
 * Error sentences by code (`relay.bad_credentials`, `app.media`, …),
 * `{detail}` filled here: a failed hotkey's notification says what
 * happened in the UI's language, as its toasts do (lib/i18n.ts `errorText`).
 */
errors: { [key in string]?: string }, };

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

export type CloudCall = { id: string, 
/**
 * pending (asking the other side), recording, done (stopped), failed, declined.
 */
state: CloudState, started_by: string, 
/**
 * Why it stopped or failed ("no recorder worker", "the recorder stopped sending"…).
 */
reason: string | null, };

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
peer_away: boolean, figures: CallFigures | null, recording: CallRecording, 
/**
 * The server recording of this call, where it stands (None: none asked for).
 */
cloud: CloudCall | null, };
