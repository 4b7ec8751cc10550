// Burn-after-read countdown. A burn message is deleted on this device
// `burn_secs` after I read it (the cache stamps `burn_at` when I mark the
// conversation read); the relay deletes it everywhere on the same timer.

import { t } from "./i18n";

export interface BurnView {
  /** Whether to show a burn indicator at all. */
  active: boolean;
  /** Seconds left, rounded up; null until the timer starts. */
  remaining: number | null;
  /** What the indicator says. */
  label: string;
  /** The message should be gone now (hide it before the next refresh). */
  expired: boolean;
}

export function burnView(m: { burn_secs?: number | null; burn_at?: number | null }, now: number): BurnView {
  if (m.burn_secs == null) return { active: false, remaining: null, label: "", expired: false };
  if (m.burn_at == null) return { active: true, remaining: null, label: t("chat.burn_after", { time: formatSecs(m.burn_secs) }), expired: false };
  const left = Math.ceil((m.burn_at - now) / 1000);
  if (left <= 0) return { active: true, remaining: 0, label: t("chat.burned"), expired: true };
  return { active: true, remaining: left, label: t("chat.burn_left", { time: formatSecs(left) }), expired: false };
}

/** 45 → "45s", 90 → "1m 30s", 3600 → "1h". */
export function formatSecs(s: number): string {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  if (h) return m ? `${h}h ${m}m` : `${h}h`;
  if (m) return sec ? `${m}m ${sec}s` : `${m}m`;
  return `${sec}s`;
}

/** Milliseconds until the next visible change of any countdown (for one timer per list). */
export function nextTick(msgs: readonly { burn_secs?: number | null; burn_at?: number | null }[], now: number): number | null {
  let best: number | null = null;
  for (const m of msgs) {
    if (m.burn_secs == null || m.burn_at == null || m.burn_at <= now) continue;
    const toNextSecond = ((m.burn_at - now) % 1000) || 1000;
    best = best === null ? toNextSecond : Math.min(best, toNextSecond);
  }
  return best;
}

/** The burn choices the composer offers (seconds; null = off). */
export const BURN_CHOICES: readonly (number | null)[] = [null, 10, 30, 60, 300, 3600];
