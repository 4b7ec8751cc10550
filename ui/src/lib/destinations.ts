// Go live's extra destinations: ingest presets and each destination's line.

import type { Destination, DestinationStats } from "../api";
import { t } from "./i18n";

/** Ingest URLs of the big platforms (the stream key is each account's own, kept in the keychain). */
export const PRESETS: { id: string; label: string; url: string }[] = [
  { id: "twitch", label: "Twitch", url: "rtmp://live.twitch.tv/app" },
  { id: "youtube", label: "YouTube", url: "rtmp://a.rtmp.youtube.com/live2" },
  { id: "kick", label: "Kick", url: "rtmps://fa723fc1b171.global-contribute.live-video.net/app" },
];

/** The preset an URL belongs to, or "custom". */
export function presetOf(url: string): string {
  return PRESETS.find((p) => p.url === url.trim())?.id ?? "custom";
}

/** An extra destination row as the request carries it; null when its URL is empty. */
export function rtmpDestination(url: string, key: string): Destination | null {
  const u = url.trim();
  if (!u) return null;
  return { kind: "rtmp", url: u, key: key || null };
}

/** "live · 2480 kbps · 0 dropped · 1 reconnects" for one destination. */
export function destinationLine(d: DestinationStats): string {
  const state = t(`live.dest_state.${d.state}`);
  return `${state} · ${t("live.dest_line", { kbps: Math.round(d.kbps), dropped: d.video_frames_dropped, reconnects: d.reconnects })}`;
}
