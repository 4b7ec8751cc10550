// Go live: sources, live preview, beauty, destination, record, start/stop,
// bookmark and live stats. The preview arrives as RGBA frames over the
// loopback WebSocket (`/preview`), drawn on a canvas; stats arrive as
// `live://stats` events twice a second.

import { ApiError, live, on, type Destination, type LiveStatus, type Sources } from "../api";
import { h, replace, toast } from "../lib/dom";
import { formatStats, stateBadge } from "../lib/format";
import { LatencyWindow, type PreviewHeader } from "../lib/preview";
import { openFeed, type Feed } from "../lib/videoFeed";

/** Preview figures the page measured, read by bench/app.sh and the e2e. */
export interface PreviewStats {
  frames: number;
  p50: number;
  p95: number;
  lastSeq: number;
}
declare global {
  interface Window {
    __onairPreview?: PreviewStats;
  }
}

const SOURCE_CHOICES = [
  ["test", "Test pattern"],
  ["camera", "Camera"],
  ["screen", "Screen"],
  ["file", "File…"],
];

function select(testid: string, options: string[][], value: string, onchange: () => void): HTMLSelectElement {
  const s = h("select", { "data-testid": testid, onchange }, ...options.map(([v, t]) => h("option", { value: v }, t))) as HTMLSelectElement;
  s.value = value;
  return s;
}

