// Go live: sources, live preview, beauty, destination, record, start/stop,
// bookmark and live stats. The preview arrives as RGBA frames over the
// loopback WebSocket (`/preview`), drawn on a canvas; stats arrive as
// `live://stats` events twice a second.

import { devices, meterPercent, micSource, type DevicesView } from "../lib/devices";
import { ApiError, live, on, watch, type ChatPush, type Destination, type DestinationStats, type LiveRequest, type LiveStatus, type Sources } from "../api";
import { StatsHistory, audienceLine, bitratePath, dropMarks, scaleKbps } from "../lib/cockpit";
import { addComments, sayError, type RoomComment } from "../lib/roomChat";
import { PRESETS, destinationLine, presetOf, rtmpDestination } from "../lib/destinations";
import { h, nameEl, replace, toast } from "../lib/dom";
import { clipText, formatDuration, formatStats, stateBadge } from "../lib/format";
import { errorText, t, tn } from "../lib/i18n";
import { icon } from "../lib/icons";
import { audioValue, portalOffer, videoChoices, videoValue, type Portal } from "../lib/sources";
import type { WindowInfo } from "../generated/app";
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

const SOURCE_CHOICES = () => [
  ["test", t("live.src.test")],
  ["camera", t("live.src.camera")],
  ["screen", t("live.src.screen")],
  ["file", t("live.src.file")],
];

function select(testid: string, options: string[][], value: string, onchange: () => void): HTMLSelectElement {
  const s = h("select", { "data-testid": testid, onchange }, ...options.map(([v, t]) => h("option", { value: v }, t))) as HTMLSelectElement;
  s.value = value;
  return s;
}

