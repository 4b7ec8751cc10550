// A loopback video feed (`/preview`, `/call/remote`, `/call/local`; see
// src-tauri/src/video.rs) drawn on a canvas: RGBA frames behind the
// preview header, reconnecting while open. The canvas's `data-frames`
// counts frames drawn (tests and the stats line read it).

import { wsUrl } from "../api";
import { HEADER, parseHeader, type PreviewHeader } from "./preview";

export interface Feed {
  frames: number;
  close(): void;
}

/** Draws `path`'s frames on `canvas`; `onFrame` sees each header once drawn. */
export function openFeed(path: string, canvas: HTMLCanvasElement, onFrame?: (hd: PreviewHeader) => void): Feed {
  const ctx = canvas.getContext("2d", { alpha: false });
  let sock: WebSocket | null = null;
  let closed = false;
  const feed: Feed = {
    frames: 0,
    close() {
      closed = true;
      sock?.close();
    },
  };
  const draw = (buf: ArrayBuffer) => {
    const hd = parseHeader(buf);
    if (!hd || !ctx) return;
    if (canvas.width !== hd.width || canvas.height !== hd.height) {
      canvas.width = hd.width;
      canvas.height = hd.height;
    }
    ctx.putImageData(new ImageData(new Uint8ClampedArray(buf, HEADER), hd.width, hd.height), 0, 0);
    feed.frames++;
    canvas.dataset.frames = String(feed.frames);
    onFrame?.(hd);
  };
  const connect = async () => {
    if (closed) return;
    const s = new WebSocket(await wsUrl(path));
    s.binaryType = "arraybuffer";
    s.onmessage = (ev) => draw(ev.data as ArrayBuffer);
    s.onclose = () => {
      if (!closed) window.setTimeout(() => void connect(), 500);
    };
    if (closed) s.close();
    sock = s;
  };
  void connect();
  return feed;
}
