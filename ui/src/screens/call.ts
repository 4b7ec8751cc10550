// The Calls screen: contacts with presence, what to send (camera/screen/
// test, microphone), call / answer / decline, ringing, the other side's
// video with our self-view, in-call controls, network quality, the "being
// recorded" banner and the consent prompt. State comes from `call://state`
// (reduced by lib/callState.ts and lib/recording.ts); pictures from the
// loopback feeds `/call/remote` and `/call/local`; buttons call call_*.

import { cloud, on } from "../api";
import { calls, type CallControl, type CallPush, type CallSources } from "../api";
import { chat, type ChatPush } from "../api";
import { audioOptions, callDefaults, callSourceOptions, devices, pickCallSource, type DevicesView } from "../lib/devices";
import { cameraWhy, controls, IDLE, mediaLine, noticeText, statusLine, type CallState } from "../lib/callState";
import type { CallView } from "../generated/app";
import { openFeed } from "../lib/videoFeed";
import { h, pressSafe, replace, toast } from "../lib/dom";
import { errorText, t } from "../lib/i18n";
import { icon } from "../lib/icons";
import { applyPresence, friendSections, presenceText, validUsername, type FriendInfo } from "../lib/friends";
import { qualityView } from "../lib/quality";
import { cloudRecView } from "../lib/cloudRec";
import { consentPrompt, NO_RECORDING, recordButton, recordingBanner, reduceRecording, type RecordingEvent, type RecordingState } from "../lib/recording";
import "./app2.css";

const BEAUTY = { smooth: 50, whiten: 30 };
const PRESETS = ["360p", "720p", "1080p"];
const PRESET_LABEL: Record<string, "call.preset.360p" | "call.preset.720p" | "call.preset.1080p"> = { "360p": "call.preset.360p", "720p": "call.preset.720p", "1080p": "call.preset.1080p" };
const PRESET_KEY = "onair.call.preset";

// Call state lives at module scope, fed from app start: a call may ring
// while another screen is shown (the ring takes the user to this screen).
let me = "";
/** The engine's one call state (src-tauri callview.rs, `call://view`): phase, both sides' media, figures, recording. */
let view: CallView | null = null;
/** The screen's state: the view's, but idle once the user dismissed an ended call. */
let st: CallState = IDLE;
let dismissed: string | null | undefined = undefined;
/** Consent prompts and the banner's names (lib/recording.ts), fed by the relay's recording events. */
let rec: RecordingState = NO_RECORDING;
/** The engine's last few lines, as sentences ("Recording saved in Recordings"). */
let notices: string[] = [];
/** Beauty is a setting we sent, not a figure the engine reports. */
let beauty = false;
let redraw: (() => void) | null = null;
let subscribed = false;

function onView(v: CallView) {
  const before = st.phase;
  view = v;
  const gone = v.phase === "ended" && dismissed !== undefined && dismissed === v.call_id;
  st = gone
    ? IDLE
    : {
        phase: v.phase,
        callId: v.call_id,
        peer: v.peer,
        since: v.since_ms,
        endReason: v.end_reason,
        muted: v.me.muted ?? false,
        cameraOff: v.me.camera_off ?? false,
        sharing: v.me.sharing,
        beauty,
        quality: v.figures?.connected ? v.figures.quality_score : null,
      };
  if (st.phase !== before && (st.phase === "idle" || st.phase === "ended")) {
    rec = reduceRecording(rec, { type: "reset" });
    beauty = false;
  }
  if (st.phase !== before && (st.phase === "outgoing" || st.phase === "incoming")) notices = [];
  if (st.phase === "incoming" && before !== "incoming" && !redraw) location.hash = "#/call";
  // My own recording: the engine says whether its recorder writes.
  if (me && st.phase === "active" && v.recording.local !== rec.recording.includes(me)) rec = reduceRecording(rec, { type: v.recording.local ? "started" : "stopped", by: me });
  redraw?.();
}

function applyRec(ev: RecordingEvent) {
  rec = reduceRecording(rec, ev);
  redraw?.();
}

/** What only the relay's events and the engine's lines say: consent prompts and notices. The phase comes from the view. */
function onPush(p: CallPush) {
  if (st.callId !== null && "call_id" in p && p.call_id !== null && p.call_id !== st.callId) return;
  switch (p.type) {
    case "recording":
      applyRec({ type: p.action, by: p.by });
      break;
    case "consent_request":
      applyRec({ type: "requested", by: p.by });
      break;
    case "consent_result":
      applyRec(p.accepted ? { type: "started", by: me } : { type: "declined", by: p.by });
      break;
    case "notice": {
      const text = noticeText(p.text);
      if (text) notices = [...notices, text].slice(-3);
      redraw?.();
      break;
    }
  }
}

