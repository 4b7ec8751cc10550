// Bookmark marks on the player's seek bar (tested in seekbar.test.ts).

export interface Mark {
  id: number;
  /** Position along the bar, 0–100 (%). */
  pct: number;
  t_ms: number;
  label: string;
}

/** Where each bookmark sits on a bar for a recording `durationMs` long;
 * bookmarks outside the recording are left out, the rest sorted by time. */
export function markPositions(bookmarks: { id: number; t_ms: number; label: string }[], durationMs: number): Mark[] {
  if (!Number.isFinite(durationMs) || durationMs <= 0) return [];
  return bookmarks
    .filter((b) => b.t_ms >= 0 && b.t_ms <= durationMs)
    .sort((a, b) => a.t_ms - b.t_ms)
    .map((b) => ({ id: b.id, t_ms: b.t_ms, label: b.label, pct: Math.round((b.t_ms / durationMs) * 10000) / 100 }));
}

/** The time under a click at `x` pixels on a bar `width` wide. */
export function timeAt(x: number, width: number, durationMs: number): number {
  if (width <= 0 || durationMs <= 0) return 0;
  return Math.min(durationMs, Math.max(0, (x / width) * durationMs));
}

/** The next bookmark after `nowMs` (for "next bookmark"), if any. */
export function nextMark(marks: Mark[], nowMs: number): Mark | undefined {
  return marks.find((m) => m.t_ms > nowMs + 250);
}
