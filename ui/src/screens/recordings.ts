// Recordings: the library (thumbnail, date, length, size, pinned), a player
// on the finished MP4 (served by the loopback media server with the launch
// token), a seek bar with bookmark marks, a bookmark list that jumps,
// pin/unpin, delete and the retention setting. A second tab lists the
// relay's recordings of the user's calls ("On the server"): played through
// the loopback server (which adds the user's token), downloaded into the
// library, pinned, deleted.

import { chat, cloud, mediaUrl, on, recordings, type CloudDownload, type CloudRecording, type RecordingItem } from "../api";
import { confirmDialog } from "../lib/dialog";
import { h, nameEl, replace, toast } from "../lib/dom";
import { errorText, t, tn } from "../lib/i18n";
import { icon } from "../lib/icons";
import { formatBytes, formatDate, formatDuration } from "../lib/format";
import { markPositions, timeAt } from "../lib/seekbar";
import { RETENTION_CHOICES, retentionLabel } from "../lib/settings";

export function mount(root: HTMLElement): () => void {
  let items: RecordingItem[] = [];
  let selected: RecordingItem | null = null;
  let closed = false;

  const list = h("ul.rec-list", { "data-testid": "rec-list" });
  const playerBox = h("div.player", { "data-testid": "player-box" }, h("p.muted", {}, t("rec.pick")));
  const retention = h(
    "select",
    { "data-testid": "retention", onchange: () => void setRetention() },
    ...RETENTION_CHOICES.map((d) => h("option", { value: d === null ? "off" : String(d) }, retentionLabel(d))),
  ) as HTMLSelectElement;
  const retentionBox = h("label.check", {}, t("rec.keep"), retention);
  /** Shows `days` selected, adding it when it is not one of the choices (set by `onair recordings retention N`). */
  function showRetention(days: number | null): void {
    const v = days === null ? "off" : String(days);
    if (![...retention.options].some((o) => o.value === v)) retention.appendChild(h("option", { value: v }, retentionLabel(days)));
    retention.value = v;
  }

  async function setRetention(): Promise<void> {
    const days = retention.value === "off" ? null : Number(retention.value);
    try {
      const n = await recordings.setRetention(days);
      toast(days === null ? t("rec.kept_forever") : n ? t("rec.keeping_deleted", { days, n }) : t("rec.keeping", { days }));
      await load();
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  async function load(): Promise<void> {
    try {
      items = await recordings.list();
    } catch (e) {
      toast(errorText(e), "error");
      return;
    }
    if (closed || tab !== "local") return;
    const thumbs = await Promise.all(items.map((r) => (r.thumb ? mediaUrl(`/media/thumbs/${r.id}`) : Promise.resolve(""))));
    replace(
      list,
      ...(items.length === 0 ? [h("li.muted", {}, t("rec.none"))] : []),
      ...items.map((r, i) =>
        h(
          "li.rec",
          { dataset: { id: String(r.id), testid: `rec-${r.id}` }, class: selected?.id === r.id ? "rec selected" : "rec", onclick: () => void open(r.id) },
          thumbs[i] ? h("img.thumb", { src: thumbs[i], alt: "" }) : h("div.thumb.empty", {}, r.state === "recording" ? t("rec.recording_now") : "—"),
          h(
            "div.meta",
            {},
            h("div.name", { title: r.name }, r.pinned ? h("span", { title: t("rec.pinned"), "aria-label": t("rec.pinned") }, icon("pin")) : null, nameEl("span", r.name)),
            h("div.muted.small", {}, `${r.encrypted ? `${t("rec.encrypted")} · ` : ""}${formatDate(r.started_at)} · ${formatDuration(r.duration_ms)} · ${formatBytes(r.size_bytes)}${r.bookmarks.length ? ` · ${tn("rec.bookmarks_count", r.bookmarks.length)}` : ""}`),
            r.error ? h("div.error.small", {}, r.error) : null,
          ),
        ),
      ),
    );
  }

  async function open(id: number): Promise<void> {
    let r: RecordingItem;
    try {
      r = await recordings.get(id);
    } catch (e) {
      toast(errorText(e), "error");
      return;
    }
    selected = r;
    list.querySelectorAll("li.rec").forEach((li) => li.classList.toggle("selected", (li as HTMLElement).dataset.id === String(id)));
    const p = player(await mediaUrl(`/media/recordings/${id}`), r.duration_ms ?? 0, r.bookmarks);
    const pin = h("button", { "data-testid": "pin", onclick: () => void togglePin(r) }, icon("pin"), r.pinned ? t("rec.unpin") : t("rec.pin"));
    const del = h("button.danger", { "data-testid": "delete", onclick: () => void remove(r) }, icon("trash"), t("common.delete"));
    replace(
      playerBox,
      nameEl("h2", r.name),
      h("p.muted.small", {}, `${formatDate(r.started_at)} · ${formatDuration(r.duration_ms)} · ${formatBytes(r.size_bytes)} · ${r.path}`),
      ...p,
      h("div.row", {}, pin, del),
    );
  }

  /** The video, play button, seek bar with bookmark marks, time and bookmark list. */
  function player(src: string, fallbackMs: number, marks: { id: number; t_ms: number; label: string }[]): HTMLElement[] {
    const videoEl = h("video", { src, controls: false, preload: "auto", "data-testid": "player" }) as HTMLVideoElement;
    const durationMs = () => (Number.isFinite(videoEl.duration) && videoEl.duration > 0 ? videoEl.duration * 1000 : fallbackMs);
    const fill = h("div.fill");
    const bar = h("div.seekbar", { "data-testid": "seekbar" }, fill);
    const time = h("span.time", { "data-testid": "player-time" }, "0:00");
    const drawMarks = () => {
      bar.querySelectorAll(".mark").forEach((m) => m.remove());
      for (const m of markPositions(marks, durationMs())) {
        bar.appendChild(h("div.mark", { style: `left:${m.pct}%`, title: `${formatDuration(m.t_ms)} ${m.label}`, dataset: { testid: `mark-${m.id}` } }));
      }
    };
    bar.addEventListener("click", (ev: MouseEvent) => {
      const rect = bar.getBoundingClientRect();
      videoEl.currentTime = timeAt(ev.clientX - rect.left, rect.width, durationMs()) / 1000;
    });
    videoEl.addEventListener("loadedmetadata", drawMarks);
    videoEl.addEventListener("timeupdate", () => {
      const d = durationMs();
      fill.style.width = `${d > 0 ? Math.min(100, (videoEl.currentTime * 100000) / d) : 0}%`;
      time.textContent = `${formatDuration(videoEl.currentTime * 1000)} / ${formatDuration(d)}`;
    });
    videoEl.addEventListener("error", () => toast(t("rec.cannot_play"), "error"));
    // One fixed-width button: the seek bar beside it never moves.
    const play = h("button", { "data-testid": "play", onclick: () => (videoEl.paused ? void videoEl.play() : videoEl.pause()) }, icon("play"), t("rec.play"));
    videoEl.addEventListener("play", () => replace(play, icon("pause"), t("rec.pause")));
    videoEl.addEventListener("pause", () => replace(play, icon("play"), t("rec.play")));
    const jump = (t_ms: number) => {
      videoEl.currentTime = t_ms / 1000;
    };
    const list = h(
      "ol.bookmarks",
      { "data-testid": "bookmarks" },
      ...marks.map((b) => h("li", {}, h("button.link", { dataset: { testid: `jump-${b.id}` }, onclick: () => jump(b.t_ms) }, icon("bookmark"), formatDuration(b.t_ms)), " ", b.label)),
    );
    if (marks.length === 0) list.appendChild(h("li.muted", {}, t("rec.no_bookmarks")));
    drawMarks();
    return [videoEl, h("div.row", {}, play, bar, time), h("h3", {}, t("rec.bookmarks")), list];
  }

  // ---- On the server ----
  let cloudItems: CloudRecording[] = [];
  let cloudSelected: string | null = null;
  const peerOf = (r: CloudRecording) => (me && r.caller === me ? r.callee : me && r.callee === me ? r.caller : `${r.caller} ↔ ${r.callee}`);
  const tierText = (r: CloudRecording) => (r.tier === "audio" ? t("rec.tier_audio") : r.tier);
  const stateText = (r: CloudRecording) => t(`rec.cloud_state.${r.state}` as Parameters<typeof t>[0]);
  let me = "";

  async function loadCloud(): Promise<void> {
    try {
      const st = await chat.status();
      me = st.user ?? "";
      if (!st.signed_in) {
        replace(list, h("li.muted", { "data-testid": "cloud-offline" }, t("rec.cloud_offline")));
        return;
      }
      cloudItems = await cloud.list();
    } catch (e) {
      toast(errorText(e), "error");
      return;
    }
    if (closed || tab !== "cloud") return;
    replace(
      list,
      ...(cloudItems.length === 0 ? [h("li.muted", {}, t("rec.cloud_none"))] : []),
      ...cloudItems.map((r) =>
        h(
          "li.rec",
          { dataset: { id: r.id, testid: `cloud-${r.id}` }, class: cloudSelected === r.id ? "rec selected" : "rec", onclick: () => void openCloud(r.id) },
          h("div.thumb.empty", {}, icon(r.tier === "audio" ? "volume" : "video")),
          h(
            "div.meta",
            {},
            h("div.name", {}, r.pinned ? h("span", { title: t("rec.pinned"), "aria-label": t("rec.pinned") }, icon("pin")) : null, nameEl("span", t("rec.cloud_with", { peer: peerOf(r) }))),
            h(
              "div.muted.small",
              {},
              `${formatDate(r.created_at / 1000)} · ${formatDuration(r.duration_ms)} · ${tierText(r)} · ${formatBytes(r.bytes)}${r.bookmarks.length ? ` · ${tn("rec.bookmarks_count", r.bookmarks.length)}` : ""} · ${stateText(r)}`,
            ),
          ),
        ),
      ),
    );
  }

  async function openCloud(id: string): Promise<void> {
    let r: CloudRecording;
    try {
      r = await cloud.get(id);
    } catch (e) {
      toast(errorText(e), "error");
      return;
    }
    cloudSelected = id;
    list.querySelectorAll("li.rec").forEach((li) => li.classList.toggle("selected", (li as HTMLElement).dataset.id === id));
    const playable = r.state === "done" || r.state === "failed";
    const marks = r.bookmarks.map((b, i) => ({ id: i + 1, t_ms: b.t_ms, label: b.label || b.by }));
    const progress = h("span.muted.small", { "data-testid": "cloud-progress" });
    const dl = h("button", { "data-testid": "cloud-download", disabled: !playable, onclick: () => void download(r, dl, progress) }, icon("download"), t("rec.download"));
    const pin = h("button", { "data-testid": "pin", onclick: () => void toggleCloudPin(r, pin) }, icon("pin"), r.pinned ? t("rec.unpin") : t("rec.pin"));
    const del = h("button.danger", { "data-testid": "delete", onclick: () => void removeCloud(r) }, icon("trash"), t("common.delete"));
    stopPlayer();
    replace(
      playerBox,
      nameEl("h2", t("rec.cloud_with", { peer: peerOf(r) })),
      h("p.muted.small", {}, `${formatDate(r.created_at / 1000)} · ${formatDuration(r.duration_ms)} · ${tierText(r)} · ${formatBytes(r.bytes)} · ${stateText(r)}`),
      ...(playable ? player(await mediaUrl(`/media/cloud/${r.id}`), r.duration_ms, marks) : []),
      h("div.row", {}, dl, progress, pin, del),
    );
  }

  async function download(r: CloudRecording, btn: HTMLElement, progress: HTMLElement): Promise<void> {
    (btn as HTMLButtonElement).disabled = true;
    progress.textContent = t("rec.downloading", { pct: 0 });
    const off = on<CloudDownload>("recordings://cloud-download", (p) => {
      if (p.id !== r.id) return;
      const total = p.total ?? r.bytes;
      progress.textContent = t("rec.downloading", { pct: total > 0 ? Math.min(100, Math.floor((p.done * 100) / total)) : 0 });
    });
    try {
      await cloud.download(r.id);
      progress.textContent = t("rec.downloaded");
      progress.dataset.done = "1";
      toast(t("rec.downloaded"));
    } catch (e) {
      progress.textContent = "";
      toast(errorText(e), "error");
    } finally {
      off();
      (btn as HTMLButtonElement).disabled = false;
    }
  }

  async function toggleCloudPin(r: CloudRecording, btn: HTMLElement): Promise<void> {
    try {
      await cloud.pin(r.id, !r.pinned);
      r.pinned = !r.pinned;
      replace(btn, icon("pin"), r.pinned ? t("rec.unpin") : t("rec.pin"));
      await loadCloud();
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  async function removeCloud(r: CloudRecording): Promise<void> {
    if (!(await confirmDialog({ title: t("rec.delete_title"), body: t("rec.cloud_delete_body", { peer: peerOf(r) }), ok: t("common.delete"), danger: true }))) return;
    try {
      await cloud.remove(r.id);
      cloudSelected = null;
      stopPlayer();
      replace(playerBox, h("p.muted", {}, t("rec.deleted")));
      await loadCloud();
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  function stopPlayer(): void {
    playerBox.querySelectorAll("video").forEach((v) => {
      v.pause();
      v.removeAttribute("src");
      v.load();
    });
  }

  // ---- Tabs ----
  let tab: "local" | "cloud" = "local";
  const tabs = h("div.tabs", { role: "tablist" });
  function renderTabs(): void {
    const tb = (id: "local" | "cloud", label: string) =>
      h(`button.tab${tab === id ? ".active" : ""}`, { role: "tab", "aria-selected": String(tab === id), "data-testid": `rec-tab-${id}`, onclick: () => void switchTab(id) }, label);
    replace(tabs, tb("local", t("rec.tab_local")), tb("cloud", t("rec.tab_cloud")));
  }
  async function switchTab(id: "local" | "cloud"): Promise<void> {
    tab = id;
    renderTabs();
    stopPlayer();
    replace(playerBox, h("p.muted", {}, t("rec.pick")));
    retentionBox.hidden = id !== "local";
    await (id === "local" ? load() : loadCloud());
  }

  async function togglePin(r: RecordingItem): Promise<void> {
    try {
      await recordings.pin(r.id, !r.pinned);
      // The player keeps playing where it is: only the button and the list change.
      r.pinned = !r.pinned;
      const btn = playerBox.querySelector<HTMLElement>("[data-testid=pin]");
      if (btn) replace(btn, icon("pin"), r.pinned ? t("rec.unpin") : t("rec.pin"));
      await load();
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  async function remove(r: RecordingItem): Promise<void> {
    if (!(await confirmDialog({ title: t("rec.delete_title"), body: t("rec.delete_body", { name: r.name }), ok: t("common.delete"), danger: true }))) return;
    try {
      await recordings.remove(r.id);
      selected = null;
      replace(playerBox, h("p.muted", {}, t("rec.deleted")));
      await load();
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  replace(
    root,
    h(
      "section.screen.recordings",
      { "data-testid": "screen-recordings" },
      h("header.row", {}, h("h1", {}, t("rec.title")), tabs, h("div.spacer"), retentionBox, h("button", { "data-testid": "refresh", onclick: () => void (tab === "local" ? load() : loadCloud()) }, icon("refresh"), t("common.refresh"))),
      h("div.rec-grid", {}, list, playerBox),
    ),
  );
  recordings
    .retention()
    .then((d) => showRetention(d))
    .catch(() => {});
  renderTabs();
  void load();
  // A call recording saved, retention deleting old ones: the list follows.
  const unlisten = on("recordings://changed", () => void (tab === "local" ? load() : undefined));
  return () => {
    closed = true;
    unlisten();
    stopPlayer();
  };
}
