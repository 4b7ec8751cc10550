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
