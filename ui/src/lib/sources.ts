// Go live's video pickers: the sources this machine has (the test pattern,
// the camera, the whole screen, each open window, a file), and what a
// source spec (`window:Slides`, `camera:1`, `file:/x.mp4`) selects in them.
// Go live remembers the last sources started on this machine (app.json)
// and puts them back on the next visit when they are still there.

import type { WindowInfo } from "../generated/app";
import { clipText } from "./format";
import { t } from "./i18n";

/** A select's options, `[value, label]`. */
export type Choice = [string, string];

/** What a Wayland desktop's screen-sharing portal offers, read from `devices`' screen lines. */
export interface Portal {
  screen: boolean;
  window: boolean;
}

/** The portal's offer in `devices`' `screens` lines (`screen … xdg-desktop-portal ScreenCast vN`, `window:wayland …`). */
export function portalOffer(screens: string[]): Portal {
  return {
    screen: screens.some((l) => l.includes("xdg-desktop-portal ScreenCast")),
    window: screens.some((l) => l.startsWith("window:wayland")),
  };
}

/**
 * The video pickers' options: every open window by its title, between the
 * screen and a file. On Wayland the screen (and a window, where the portal
 * offers one) is picked in the desktop's own sharing dialog.
 */
export function videoChoices(windows: WindowInfo[], portal: Portal = { screen: false, window: false }): Choice[] {
  const seen = new Set<string>();
  const wins: Choice[] = [];
  for (const w of windows) {
    // A window is picked by its title (ids change each session); two windows
    // with one title are one choice (the capture takes the first).
    if (!w.title || seen.has(w.title)) continue;
    seen.add(w.title);
    wins.push([`window:${w.title}`, t("live.src.window", { title: clipText(w.title, 34) })]);
  }
  const screen: Choice = ["screen", t(portal.screen ? "live.src.screen_portal" : "live.src.screen")];
  const portalWindow: Choice[] = portal.window ? [["window:wayland", t("live.src.window_portal")]] : [];
  return [["test", t("live.src.test")], ["camera", t("live.src.camera")], screen, ...portalWindow, ...wins, ["file", t("live.src.file")]];
}

/**
 * What a source spec selects in a video picker offering `values`: `file`
 * for a file, `camera` for any camera (the camera is Settings' choice),
 * the window's own option, `screen` for a screen; null when the picker
 * does not offer it (a window since closed).
 */
export function videoValue(spec: string, values: string[]): string | null {
  const kind = spec.split(":")[0];
  const v = kind === "window" ? spec : kind;
  return values.includes(v) ? v : null;
}

/** The audio picker's value for a job's audio (`mic:2,desktop` → `mic,desktop`). */
export function audioValue(spec: string): string {
  return spec
    .split(",")
    .map((a) => a.split(":")[0])
    .join(",");
}
