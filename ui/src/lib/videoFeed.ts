// A loopback video feed (`/preview`, `/call/remote`, `/call/local`; see
// src-tauri/src/video.rs) drawn on a canvas: RGBA frames behind the
// preview header, reconnecting while open. The canvas's `data-frames`
// counts frames drawn (tests and the stats line read it).

import { wsUrl } from "../api";
import { HEADER, parseHeader } from "./preview";

export interface Feed {
  frames: number;
  close(): void;
}

export function openFeed(path: string, canvas: HTMLCanvasElement): Feed {
  const ctx = canvas.getContext("2d");
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
