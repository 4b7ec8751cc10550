// The Go live preview's wire format (see src-tauri/src/video.rs): a 24-byte
// little-endian header — width, height, sequence, format (1 = RGBA) as u32,
// capture time as f64 Unix ms — then the pixels.

export const HEADER = 24;

export interface PreviewHeader {
  width: number;
  height: number;
  seq: number;
  format: number;
  capturedMs: number;
}

export function parseHeader(buf: ArrayBuffer): PreviewHeader | null {
  if (buf.byteLength < HEADER) return null;
  const v = new DataView(buf);
  const h = {
    width: v.getUint32(0, true),
    height: v.getUint32(4, true),
    seq: v.getUint32(8, true),
    format: v.getUint32(12, true),
    capturedMs: v.getFloat64(16, true),
  };
  if (h.format !== 1 || buf.byteLength !== HEADER + h.width * h.height * 4) return null;
  return h;
}

/** Rolling latency figures (capture → drawn) over the last `size` frames. */
export class LatencyWindow {
  private xs: number[] = [];
  constructor(private size = 120) {}
  push(ms: number): void {
    this.xs.push(ms);
    if (this.xs.length > this.size) this.xs.shift();
  }
  get count(): number {
    return this.xs.length;
  }
  /** The p-th percentile (0–100), nearest rank. */
  percentile(p: number): number {
    if (this.xs.length === 0) return NaN;
    const s = [...this.xs].sort((a, b) => a - b);
    const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
    return s[i];
  }
}
