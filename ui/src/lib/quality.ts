// Call network quality: a 0–100 score from the call engine's stats
// becomes a label, a bar count and a tone.

import { t } from "./i18n";

export type QualityLabel = "excellent" | "good" | "poor" | "bad" | "unknown";

export interface QualityView {
  label: QualityLabel;
  /** 0–4 bars for the indicator. */
  bars: number;
  text: string;
}

/** >80 excellent, >40 good, >20 poor, otherwise bad; no score yet: unknown. */
export function qualityLabel(score: number | null | undefined): QualityLabel {
  if (score == null || !Number.isFinite(score)) return "unknown";
  if (score > 80) return "excellent";
  if (score > 40) return "good";
  if (score > 20) return "poor";
  return "bad";
}

export function qualityView(score: number | null | undefined): QualityView {
  const label = qualityLabel(score);
  const bars = { excellent: 4, good: 3, poor: 2, bad: 1, unknown: 0 }[label];
  const text = label === "unknown" ? t("quality.measuring") : t(`quality.${label}`);
  return { label, bars, text };
}

/**
 * A score from raw link stats when the engine gives none: loss hurts most,
 * then round-trip time and jitter. 0 % loss, 50 ms RTT, 5 ms jitter ≈ 95.
 */
export function scoreFromStats(s: { lossPct: number; rttMs: number; jitterMs: number }): number {
  const loss = Math.min(100, Math.max(0, s.lossPct)) * 10;
  const rtt = Math.max(0, s.rttMs - 30) / 10;
  const jitter = Math.max(0, s.jitterMs) / 2;
  return Math.round(Math.min(100, Math.max(0, 100 - loss - rtt - jitter)));
}
