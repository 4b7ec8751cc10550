// Chat attachments in the UI: which files preview inline, upload progress,
// and the commands in src-tauri/src/commands/attach.rs (the file's bytes
// go as a raw invoke body, not a JSON array).

import { invoke } from "@tauri-apps/api/core";
import { toApiError, type To } from "../api";
import type { ChatMessage } from "./messages";

/** The most the app reads into memory to send (the relay's own limit, 16 MiB by default, may be lower). */
export const MAX_SEND_BYTES = 512 * 1024 * 1024;

/** Raster images the webview shows inline (the relay sniffs the type from the bytes; SVG is never previewed). */
export function previewable(mime: string): boolean {
  return ["image/png", "image/jpeg", "image/gif", "image/webp"].includes(mime);
}

/** Whole percent of an upload, 0–100. */
export function uploadPercent(sent: number, total: number): number {
  if (total <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((sent * 100) / total)));
}

/** `chat://upload` payload (generated from the Rust type). */
export type { UploadProgress } from "../generated/app";

/** Uploads `file` and queues a message carrying it; progress arrives as `chat://upload` with `upload`. */
export async function sendFile(upload: string, to: To, file: File, text = "", burnSecs: number | null = null): Promise<ChatMessage> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const meta = encodeURIComponent(JSON.stringify({ upload, to, name: file.name || "file", text, burn_secs: burnSecs }));
  try {
    return await invoke<ChatMessage>("chat_send_file", bytes, { headers: { "x-onair-send": meta } });
  } catch (e) {
    throw toApiError(e);
  }
}

const previews = new Map<string, Promise<string>>();

/** A blob: URL of an attachment's bytes (fetched once per launch, cached on disk by the Rust side). */
export function previewUrl(id: string, mime: string): Promise<string> {
  let p = previews.get(id);
  if (!p) {
    p = invoke<ArrayBuffer>("chat_attachment", { id }).then(
      (buf) => URL.createObjectURL(new Blob([buf], { type: mime })),
      (e) => {
        previews.delete(id);
        throw toApiError(e);
      },
    );
    previews.set(id, p);
  }
  return p;
}

/** Saves an attachment to Downloads; resolves to its path. */
export async function saveAttachment(id: string, name: string): Promise<string> {
  try {
    return await invoke<string>("chat_attachment_save", { id, name });
  } catch (e) {
    throw toApiError(e);
  }
}

/** Opens a saved attachment with the system's viewer. */
export async function openSaved(path: string): Promise<void> {
  try {
    await invoke<void>("chat_attachment_open", { path });
  } catch (e) {
    throw toApiError(e);
  }
}