export function mount(root: HTMLElement): () => void {
  let status: LiveStatus = { state: "idle", live: false, recording: false, target: null, stats: null, sources: [], started_ms: null, request: null, mixer: [], mixer_gen: 0, audience: null };
  let feed: Feed | null = null;
  let busy = false;
  const lat = new LatencyWindow(300);
  window.__onairPreview = { frames: 0, p50: NaN, p95: NaN, lastSeq: 0 };

  // ---- sources ----
  const refreshPreview = () => void startPreview();
  const video = select("video-source", SOURCE_CHOICES(), "test", refreshPreview);
  const videoFile = h("input", { type: "text", placeholder: t("live.file_placeholder"), "data-testid": "video-file", onchange: refreshPreview }) as HTMLInputElement;
  const overlay = select("overlay-source", [["none", t("live.src.no_overlay")], ...SOURCE_CHOICES().filter(([v]) => v !== "file")], "none", refreshPreview);
  const corner = select("overlay-corner", (["bottom-right", "bottom-left", "top-right", "top-left"] as const).map((c) => [c, t(`live.corner.${c}`)]), "bottom-right", refreshPreview);
  const audio = select(
    "audio-source",
    [["test", t("live.audio.test")], ["mic", t("live.audio.mic")], ["desktop", t("live.audio.desktop")], ["mic,desktop", t("live.audio.mic_desktop")], ["none", t("live.audio.none")]],
    "test",
    refreshPreview,
  );
  const preset = select("preset", [["480p30", "480p 30"], ["720p30", "720p 30"], ["1080p30", "1080p 30"], ["1080p60", "1080p 60"]], "720p30", refreshPreview);

  // ---- beauty ----
  const smooth = h("input", { type: "range", min: 0, max: 100, value: 0, "data-testid": "beauty-smooth" }) as HTMLInputElement;
  const whiten = h("input", { type: "range", min: 0, max: 100, value: 0, "data-testid": "beauty-whiten" }) as HTMLInputElement;
  let beautyTimer: number | undefined;
  const onBeauty = () => {
    window.clearTimeout(beautyTimer);
    beautyTimer = window.setTimeout(() => {
      live.setBeauty(Number(smooth.value), Number(whiten.value)).then(
        (applied) => (beautyNote.textContent = applied ? "" : t("live.beauty_note")),
        () => {},
      );
    }, 30);
  };
  smooth.addEventListener("input", onBeauty);
  whiten.addEventListener("input", onBeauty);
  const beautyNote = h("p.muted.small", {}, "");

  // ---- destination ----
  const dest = select("destination", [["none", t("live.dest.none")], ["room", t("live.dest.room")], ["rtmp", t("live.dest.rtmp")]], "none", () => showDest());
  const roomSelect = h("select", { "data-testid": "room-select" }) as HTMLSelectElement;
  // A long room title is cut in the box: the whole of it on hover.
  const titleRoom = () => (roomSelect.title = roomSelect.selectedOptions[0]?.title || roomSelect.selectedOptions[0]?.textContent || "");
  roomSelect.addEventListener("change", titleRoom);
  const roomTitle = h("input", { type: "text", placeholder: t("live.room_title"), "data-testid": "room-title" }) as HTMLInputElement;
  const roomCreate = h("button", { "data-testid": "room-create", onclick: () => void createRoom() }, t("live.room_create"));
  const roomPrivate = h("input", { type: "checkbox", "data-testid": "room-private" }) as HTMLInputElement;
  const roomRotate = h("button", { "data-testid": "room-rotate", title: t("live.room_rotate_title"), onclick: () => void rotateKey() }, t("live.room_rotate")) as HTMLButtonElement;
  // A stream key is shown once, after create or rotate (the relay keeps only its hash).
  const keyOnce = h("input", { type: "text", readonly: true, "data-testid": "room-key-once" }) as HTMLInputElement;
  const keyOnceBox = h(
    "div.key-once",
    { hidden: true },
    h("p.small", {}, t("live.room_key_once")),
    h("div.row", {}, keyOnce, h("button", { "data-testid": "room-key-copy", onclick: () => void copyKey() }, t("live.room_key_copy")), h("button", { "data-testid": "room-key-done", onclick: () => hideKey() }, t("live.room_key_done"))),
  );
  // The room's category and cover (issue 17), sent to the relay when going live into it.
  const CATEGORIES = ["games", "music", "talk", "creative", "education", "sports", "other"] as const;
  const roomCategory = h("select", { "data-testid": "room-category", title: t("live.category"), "aria-label": t("live.category") }, h("option", { value: "" }, t("live.cat.keep")), ...CATEGORIES.map((c) => h("option", { value: c }, t(c === "other" ? "live.cat.misc" : `live.cat.${c}`)))) as HTMLSelectElement;
  const roomCover = h("input", { type: "file", accept: "image/png,image/jpeg,image/webp", "data-testid": "room-cover", title: t("live.cover_title"), "aria-label": t("live.cover") }) as HTMLInputElement;
  const roomBox = h("div.dest-room", {}, h("div.row.room-pick", {}, roomSelect, roomRotate), h("div.row.room-studio", {}, roomCategory, h("label.inline.small", { title: t("live.cover_title") }, t("live.cover"), roomCover)), h("div.row.room-new", {}, roomTitle, h("label.inline", { title: t("live.room_private_title") }, roomPrivate, t("live.room_private")), roomCreate), keyOnceBox);
  const rtmpUrl = h("input", { type: "text", placeholder: "rtmp://live.twitch.tv/app", "data-testid": "rtmp-url", onchange: () => void checkKey() }) as HTMLInputElement;
  const rtmpKey = h("input", { type: "password", placeholder: t("live.rtmp_key"), autocomplete: "off", "data-testid": "rtmp-key" }) as HTMLInputElement;
  const keyNote = h("p.muted.small", { "data-testid": "key-note" }, "");
  const saveKey = h("button", { "data-testid": "save-key", onclick: () => void doSaveKey() }, t("live.save_key"));
  const rtmpBox = h("div.dest-rtmp", {}, rtmpUrl, h("div.row", {}, rtmpKey, saveKey), keyNote);
  // More destinations from the same encode, each with its own key, state and counters.
  interface Extra {
    row: HTMLElement;
    remove: HTMLButtonElement;
    url: HTMLInputElement;
    key: HTMLInputElement;
    preset: HTMLSelectElement;
  }
  const extras: Extra[] = [];
  const extraList = h("div.dest-extras", { "data-testid": "dest-extras" });
  const addExtraBtn = h("button", { "data-testid": "dest-add", onclick: () => addExtra("") }, t("live.add_dest")) as HTMLButtonElement;
  function addExtra(url: string): Extra {
    const urlIn = h("input", { type: "text", placeholder: "rtmp://…/app", "data-testid": "dest-url", value: url }) as HTMLInputElement;
    const keyIn = h("input", { type: "password", placeholder: t("live.rtmp_key"), autocomplete: "off", "data-testid": "dest-key" }) as HTMLInputElement;
    const presetSel = select("dest-preset", [...PRESETS.map((p) => [p.id, p.label]), ["custom", t("live.preset.custom")]], url ? presetOf(url) : "custom", () => {
      const p = PRESETS.find((x) => x.id === presetSel.value);
      if (p) urlIn.value = p.url;
    });
    urlIn.addEventListener("change", () => (presetSel.value = presetOf(urlIn.value)));
    const remove = h("button", { "data-testid": "dest-remove", onclick: () => removeExtra(e) }, t("live.remove_dest")) as HTMLButtonElement;
    const e: Extra = { row: h("div.dest-extra", {}, h("div.row", {}, presetSel, remove), urlIn, keyIn), remove, url: urlIn, key: keyIn, preset: presetSel };
    extras.push(e);
    extraList.appendChild(e.row);
    return e;
  }
  function removeExtra(e: Extra): void {
    extras.splice(extras.indexOf(e), 1);
    e.row.remove();
  }
  const destStates = h("ul.dest-states", { "data-testid": "dest-states" });

  // ---- audio mixer: a meter, volume and mute per source (mic, desktop…) ----
  const mixerEl = h("div.mixer", { "data-testid": "mixer" });
  let mixerKey = "";
  let mixerRows: { bar: HTMLElement; meter: HTMLElement; vol: HTMLInputElement; mute: HTMLInputElement }[] = [];
  // The fader changes made here: sent and not yet answered, and the newest
  // generation answered. A report older than that (sent before the change
  // landed) would flip the box or the slider back; it shows levels only.
  let faderWrites = 0;
  let faderGen = 0;
  function renderMixer(): void {
    const m = status.mixer ?? [];
    const key = m.map((f) => f.name).join("\n");
    if (key !== mixerKey) {
      mixerKey = key;
      const rows: HTMLElement[] = [];
      mixerRows = m.map((f, i) => {
        const bar = h("div.level-fill");
        const meter = h("div.level", { "data-testid": "mixer-level", role: "meter", "aria-label": f.name }, bar);
        const vol = h("input", { type: "range", min: 0, max: 200, value: Math.round(f.volume * 100), "data-testid": "mixer-volume", "aria-label": f.name }) as HTMLInputElement;
        const mute = h("input", { type: "checkbox", "data-testid": "mixer-mute" }) as HTMLInputElement;
        mute.checked = f.muted;
        const send = () => {
          faderWrites++;
          live
            .setFader(i, Number(vol.value) / 100, mute.checked)
            .then((g) => (faderGen = Math.max(faderGen, g)))
            .catch((e) => toast(errorText(e), "error"))
            .finally(() => faderWrites--);
        };
        vol.addEventListener("input", send);
        mute.addEventListener("change", send);
        rows.push(h("div.mixer-row", {}, nameEl("span.small", f.name), meter, h("div.row", {}, vol, h("label.inline", {}, mute, t("live.mute")))));
        return { bar, meter, vol, mute };
      });
      replace(mixerEl, ...rows);
    }
    const current = faderWrites === 0 && status.mixer_gen >= faderGen;
    m.forEach((f, i) => {
      const r = mixerRows[i];
      r.bar.style.width = `${meterPercent(f.level_dbfs)}%`;
      r.meter.dataset.dbfs = String(Math.round(f.level_dbfs));
      if (!current) return;
      if (document.activeElement !== r.vol) r.vol.value = String(Math.round(f.volume * 100));
      r.mute.checked = f.muted;
    });
  }

  // ---- the live cockpit: audience, encoder lag, a graph per destination, the room's chat ----
  const history = new StatsHistory();
  let historyOf: number | null = null;
  const audienceEl = h("span.cockpit-audience", { "data-testid": "cockpit-viewers", hidden: true }, "");
  const lagEl = h("p.small", { "data-testid": "cockpit-encoder" }, "");
  const graphsEl = h("div.cockpit-graphs", { "data-testid": "cockpit-graphs" });
  // Only over graphs: a job that only records has no destination to draw.
  const graphTitle = h("h3", { hidden: true }, t("live.cockpit.graph"));
  const commentsEl = h("div.cockpit-comments", { "data-testid": "cockpit-comments" });
  const chatNote = h("p.muted.small", { "data-testid": "cockpit-chat-note" }, "");
  const chatSay = h("input", { type: "text", maxlength: 500, placeholder: t("live.cockpit.say"), "data-testid": "cockpit-say" }) as HTMLInputElement;
  chatSay.addEventListener("keydown", (e) => {
    if ((e as KeyboardEvent).key === "Enter") void say();
  });
  const chatBox = h(
    "div.cockpit-chat",
    { hidden: true },
    h("h3", {}, t("live.cockpit.chat")),
    commentsEl,
    chatNote,
    h("div.row", {}, chatSay, h("button", { "data-testid": "cockpit-send", onclick: () => void say() }, t("live.cockpit.send"))),
  );
  // The audience sits in the screen's header (seen at a glance); the rest below the controls.
  const cockpit = h(
    "section.cockpit",
    { "data-testid": "cockpit", hidden: true },
    h("h2", {}, t("live.cockpit.title")),
    h("div.cockpit-body", {}, h("div.cockpit-figures", {}, lagEl, graphTitle, graphsEl), chatBox),
  );
  let chatRoom: string | null = null;
  let chatOwner = "";
  let joining = false;
  let lastJoinTry = 0;
  let comments: RoomComment[] = [];
  const mutedUsers = new Set<string>();

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  }

  /** One destination's last minute: bitrate as a line, drops as red ticks. */
  function graph(d: DestinationStats): HTMLElement {
    const W = 240;
    const H = 48;
    const pts = history.of(d.name);
    const now = pts.length ? pts[pts.length - 1].at : Date.now();
    const max = scaleKbps(pts);
    const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", class: "cockpit-graph", role: "img", "aria-label": d.name });
    g.appendChild(svg("line", { x1: 0, y1: H / 2, x2: W, y2: H / 2, class: "grid" }));
    for (const x of dropMarks(pts, now, W)) g.appendChild(svg("line", { x1: x, y1: H, x2: x, y2: H * 0.55, class: "drop" }));
    g.appendChild(svg("path", { d: bitratePath(pts, now, W, H, max), class: "rate" }));
    const drops = pts.reduce((n, p) => n + p.drops, 0);
    return h(
      "div.cockpit-dest",
      { "data-testid": "cockpit-graph", "data-name": d.name, "data-points": pts.length, "data-drops": drops },
      h("div.row.small", {}, nameEl("strong", d.name), h("span.spacer"), h("span.muted", {}, t("live.cockpit.graph_max", { max }))),
      g as unknown as HTMLElement,
    );
  }

  function renderComments(): void {
    const atBottom = commentsEl.scrollHeight - commentsEl.scrollTop - commentsEl.clientHeight < 40;
    replace(
      commentsEl,
      ...comments.map((c) => {
        const own = c.from === chatOwner;
        const muted = mutedUsers.has(c.from);
        return h(
          "div.comment",
          { "data-testid": "cockpit-comment", "data-from": c.from },
          h("div.comment-text", {}, h("b", {}, c.from), " ", c.text),
          own
            ? null
            : h(
                "div.row.mod",
                {},
                h("button.small", { "data-testid": "cockpit-mute", "data-user": c.from, "data-muted": muted, onclick: () => void mute(c.from, !mutedUsers.has(c.from)) }, muted ? t("live.cockpit.unmute") : t("live.cockpit.mute")),
                h("button.small", { "data-testid": "cockpit-kick", "data-user": c.from, title: t("live.cockpit.kick_title"), onclick: () => void kick(c.from) }, t("live.cockpit.kick")),
              ),
        );
      }),
      comments.length ? null : h("p.muted.small", {}, t("live.cockpit.no_comments")),
    );
    if (atBottom) commentsEl.scrollTop = commentsEl.scrollHeight;
  }

  function renderCockpit(running: boolean): void {
    cockpit.hidden = !running;
    if (!running) {
      audienceEl.hidden = true;
      return;
    }
    const a = status.audience ?? null;
    audienceEl.hidden = !running || !a;
    if (a) {
      audienceEl.dataset.viewers = String(a.viewers);
      audienceEl.dataset.peak = String(a.peak);
      audienceEl.dataset.followers = String(a.followers ?? 0);
      audienceEl.textContent = a.updated_ms === null ? t("live.cockpit.viewers_wait") : `${audienceLine(a.viewers, a.peak)} · ${tn("live.cockpit.followers", a.followers ?? 0)}`;
    }
    const lag = Number(status.stats?.video_frames_dropped_capture ?? 0);
    lagEl.dataset.skipped = String(lag);
    lagEl.className = lag > 0 ? "small warn" : "small muted";
    lagEl.textContent = lag > 0 ? tn("live.cockpit.encoder_lag", lag) : t("live.cockpit.encoder_ok");
    const ds = status.stats?.destinations ?? [];
    graphTitle.hidden = ds.length === 0;
    replace(graphsEl, ...ds.map(graph));
    chatBox.hidden = !a;
    if (a) void ensureChat(a.room);
  }

  /** Joins the room's chat once per visit (again after the chat's socket comes back). */
  async function ensureChat(room: string): Promise<void> {
    if (chatRoom === room || joining || Date.now() - lastJoinTry < 5000) return;
    joining = true;
    lastJoinTry = Date.now();
    try {
      const j = await live.chatJoin(room);
      chatRoom = room;
      chatOwner = j.owner;
      comments = addComments([], j.recent);
      chatNote.textContent = "";
      renderComments();
    } catch (e) {
      // The chat's socket still connecting (or back from a drop) is not an
      // error to show: the join is tried again every 5 s, and the status
      // strip says whether the relay can be reached. A refusal (relay_code)
      // is shown as it is.
      const connecting = e instanceof ApiError && !e.relay_code && (e.code === "state" || e.code === "network");
      chatNote.textContent =
        e instanceof ApiError && e.code === "not_signed_in" ? t("live.cockpit.chat_sign_in") : connecting ? t("live.cockpit.chat_connecting") : errorText(e);
    } finally {
      joining = false;
    }
  }

  function leaveChat(): void {
    if (chatRoom) void watch.leave(chatRoom).catch(() => {});
    chatRoom = null;
    comments = [];
    mutedUsers.clear();
    renderComments();
  }

  async function say(): Promise<void> {
    const text = chatSay.value;
    if (!chatRoom || !text.trim()) return;
    chatSay.value = "";
    try {
      await watch.say(chatRoom, text);
    } catch (e) {
      chatSay.value = text;
      toast(sayError(e), "error");
    }
  }

  async function mute(user: string, muted: boolean): Promise<void> {
    if (!chatRoom) return;
    try {
      await live.chatMute(chatRoom, user, muted);
      if (muted) mutedUsers.add(user);
      else mutedUsers.delete(user);
      renderComments();
      toast(muted ? t("live.cockpit.muted_user", { user }) : t("live.cockpit.unmuted_user", { user }));
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  async function kick(user: string): Promise<void> {
    if (!chatRoom) return;
    try {
      await live.chatKick(chatRoom, user, 600);
      toast(t("live.cockpit.kicked_user", { user }));
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  const unlistenChat = on<ChatPush>("chat://event", (p) => {
    if (p.kind === "online" && chatRoom) {
      // A new socket is in no room: join again.
      chatRoom = null;
      lastJoinTry = 0;
      if (status.audience) void ensureChat(status.audience.room);
    }
    if (p.kind !== "event" || !chatRoom) return;
    const ev = p.ev as unknown as Record<string, unknown>;
    if (ev.room !== chatRoom) return;
    if (ev.ev === "room_comment") {
      comments = addComments(comments, [ev.comment as RoomComment]);
      renderComments();
    } else if (ev.ev === "room_muted") {
      if (ev.muted) mutedUsers.add(String(ev.user));
      else mutedUsers.delete(String(ev.user));
      renderComments();
    }
  });

  const showDest = () => {
    roomBox.hidden = dest.value !== "room";
    rtmpBox.hidden = dest.value !== "rtmp";
    if (dest.value === "room") void loadRooms();
  };

  // ---- controls ----
  const record = h("input", { type: "checkbox", checked: true, "data-testid": "record-toggle" }) as HTMLInputElement;
  const startStop = h("button.big.primary", { "data-testid": "start-stop", onclick: () => void toggle() }, t("live.start_recording")) as HTMLButtonElement;
  const bookmark = h("button.big", { "data-testid": "bookmark", disabled: true, onclick: () => void addBookmark() }, icon("bookmark"), t("live.bookmark")) as HTMLButtonElement;
  const badge = h("span.badge.off", { "data-testid": "state-badge" }, t("live.badge.off"));
  const statsEl = h("div.stats", { "data-testid": "stats" }, "");
  const latencyEl = h("span.muted.small", { "data-testid": "preview-latency" }, "");
  const canvas = h("canvas", { width: 640, height: 360, "data-testid": "preview" }) as HTMLCanvasElement;

  // "Camera" and "Microphone" are this machine's choice in Settings → Devices.
  let chosen: DevicesView | null = null;
  devices.get().then((d) => (chosen = d), () => {});

  function sources(): Sources {
    const v = video.value === "file" ? `file:${videoFile.value.trim()}` : video.value === "camera" ? chosen?.camera_source ?? "camera" : video.value;
    return {
      video: v,
      overlay: overlay.value === "none" ? null : overlay.value,
      overlay_corner: corner.value,
      overlay_size: 25,
      audio: audio.value.split(",").map((a) => (a === "mic" ? micSource(chosen) : a)).join(","),
      preset: preset.value,
      smooth: Number(smooth.value),
      whiten: Number(whiten.value),
      looped: true,
      // Settings → Devices' camera mode, for a camera layer.
      camera_mode: chosen?.camera_mode ?? null,
    };
  }

  function destination(): Destination {
    if (dest.value === "room") return { kind: "room", room: roomSelect.value };
    if (dest.value === "rtmp") return { kind: "rtmp", url: rtmpUrl.value.trim(), key: rtmpKey.value || null };
    return { kind: "none" };
  }

  function moreDestinations(): Destination[] {
    return extras.map((e) => rtmpDestination(e.url.value, e.key.value)).filter((d): d is Destination => d !== null);
  }

  /** The windows open now join the video pickers (what is chosen stays chosen). */
  function setVideoChoices(windows: WindowInfo[], portal?: Portal): void {
    const cs = videoChoices(windows, portal);
    const [keepV, keepO] = [video.value, overlay.value];
    const opt = ([v, l]: [string, string]) => h("option", { value: v, title: v.startsWith("window:") ? v.slice(7) : l }, l);
    replace(video, ...cs.map(opt));
    replace(overlay, h("option", { value: "none" }, t("live.src.no_overlay")), ...cs.filter(([v]) => v !== "file").map(opt));
    video.value = keepV;
    if (video.value !== keepV) video.value = "test";
    overlay.value = keepO;
    if (overlay.value !== keepO) overlay.value = "none";
  }

  /** Selects a job's video source in a picker, adding a window the picker does not list (yet). */
  function pick(sel: HTMLSelectElement, spec: string): void {
    const v = videoValue(spec, [...sel.options].map((o) => o.value));
    if (v) sel.value = v;
    else if (spec.startsWith("window:")) {
      sel.appendChild(h("option", { value: spec, title: spec.slice(7) }, t("live.src.window", { title: clipText(spec.slice(7), 34) })));
      sel.value = spec;
    }
  }

  /** The sources last started on this machine, where this machine still has them. */
  function restore(src: Sources): void {
    const values = [...video.options].map((o) => o.value);
    const v = videoValue(src.video, values);
    if (v) video.value = v;
    if (v === "file") videoFile.value = src.video.slice(5);
    const o = src.overlay ? videoValue(src.overlay, values) : "none";
    if (o && o !== "file") overlay.value = o;
    if (src.overlay_corner) corner.value = src.overlay_corner;
    const a = audioValue(src.audio);
    if ([...audio.options].some((x) => x.value === a)) audio.value = a;
    if (src.preset && [...preset.options].some((x) => x.value === src.preset)) preset.value = src.preset;
    smooth.value = String(src.smooth ?? 0);
    whiten.value = String(src.whiten ?? 0);
  }

  /** A job started elsewhere (the hotkey, before a visit to another screen): show its own settings. */
  function adopt(r: LiveRequest | null): void {
    if (!r) return;
    pick(video, r.sources.video);
    if (video.value === "file") videoFile.value = r.sources.video.slice(5);
    if (r.sources.overlay) pick(overlay, r.sources.overlay);
    else overlay.value = "none";
    if (r.sources.overlay_corner) corner.value = r.sources.overlay_corner;
    audio.value = audioValue(r.sources.audio);
    if (r.sources.preset) preset.value = r.sources.preset;
    smooth.value = String(r.sources.smooth ?? 0);
    whiten.value = String(r.sources.whiten ?? 0);
    record.checked = r.record;
    dest.value = r.destination.kind;
    if (r.destination.kind === "room") {
      const room = r.destination.room;
      if (![...roomSelect.options].some((o) => o.value === room)) roomSelect.appendChild(h("option", { value: room }, room));
      roomSelect.value = room;
      titleRoom();
    } else if (r.destination.kind === "rtmp") rtmpUrl.value = r.destination.url;
    for (const e of [...extras]) removeExtra(e);
    for (const d of r.destinations ?? []) if (d.kind === "rtmp") addExtra(d.url);
    showDest();
  }

  function render(): void {
    const running = status.state === "running";
    const b = stateBadge(status.live, status.recording);
    badge.textContent = b.text;
    badge.className = `badge ${b.cls}`;
    // Redrawn only when it changes: a button rebuilt under the pointer
    // between press and release loses the click.
    const face = running ? (busy ? "finishing" : "stop") : dest.value === "none" ? "record" : "live";
    if (startStop.dataset.face !== face) {
      startStop.dataset.face = face;
      const [glyph, label] = ({ finishing: ["stop", "live.finishing"], stop: ["stop", "live.stop"], record: ["record", "live.start_recording"], live: ["live", "live.go_live"] } as const)[face];
      replace(startStop, icon(glyph), t(label));
    }
    startStop.classList.toggle("danger", running);
    bookmark.disabled = !status.recording;
    for (const el of [video, videoFile, overlay, corner, audio, preset, dest, record, roomSelect, roomRotate, rtmpUrl, rtmpKey, addExtraBtn]) el.disabled = running || busy;
    for (const e of extras) for (const el of [e.url, e.key, e.preset, e.remove]) el.disabled = running || busy;
    // Each destination's own state and counters, in the request's order.
    const ds = running ? (status.stats?.destinations ?? []) : [];
    replace(destStates, ...ds.map((d) => h(`li.dest-state.${d.state}`, { "data-testid": "dest-state", "data-state": d.state, "data-name": d.name }, nameEl("strong", d.name), " ", destinationLine(d))));
    startStop.disabled = busy;
    renderMixer();
    renderCockpit(running);
    videoFile.hidden = video.value !== "file";
    // Figures only for a running job: a preview has no elapsed time, no
    // encoder rate and nothing to be connected to.
    if (status.stats && running) {
      const v = formatStats(status.stats, status.live);
      replace(
        statsEl,
        h("span", { "data-testid": "stat-elapsed" }, v.elapsed),
        h("span", { "data-testid": "stat-fps" }, v.fps),
        h("span", {}, v.bitrate),
        h("span", { "data-testid": "stat-dropped" }, v.dropped),
        h(`span.health.${v.health}`, { "data-testid": "stat-connection" }, v.connection),
        h("span", {}, tn("live.stat.bookmarks", status.stats.bookmarks)),
      );
    } else replace(statsEl, h("span.muted", { "data-testid": "stat-preview" }, t("live.preview_note")));
  }

  async function startPreview(): Promise<void> {
    render();
    if (status.state === "running") return;
    const s = sources();
    if (s.video === "file:") return;
    try {
      status = await live.preview(s);
    } catch (e) {
      toast(errorText(e), "error");
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
        if (r.recording) toast(`${t("live.saved", { name: r.recording.path.split("/").pop() ?? "" })} (${tn("live.stat.bookmarks", r.recording.bookmarks.length)})`);
        if (r.errors.length) toast(t("error.stopped_with", { detail: r.errors.join("; ") }), "error");
        busy = false;
        await startPreview();
      } else {
        if (dest.value === "none" && !record.checked && moreDestinations().length === 0) throw new ApiError({ code: "invalid", message: t("live.need_dest") });
        // A key typed for an extra destination goes to the keychain (by its
        // URL), not into the request: the next start finds it there.
        for (const e of extras) {
          if (e.url.value.trim() && e.key.value) {
            await live.saveKey(e.url.value.trim(), e.key.value);
            e.key.value = "";
            e.key.placeholder = t("live.key_will_be_used");
          }
        }
        if (dest.value === "room" && roomSelect.value && (roomCategory.value || roomCover.files?.length)) {
          const file = roomCover.files?.[0];
          const bytes = file ? Array.from(new Uint8Array(await file.arrayBuffer())) : null;
          await watch.studio(roomSelect.value, roomCategory.value || null, bytes);
        }
        status = await live.start({ sources: sources(), destination: destination(), destinations: moreDestinations(), record: record.checked });
      }
    } catch (e) {
      toast(errorText(e), "error");
      // A failed start brings the preview back on the Rust side: show it.
      status = await live.status().catch(() => status);
    } finally {
      busy = false;
      render();
    }
  }

  async function addBookmark(): Promise<void> {
    try {
      const b = await live.bookmark();
      toast(t("live.bookmark_at", { time: formatDuration(b.t_ms) }));
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  async function loadRooms(): Promise<void> {
    try {
      const rooms = await live.rooms(true);
      const keep = roomSelect.value;
      replace(roomSelect, ...rooms.map((r) => h("option", { value: String(r.id), title: `${r.title} (${r.id})` }, clipText(r.title, 26))));
      if (keep) roomSelect.value = keep;
      titleRoom();
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  async function createRoom(): Promise<void> {
    try {
      const r = await live.createRoom(roomTitle.value, undefined, roomPrivate.checked);
      roomTitle.value = "";
      roomPrivate.checked = false;
      await loadRooms();
      roomSelect.value = r.id;
      titleRoom();
      showKey(r.stream_key);
      toast(t("live.room_created", { title: r.title }));
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  async function rotateKey(): Promise<void> {
    if (!roomSelect.value) return;
    try {
      const r = await live.rotateRoomKey(roomSelect.value);
      showKey(r.stream_key);
      toast(t("live.room_rotated", { title: r.title }));
    } catch (e) {
      toast(errorText(e), "error");
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
      toast(t("live.room_key_copied"));
    } catch {
      // No clipboard permission: the text is selected for Ctrl+C.
      keyOnce.select();
    }
  }

  async function doSaveKey(): Promise<void> {
    try {
      const s = await live.saveKey(rtmpUrl.value.trim(), rtmpKey.value);
      rtmpKey.value = "";
      keyNote.textContent = s.note ?? t("live.key_saved");
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  async function checkKey(): Promise<void> {
    if (!rtmpUrl.value.trim()) return;
    try {
      keyNote.textContent = (await live.hasKey(rtmpUrl.value.trim())) ? t("live.key_will_be_used") : "";
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
      latencyEl.textContent = t("live.preview_ms", { ms: Math.round(p.p50) });
    }
  }

  const unlistenStats = on<LiveStatus>("live://stats", (s) => {
    const wasRunning = status.state === "running";
    status = s;
    if (s.state === "running") {
      // A new job's counters start from zero: so does its graph.
      if (historyOf !== s.started_ms) {
        history.clear();
        historyOf = s.started_ms;
      }
      history.push(Date.now(), s.stats?.destinations ?? []);
    } else if (chatRoom) leaveChat();
    if (busy) return;
    // Started elsewhere (the hotkey, the tray): show the job's own settings.
    if (!wasRunning && s.state === "running") adopt(s.request);
    render();
    // Stopped elsewhere (the status strip's Stop, the hotkey): preview again.
    if (wasRunning && s.state === "idle") void startPreview();
  });
  const unlistenStopped = on<{ reason: string | null }>("live://stopped", (r) => {
    if (r.reason) toast(t("live.stopped", { reason: r.reason }));
    void startPreview();
  });

  replace(
    root,
    h(
      "section.screen.live",
      { "data-testid": "screen-live" },
      h("header.row", {}, h("h1", {}, t("live.title")), badge, audienceEl, h("div.spacer"), latencyEl),
      h(
        "div.live-grid",
        {},
        h("div.preview-box", {}, canvas, statsEl, destStates, h("div.row.controls", {}, startStop, bookmark, h("label.check", {}, record, t("live.record"))), cockpit),
        h(
          "aside.panel",
          {},
          h("h2", {}, t("live.sources")),
          h("label", {}, t("live.video"), video),
          videoFile,
          h("label", {}, t("live.overlay"), overlay),
          h("label", {}, t("live.overlay_corner"), corner),
          h("label", {}, t("live.audio"), audio),
          h("label", {}, t("live.quality"), preset),
          h("h3", {}, t("live.mixer")),
          mixerEl,
          h("h2", {}, t("live.beauty")),
          h("label", {}, t("live.smooth"), smooth),
          h("label", {}, t("live.brighten"), whiten),
          beautyNote,
          h("h2", {}, t("live.destination")),
          dest,
          roomBox,
          rtmpBox,
          h("h3", {}, t("live.more_dest")),
          extraList,
          addExtraBtn,
        ),
      ),
    ),
  );
  showDest();
  render();
  feed = openFeed("/preview", canvas, measure);
  // The open windows join the pickers before anything is chosen in them.
  const windowsListed = live.devices().then(
    (d) => setVideoChoices(d.windows ?? [], portalOffer(d.screens ?? [])),
    () => {},
  );
  live
    .status()
    .then(async (s) => {
      status = s;
      await windowsListed;
      if (s.state === "idle") {
        // What was last started on this machine, where it is still here.
        const saved = await live.remembered().catch(() => null);
        if (saved && status.state === "idle") restore(saved);
        render();
        return startPreview();
      }
      // Back on the screen while a job runs: it shows the job as it is.
      adopt(s.request);
      render();
    })
    .catch((e) => toast(errorText(e), "error"));

  return () => {
    feed?.close();
    unlistenStats();
    unlistenStopped();
    unlistenChat();
    window.clearTimeout(beautyTimer);
    void live.previewStop().catch(() => {});
  };
}