let pendingPeer: string | null = null;

/** Opens the Calls screen with `peer` filled in (Chat's "Call" button). */
export function callScreenFor(peer: string): void {
  pendingPeer = peer;
  location.hash = "#/call";
}

/** Starts following call events (the app shell calls this at start; mount does too). */
export function follow(): void {
  if (subscribed) return;
  subscribed = true;
  on<CallPush>("call://state", onPush);
  on<CallView>("call://view", onView);
  calls.view().then((v) => view ?? onView(v), () => {});
  chat.status().then((s) => (me = s.user ?? me), () => {});
}

export function mount(root: HTMLElement): () => void {
  follow();
  let friends: FriendInfo[] = [];
  let disposed = false;
  const fail = (e: unknown) => toast(errorText(e), "error");

  const screen = h("section.app2.call-screen", { "data-testid": "screen-call" });
  const contacts = h("div.contacts", { "data-testid": "call-contacts" });
  const stage = h("div.call-stage");
  // The stage redraws every second: never between a button's press and release.
  const stageDraw = pressSafe(stage, () => drawStage());
  const renderStage = stageDraw.redraw;
  root.appendChild(screen);
  const dial = h("input", { type: "text", placeholder: t("call.to"), "data-testid": "call-to" }) as HTMLInputElement;
  dial.onkeydown = (e) => {
    if (e.key === "Enter") start(dial.value.trim().toLowerCase(), true);
  };
  // What to send: saved per machine, a device first, nothing when there is none.
  const videoSel = h("select", { "data-testid": "call-video-source", title: t("call.video_to_send") }) as HTMLSelectElement;
  const audioSel = h("select", { "data-testid": "call-audio-source", title: t("call.sound_to_send") }) as HTMLSelectElement;
  // Defaults come from Settings → Devices (one place chooses this machine's
  // devices); a pick made here holds while the screen is open.
  const fillPickers = (d: DevicesView | null) => {
    const o = callSourceOptions(d);
    const def = callDefaults(d);
    const fill = (sel: HTMLSelectElement, opts: { value: string; label: string }[], fallback: string) => {
      const picked = sel.dataset.picked ?? null;
      replace(sel, ...opts.map((x) => h("option", { value: x.value }, x.label)));
      sel.value = pickCallSource(opts, picked, fallback);
      sel.onchange = () => (sel.dataset.picked = sel.value);
    };
    fill(videoSel, o.video, def.video);
    fill(audioSel, o.audio, def.audio);
  };
  // The quality the call sends at (the engine's preset; 720p unless picked).
  const presetSel = h("select", { "data-testid": "call-preset", title: t("call.quality_title") }, ...PRESETS.map((p) => h("option", { value: p }, t(PRESET_LABEL[p])))) as HTMLSelectElement;
  presetSel.value = PRESETS.includes(localStorage.getItem(PRESET_KEY) ?? "") ? localStorage.getItem(PRESET_KEY)! : "720p";
  presetSel.onchange = () => localStorage.setItem(PRESET_KEY, presetSel.value);
  // The speaker: the Settings → Devices list and choice (saved there too).
  const speakerSel = h("select", { "data-testid": "call-speaker", title: t("call.speaker") }) as HTMLSelectElement;
  const fillSpeaker = (d: DevicesView | null) => {
    replace(speakerSel, ...audioOptions(d?.speakers ?? []).map((o) => h("option", { value: o.value }, o.label)));
    speakerSel.value = d?.chosen.speaker ?? "";
    speakerSel.onchange = () => {
      if (!d) return;
      devices.set({ ...d.chosen, speaker: speakerSel.value || null }).then(fillSpeaker, fail);
    };
  };
  fillPickers(null);
  fillSpeaker(null);
  devices.get().then((d) => (fillPickers(d), fillSpeaker(d)), () => {});
  const sources = (): CallSources => ({ video: videoSel.value || "none", audio: audioSel.value || "none", preset: presetSel.value || "720p", ...(beauty ? BEAUTY : {}) });
  // The pictures: created once, fed for as long as the screen is open.
  const remoteCanvas = h("canvas.remote-video", { width: 1280, height: 720, "data-testid": "call-remote" }) as HTMLCanvasElement;
  const localCanvas = h("canvas.local-video", { width: 320, height: 180, "data-testid": "call-local" }) as HTMLCanvasElement;
  const feeds = [openFeed("/call/remote", remoteCanvas), openFeed("/call/local", localCanvas)];
  replace(
    screen,
    h(
      "aside.side",
      {},
      h("h1", {}, t("call.title")),
      h("div.row", {}, dial, h("button.primary", { onclick: () => start(dial.value.trim().toLowerCase(), true) }, icon("phone"), t("call.call"))),
      h("div.row.sources", {}, h("label", {}, t("call.video"), videoSel), h("label", {}, t("call.quality"), presetSel)),
      h("div.row.sources", {}, h("label", {}, t("call.microphone"), audioSel), h("label", {}, t("call.speaker"), speakerSel)),
      contacts,
    ),
    stage,
  );

  function renderContacts() {
    const s = friendSections(friends);
    const now = Date.now();
    const c = controls(st);
    const row = (f: FriendInfo) =>
      h(
        "div.friend",
        {},
        h(`span.presence.${f.online ? "on" : "off"}`),
        h("span.who-col", {}, h("span.friend-name", { title: f.user }, f.user), h("span.muted", {}, presenceText(f, now))),
        h(
          "span.actions",
          {},
          h("button.small", { disabled: !c.call, onclick: () => start(f.user, true) }, icon("video"), t("call.video")),
          h("button.small", { disabled: !c.call, onclick: () => start(f.user, false), title: t("call.voice_call") }, icon("phone"), t("call.sound")),
        ),
      );
    replace(
      contacts,
      h("h4", {}, t("call.online")),
      ...(s.online.length ? s.online.map(row) : [h("p.muted", {}, t("call.no_friend_online"))]),
      h("h4", {}, t("call.offline")),
      ...s.offline.map(row),
      friends.length ? null : h("p.muted", {}, t("call.no_friends")),
    );
  }

  function drawStage() {
    const c = controls(st);
    const banner = recordingBanner(rec, me);
    const consent = consentPrompt(rec, me);
    const q = qualityView(st.quality);
    const rb = recordButton(rec, me);
    const now = Date.now();
    const inCallView = st.phase === "active" || st.phase === "connecting";
    const recordingMine = rec.recording.includes(me);
    const cloudRec = cloudRecView(view?.cloud, me, st.peer ?? "");
    // The other side's marks come from what it signalled, never from a black picture or silence.
    const them = view?.peer_media;
    const fig = view?.figures ?? null;
    const cameraError = view?.me.camera_error ?? null;
    replace(
      stage,
      banner.visible ? h(`div.rec-banner.${banner.tone}`, { role: "alert", "data-testid": "call-rec-banner" }, banner.tone === "recording" ? icon("record") : null, banner.text) : null,
      consent.show
        ? h(
            "div.consent",
            { role: "alertdialog", "data-testid": "call-consent" },
            h("p", {}, consent.text),
            h("button.primary", { onclick: () => answerConsent(true) }, t("call.allow")),
            h("button", { onclick: () => answerConsent(false) }, t("call.refuse")),
          )
        : null,
      inCallView && cloudRec.line
        ? h(`div.rec-banner.${cloudRec.line.tone === "error" || cloudRec.line.tone === "info" ? "declined" : cloudRec.line.tone}`, { role: "alert", "data-testid": "call-server-rec", "data-state": view?.cloud?.state ?? "" }, cloudRec.line.tone === "recording" ? icon("record") : null, cloudRec.line.text)
        : null,
      inCallView && cloudRec.ask
        ? h(
            "div.consent",
            { role: "alertdialog", "data-testid": "call-cloud-consent" },
            h("p", {}, cloudRec.ask),
            h("button.primary", { onclick: () => void cloudAction(true), "data-testid": "call-cloud-allow" }, t("call.allow")),
            h("button", { onclick: () => void cloudAction(false), "data-testid": "call-cloud-refuse" }, t("call.refuse")),
          )
        : null,
      h("div.call-status", { "data-testid": "call-status", "data-phase": st.phase }, statusLine(st, now)),
      st.phase === "active"
        ? h(`div.quality.q-${q.label}`, { title: q.text, "data-testid": "call-quality" }, h("span.bars", { "aria-hidden": "true" }, ...[1, 2, 3, 4].map((i) => h(`i${i <= q.bars ? ".on" : ""}`, { style: `height:${3 + i * 3}px` }))), q.text)
        : null,
      view?.peer_away && inCallView ? h("div.muted", {}, t("call.peer_away")) : null,
      cameraError && inCallView ? h("div.call-warning", { role: "status", "data-testid": "call-camera-error" }, icon("videoOff"), t("call.camera_failed", { why: cameraWhy(cameraError) })) : null,
      inCallView
        ? h(
            "div.video-area",
            {},
            remoteCanvas,
            localCanvas,
            view?.me.camera_off ? h("div.self-off", { "data-testid": "call-self-camera-off", title: t("call.camera_off") }, icon("videoOff")) : null,
            them?.camera_off ? h("div.camera-off-card", { "data-testid": "call-peer-camera-off" }, icon("videoOff"), t("call.camera_off_mark", { peer: st.peer ?? "" })) : null,
            them?.muted ? h("div.peer-marks", {}, h("span.peer-mark", { "data-testid": "call-peer-muted" }, icon("micOff"), t("call.muted_mark", { peer: st.peer ?? "" }))) : null,
            fig && !fig.frames_decoded && !them?.camera_off ? h("div.video-note.muted", {}, t("call.waiting_video")) : null,
          )
        : null,
      inCallView
        ? h(
            "div.media-line.muted.small",
            { "data-testid": "call-media-line", "data-preset": view?.preset ?? "", "data-send-size": fig ? `${fig.send_width}x${fig.send_height}` : "", "data-recv-size": fig ? `${fig.recv_width}x${fig.recv_height}` : "" },
            mediaLine(fig, view?.preset ?? null, !!view?.me.camera_off),
          )
        : null,
      notices.length ? h("div.call-notice.muted.small", { "data-testid": "call-notice" }, ...notices.map((n) => h("div", {}, n))) : null,
      st.phase === "incoming"
        ? h(
            "div.ring",
            {},
            h("p.big", {}, t("call.is_calling", { peer: st.peer ?? "" })),
            h("button.primary.answer", { onclick: answer, "data-testid": "call-answer" }, icon("phone"), t("call.answer")),
            h("button.danger", { onclick: decline, "data-testid": "call-decline" }, icon("hangup"), t("call.decline")),
          )
        : null,
      c.cancel ? h("button.danger", { onclick: hangup }, icon("hangup"), t("call.cancel")) : null,
      c.inCall
        ? h(
            "div.controls",
            {},
            h("button", { onclick: () => control({ type: "mute", on: !st.muted }, { muted: !st.muted }), "data-testid": "call-mute" }, icon(st.muted ? "micOff" : "mic"), st.muted ? t("call.unmute") : t("call.mute")),
            h("button", { onclick: () => control({ type: "camera", on: st.cameraOff }, { camera_off: !st.cameraOff }), "data-testid": "call-camera" }, icon(st.cameraOff ? "video" : "videoOff"), st.cameraOff ? t("call.camera_on") : t("call.camera_off")),
            h(
              "button",
              { onclick: () => control({ type: "share", source: st.sharing ? shareBack() : "screen" }, { sharing: !st.sharing }), "data-testid": "call-share" },
              icon("screen"),
              st.sharing ? t("call.stop_share") : t("call.share"),
            ),
            h(
              "button",
              { onclick: () => control(beauty ? { type: "beauty", smooth: 0, whiten: 0 } : { type: "beauty", ...BEAUTY }, { beauty: !beauty }), "data-testid": "call-beauty", title: t("call.beauty_title") },
              icon("sparkle"),
              beauty ? t("call.beauty_off") : t("call.beauty"),
            ),
            h("button", { disabled: rb.disabled, onclick: record, "data-testid": "call-record" }, icon(rb.action === "stop" ? "stop" : "record"), rb.label),
            h("button", { disabled: cloudRec.action === "none", onclick: () => void cloudAction(), "data-testid": "call-cloud-record" }, icon(cloudRec.action === "stop" ? "stop" : "record"), cloudRec.label),
            h("button", { disabled: !recordingMine && cloudRec.action !== "stop", onclick: () => void bookmark(recordingMine), "data-testid": "call-bookmark", title: t("call.bookmark_title") }, icon("bookmark"), t("call.bookmark")),
            h("button.danger", { onclick: hangup, "data-testid": "call-hangup" }, icon("hangup"), t("call.hangup")),
          )
        : null,
      st.phase === "ended" ? h("button", { onclick: dismiss, "data-testid": "call-dismiss" }, t("common.ok")) : null,
    );
  }

  /** Stop sharing: back to the picked video (a camera, or the test pattern). */
  const shareBack = () => (videoSel.value && videoSel.value !== "none" && videoSel.value !== "screen" ? videoSel.value : "test");

  async function control(c: CallControl, local: { muted?: boolean; camera_off?: boolean; sharing?: boolean; beauty?: boolean }) {
    try {
      await calls.control(c);
      // The button follows the engine's state (call://view); only beauty is ours to remember.
      if (local.beauty !== undefined) beauty = local.beauty;
      redraw?.();
    } catch (e) {
      fail(e);
    }
  }

  function dismiss() {
    dismissed = view?.call_id ?? null;
    if (view) onView(view);
  }

  async function record() {
    const rb = recordButton(rec, me);
    if (rb.action === "none") return;
    try {
      await calls.control({ type: "record", on: rb.action === "start" });
      if (rb.action === "start") applyRec({ type: "requested", by: me });
    } catch (e) {
      fail(e);
    }
  }

  /** A bookmark in every recording of mine that runs: the local one and the server's (a chapter in its file). */
  async function bookmark(local: boolean) {
    if (local) await control({ type: "bookmark", label: null }, {});
    const c = view?.cloud;
    if (c?.state !== "recording") return;
    try {
      await cloud.record({ action: "bookmark", id: c.id, label: "" });
      notices = [...notices.slice(-3), t("call.cloud.bookmarked")];
      redraw?.();
    } catch (e) {
      fail(e);
    }
  }

  /** Record on server: start, stop, or (with `accept`) answer the other side's request. */
  async function cloudAction(accept?: boolean) {
    const c = view?.cloud;
    try {
      if (accept !== undefined && c) await cloud.record({ action: "answer", id: c.id, accept });
      else if (cloudRecView(c, me, st.peer ?? "").action === "stop" && c) await cloud.record({ action: "stop", id: c.id });
      else await cloud.record({ action: "start" });
    } catch (e) {
      fail(e);
    }
  }

  redraw = () => {
    if (disposed) return;
    renderStage();
    renderContacts();
  };

  async function start(peer: string, video: boolean) {
    if (!validUsername(peer)) return toast(t("chat.enter_name"), "error");
    if (!controls(st).call) return;
    try {
      await calls.invite(peer, video, sources());
    } catch (e) {
      fail(e);
    }
  }

  async function answer() {
    if (!st.callId || !st.peer) return;
    try {
      await calls.accept(st.callId, st.peer, sources());
    } catch (e) {
      fail(e);
    }
  }

  async function decline() {
    if (!st.callId) return;
    try {
      await calls.decline(st.callId);
    } catch (e) {
      fail(e);
    }
  }

  async function hangup() {
    if (!st.callId) return;
    try {
      await calls.hangup(st.callId);
    } catch (e) {
      fail(e);
    }
  }

  async function answerConsent(accept: boolean) {
    if (!st.callId || !rec.requestedBy) return;
    const by = rec.requestedBy;
    try {
      await calls.consent(st.callId, accept);
      applyRec(accept ? { type: "started", by } : { type: "declined", by: me });
    } catch (e) {
      fail(e);
    }
  }

  const unChat = on<ChatPush>("chat://event", (p) => {
    if (disposed || p.kind !== "event") return;
    if (p.ev.ev === "presence") {
      friends = applyPresence(friends, p.ev);
      renderContacts();
    } else if (p.ev.ev === "friend") loadFriends();
  });

  async function loadFriends() {
    try {
      friends = (await chat.friends()).filter((f) => f.state === "friends");
      renderContacts();
    } catch (e) {
      replace(contacts, h("p.muted", {}, errorText(e)));
    }
  }

  (async () => {
    try {
      const s = await chat.status();
      me = s.user ?? "";
      if (!s.signed_in) {
        replace(contacts, h("p.muted", {}, t("call.sign_in")));
      } else {
        await loadFriends();
      }
    } catch (e) {
      fail(e);
    }
    // Arrived from Chat's "Call" button: prefill the name.
    if (pendingPeer) dial.value = pendingPeer;
    pendingPeer = null;
    renderStage();
  })();

  const tick = window.setInterval(() => {
    if (st.phase !== "active") return;
    renderStage();
  }, 500);

  return () => {
    disposed = true;
    window.clearInterval(tick);
    for (const f of feeds) f.close();
    redraw = null;
    stageDraw.dispose();
    unChat();
    screen.remove();
  };
}
follow();
