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
