// Settings → Devices: this machine's camera, microphone and speaker
// (src-tauri/src/commands/devices.rs), the pickers' options, and the
// sources Go live and Calls send by default.

import { call } from "../api";
import { t } from "./i18n";

// The commands' types, generated from the Rust ones (src-tauri/src/commands/types.rs).
import type { AudioDevice, DeviceChoice, DevicesView } from "../generated/app";
export type { AudioDevice, DeviceChoice, DevicesView };

export const devices = {
  get: () => call<DevicesView>("devices_get"),
  set: (chosen: DeviceChoice) => call<DevicesView>("devices_set", { chosen }),
  /** Starts the level meter on a microphone source (`devices://level`), or stops it (null). */
  meter: (source: string | null) => call<void>("devices_meter", { source }),
};

export interface Option {
  value: string;
  label: string;
}

/** A picker's options: the system's default first (named after the device it is), then the others. */
export function audioOptions(list: AudioDevice[]): Option[] {
  const def = list.find((d) => d.default);
  return [{ value: "", label: def ? t("settings.dev.default_named", { name: def.name }) : t("settings.dev.default") }, ...list.filter((d) => !d.default).map((d) => ({ value: d.id, label: d.name }))];
}

export function cameraOptions(v: DevicesView): Option[] {
  return [{ value: "", label: v.cameras.length ? t("settings.dev.default_named", { name: v.cameras[0].name }) : t("settings.dev.no_camera") }, ...v.cameras.slice(1).map((c) => ({ value: c.name, label: c.name }))];
}

/** The chosen camera's modes: "the one closest to the quality chosen" first, then what the camera offers. */
export function cameraModeOptions(v: DevicesView): Option[] {
  const cam = v.cameras.find((c) => `camera:${c.index}` === v.camera_source) ?? v.cameras[0];
  return [{ value: "", label: t("settings.dev.mode_auto") }, ...(cam?.modes ?? []).map((m) => ({ value: m, label: m.replace("x", "×").replace("@", " · ") + " fps" }))];
}

/** The microphone source a job opens for "microphone": the chosen one, else the system's default. */
export function micSource(v: DevicesView | null): string {
  return v?.microphone_source ?? "mic";
}

/**
 * What a call sends when nothing was picked for it: the chosen camera, or
 * the test pattern when there is no camera (never nothing); the chosen or
 * default microphone, or the test tone when there is none.
 */
export function callDefaults(v: DevicesView | null): { video: string; audio: string } {
  return { video: v?.camera_source ?? "test", audio: v?.microphone_source ?? "test" };
}

/** A meter's width (0–100 %) for a level in dBFS (-60 dB and below: empty). */
export function meterPercent(dbfs: number): number {
  return Math.round(Math.max(0, Math.min(1, (dbfs + 60) / 60)) * 100);
}

/** The Calls screen's pickers: usable devices only (the system's default microphone first), then the test sources and nothing. */
export function callSourceOptions(v: DevicesView | null): { video: Option[]; audio: Option[] } {
  const mics = v?.microphones ?? [];
  const def = mics.find((m) => m.default);
  return {
    video: [...(v?.cameras ?? []).map((c) => ({ value: `camera:${c.index}`, label: c.name || t("call.src.camera_n", { n: c.index + 1 }) })), { value: "screen", label: t("call.src.screen") }, { value: "test", label: t("call.src.test") }, { value: "none", label: t("call.src.no_video") }],
    audio: [
      ...(mics.length ? [{ value: "mic", label: def ? t("settings.dev.default_named", { name: def.name }) : t("settings.dev.default") }] : []),
      ...mics.filter((m) => !m.default).map((m) => ({ value: `mic:${m.index}`, label: m.name })),
      { value: "test", label: t("call.src.test_tone") },
      { value: "none", label: t("call.src.no_sound") },
    ],
  };
}

/** A call's source: what was picked for calls if still offered, else the machine's default. */
export function pickCallSource(options: Option[], saved: string | null, fallback: string): string {
  if (saved && options.some((o) => o.value === saved)) return saved;
  if (options.some((o) => o.value === fallback)) return fallback;
  return options.find((o) => o.value === "test")?.value ?? "none";
}