export function mount(root: HTMLElement): () => void {
  let status: LiveStatus = { state: "idle", live: false, recording: false, target: null, stats: null, sources: [] };
  let feed: Feed | null = null;
  let busy = false;
  const lat = new LatencyWindow(300);
  window.__onairPreview = { frames: 0, p50: NaN, p95: NaN, lastSeq: 0 };

  // ---- sources ----
  const refreshPreview = () => void startPreview();
  const video = select("video-source", SOURCE_CHOICES, "test", refreshPreview);
  const videoFile = h("input", { type: "text", placeholder: "/path/to/video.mp4", "data-testid": "video-file", onchange: refreshPreview }) as HTMLInputElement;
  const overlay = select("overlay-source", [["none", "No overlay"], ...SOURCE_CHOICES.filter(([v]) => v !== "file")], "none", refreshPreview);
  const corner = select("overlay-corner", [["bottom-right", "bottom right"], ["bottom-left", "bottom left"], ["top-right", "top right"], ["top-left", "top left"]], "bottom-right", refreshPreview);
  const audio = select("audio-source", [["test", "Test tone"], ["mic", "Microphone"], ["none", "No audio"]], "test", refreshPreview);
  const preset = select("preset", [["480p30", "480p 30"], ["720p30", "720p 30"], ["1080p30", "1080p 30"], ["1080p60", "1080p 60"]], "720p30", refreshPreview);

  // ---- beauty ----
  const smooth = h("input", { type: "range", min: 0, max: 100, value: 0, "data-testid": "beauty-smooth" }) as HTMLInputElement;
  const whiten = h("input", { type: "range", min: 0, max: 100, value: 0, "data-testid": "beauty-whiten" }) as HTMLInputElement;
  let beautyTimer: number | undefined;
  const onBeauty = () => {
    window.clearTimeout(beautyTimer);
    beautyTimer = window.setTimeout(() => {
      live.setBeauty(Number(smooth.value), Number(whiten.value)).then(
        (applied) => (beautyNote.textContent = applied ? "" : "The beauty filter acts on camera and file sources."),
        () => {},
      );
    }, 30);
  };
  smooth.addEventListener("input", onBeauty);
  whiten.addEventListener("input", onBeauty);
  const beautyNote = h("p.muted.small", {}, "");

  // ---- destination ----
  const dest = select("destination", [["none", "Record only"], ["room", "A room on the relay"], ["rtmp", "RTMP server (Twitch, YouTube…)"]], "none", () => showDest());
  const roomSelect = h("select", { "data-testid": "room-select" }) as HTMLSelectElement;
  const roomTitle = h("input", { type: "text", placeholder: "New room title", "data-testid": "room-title" }) as HTMLInputElement;
  const roomCreate = h("button", { "data-testid": "room-create", onclick: () => void createRoom() }, "Create room");
  const roomPrivate = h("input", { type: "checkbox", "data-testid": "room-private" }) as HTMLInputElement;
  const roomRotate = h("button", { "data-testid": "room-rotate", title: "A new stream key for OBS or ffmpeg; the old one stops working", onclick: () => void rotateKey() }, "Rotate key") as HTMLButtonElement;
  // A stream key is shown once, after create or rotate (the relay keeps only its hash).
  const keyOnce = h("input", { type: "text", readonly: true, "data-testid": "room-key-once" }) as HTMLInputElement;
  const keyOnceBox = h(
    "div.key-once",
    { hidden: true },
    h("p.small", {}, "Stream key for OBS or ffmpeg — copy it now: it will not be shown again. Going live from here needs no key."),
    h("div.row", {}, keyOnce, h("button", { "data-testid": "room-key-copy", onclick: () => void copyKey() }, "Copy"), h("button", { "data-testid": "room-key-done", onclick: () => hideKey() }, "Done")),
  );
  const roomBox = h("div.dest-room", {}, h("div.row", {}, roomSelect, roomRotate), h("div.row", {}, roomTitle, h("label", { title: "Only you and the members you add may watch" }, roomPrivate, " Private"), roomCreate), keyOnceBox);
  const rtmpUrl = h("input", { type: "text", placeholder: "rtmp://live.twitch.tv/app", "data-testid": "rtmp-url", onchange: () => void checkKey() }) as HTMLInputElement;
  const rtmpKey = h("input", { type: "password", placeholder: "Stream key", autocomplete: "off", "data-testid": "rtmp-key" }) as HTMLInputElement;
  const keyNote = h("p.muted.small", { "data-testid": "key-note" }, "");
  const saveKey = h("button", { "data-testid": "save-key", onclick: () => void doSaveKey() }, "Save key");
  const rtmpBox = h("div.dest-rtmp", {}, rtmpUrl, h("div.row", {}, rtmpKey, saveKey), keyNote);
  const showDest = () => {
    roomBox.hidden = dest.value !== "room";
    rtmpBox.hidden = dest.value !== "rtmp";
    if (dest.value === "room") void loadRooms();
  };

  // ---- controls ----
  const record = h("input", { type: "checkbox", checked: true, "data-testid": "record-toggle" }) as HTMLInputElement;
  const startStop = h("button.big.primary", { "data-testid": "start-stop", onclick: () => void toggle() }, "Start") as HTMLButtonElement;
  const bookmark = h("button.big", { "data-testid": "bookmark", disabled: true, onclick: () => void addBookmark() }, "★ Bookmark") as HTMLButtonElement;
  const badge = h("span.badge.off", { "data-testid": "state-badge" }, "OFFLINE");
  const statsEl = h("div.stats", { "data-testid": "stats" }, "");
  const latencyEl = h("span.muted.small", { "data-testid": "preview-latency" }, "");
  const canvas = h("canvas", { width: 640, height: 360, "data-testid": "preview" }) as HTMLCanvasElement;

  function sources(): Sources {
    const v = video.value === "file" ? `file:${videoFile.value.trim()}` : video.value;
    return {
      video: v,
      overlay: overlay.value === "none" ? null : overlay.value,
      overlay_corner: corner.value,
      overlay_size: 25,
      audio: audio.value,
      preset: preset.value,
      smooth: Number(smooth.value),
      whiten: Number(whiten.value),
      looped: true,
    };
  }

  function destination(): Destination {
    if (dest.value === "room") return { kind: "room", room: roomSelect.value };
    if (dest.value === "rtmp") return { kind: "rtmp", url: rtmpUrl.value.trim(), key: rtmpKey.value || null };
    return { kind: "none" };
  }

  function render(): void {
    const running = status.state === "running";
    const b = stateBadge(status.live, status.recording);
    badge.textContent = b.text;
    badge.className = `badge ${b.cls}`;
    startStop.textContent = running ? (busy ? "Finishing…" : "Stop") : dest.value === "none" ? "Start recording" : "Go live";
    startStop.classList.toggle("danger", running);
    bookmark.disabled = !status.recording;
    for (const el of [video, videoFile, overlay, corner, audio, preset, dest, record, roomSelect, roomRotate, rtmpUrl, rtmpKey]) el.disabled = running || busy;
    startStop.disabled = busy;
    videoFile.hidden = video.value !== "file";
    if (status.stats) {
      const v = formatStats(status.stats, status.live);
      replace(
        statsEl,
        h("span", { "data-testid": "stat-elapsed" }, v.elapsed),
        h("span", { "data-testid": "stat-fps" }, v.fps),
        h("span", {}, v.bitrate),
        h("span", { "data-testid": "stat-dropped" }, v.dropped),
        h(`span.health.${v.health}`, { "data-testid": "stat-connection" }, v.connection),
        h("span", {}, `${status.stats.bookmarks} bookmarks`),
      );
    } else replace(statsEl, h("span.muted", {}, "Not running"));
  }

  async function startPreview(): Promise<void> {
    render();
    if (status.state === "running") return;
    const s = sources();
    if (s.video === "file:") return;
    try {
      status = await live.preview(s);
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
    render();
  }

  async function toggle(): Promise<void> {
    if (busy) return;
    busy = true;
    render();
    try {
      if (status.state === "running") {
        const r = await live.stop();
        status = await live.status();
        if (r.recording) toast(`Saved ${r.recording.path.split("/").pop()} (${r.recording.bookmarks.length} bookmarks)`);
        if (r.errors.length) toast(r.errors.join("; "), "error");
        busy = false;
        await startPreview();
      } else {
        status = await live.start({ sources: sources(), destination: destination(), record: record.checked });
      }
    } catch (e) {
      toast((e as ApiError).message, "error");
    } finally {
      busy = false;
      render();
    }
  }

  async function addBookmark(): Promise<void> {
    try {
      const b = await live.bookmark();
      toast(`Bookmark at ${(b.t_ms / 1000).toFixed(1)} s`);
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  }

  async function loadRooms(): Promise<void> {
    try {
      const rooms = await live.rooms(true);
      const keep = roomSelect.value;
      replace(roomSelect, ...rooms.map((r) => h("option", { value: String(r.id) }, `${r.title} (${r.id})`)));
      if (keep) roomSelect.value = keep;
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  }

  async function createRoom(): Promise<void> {
    try {
      const r = await live.createRoom(roomTitle.value, undefined, roomPrivate.checked);
      roomTitle.value = "";
      roomPrivate.checked = false;
      await loadRooms();
      roomSelect.value = r.id;
      showKey(r.stream_key);
      toast(`Room “${r.title}” created`);
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  }

  async function rotateKey(): Promise<void> {
    if (!roomSelect.value) return;
    try {
      const r = await live.rotateRoomKey(roomSelect.value);
      showKey(r.stream_key);
      toast(`New stream key for “${r.title}”; the old one no longer works`);
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  }

  function showKey(key: string): void {
    keyOnce.value = key;
    keyOnceBox.hidden = false;
  }

  function hideKey(): void {
    keyOnce.value = "";
    keyOnceBox.hidden = true;
  }

  async function copyKey(): Promise<void> {
    try {
      await navigator.clipboard.writeText(keyOnce.value);
      toast("Stream key copied");
    } catch {
      // No clipboard permission: the text is selected for Ctrl+C.
      keyOnce.select();
    }
  }

  async function doSaveKey(): Promise<void> {
    try {
      const s = await live.saveKey(rtmpUrl.value.trim(), rtmpKey.value);
      rtmpKey.value = "";
      keyNote.textContent = s.note ?? "Saved in the system keychain.";
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  }

  async function checkKey(): Promise<void> {
    if (!rtmpUrl.value.trim()) return;
    try {
      keyNote.textContent = (await live.hasKey(rtmpUrl.value.trim())) ? "A saved key will be used." : "";
    } catch {
      /* shown when saving */
    }
  }

  /** Capture → drawn latency of each preview frame (stamped at capture). */
  function measure(hd: PreviewHeader): void {
    lat.push(Date.now() - hd.capturedMs);
    const p = window.__onairPreview!;
    p.frames++;
    p.lastSeq = hd.seq;
    if (p.frames % 15 === 0) {
      p.p50 = lat.percentile(50);
      p.p95 = lat.percentile(95);
      latencyEl.textContent = `preview ${Math.round(p.p50)} ms`;
    }
  }

  const unlistenStats = on<LiveStatus>("live://stats", (s) => {
    status = s;
    if (!busy) render();
  });
  const unlistenStopped = on<{ reason: string | null }>("live://stopped", (r) => {
    toast(`Stopped: ${r.reason ?? "done"}`);
    void startPreview();
  });

  replace(
    root,
    h(
      "section.screen.live",
      { "data-testid": "screen-live" },
      h("header.row", {}, h("h1", {}, "Go live"), badge, h("div.spacer"), latencyEl),
      h(
        "div.live-grid",
        {},
        h("div.preview-box", {}, canvas, statsEl, h("div.row.controls", {}, startStop, bookmark, h("label.check", {}, record, " Record"))),
        h(
          "aside.panel",
          {},
          h("h2", {}, "Sources"),
          h("label", {}, "Video", video),
          videoFile,
          h("label", {}, "Overlay (picture-in-picture)", overlay),
          h("label", {}, "Overlay corner", corner),
          h("label", {}, "Audio", audio),
          h("label", {}, "Quality", preset),
          h("h2", {}, "Beauty"),
          h("label", {}, "Smooth", smooth),
          h("label", {}, "Brighten", whiten),
          beautyNote,
          h("h2", {}, "Destination"),
          dest,
          roomBox,
          rtmpBox,
        ),
      ),
    ),
  );
  showDest();
  render();
  feed = openFeed("/preview", canvas, measure);
  live
    .status()
    .then((s) => {
      status = s;
      if (s.state === "idle") return startPreview();
      render();
    })
    .catch((e) => toast((e as ApiError).message, "error"));

  return () => {
    feed?.close();
    unlistenStats();
    unlistenStopped();
    window.clearTimeout(beautyTimer);
    void live.previewStop().catch(() => {});
  };
}
