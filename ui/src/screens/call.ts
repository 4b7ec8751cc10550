// The Calls screen: contacts with presence, what to send (camera/screen/
// test, microphone), call / answer / decline, ringing, the other side's
// video with our self-view, in-call controls, network quality, the "being
// recorded" banner and the consent prompt. State comes from `call://state`
// (reduced by lib/callState.ts and lib/recording.ts); pictures from the
// loopback feeds `/call/remote` and `/call/local`; buttons call call_*.

import { on } from "../api";
import { calls, type CallControl, type CallPush, type CallSources, type CallStats } from "../api";
import { chat, type ChatPush } from "../api";
import { callDefaults, callSourceOptions, devices, pickCallSource, type DevicesView } from "../lib/devices";
import { controls, IDLE, isBlack, mediaLine, noticeText, peerMarks, reduceCall, statusLine, type CallEvent, type CallState } from "../lib/callState";
import { openFeed } from "../lib/videoFeed";
import { h, replace, toast } from "../lib/dom";
import { errorText, t } from "../lib/i18n";
import { icon } from "../lib/icons";
import { applyPresence, friendSections, presenceText, validUsername, type FriendInfo } from "../lib/friends";
import { qualityView } from "../lib/quality";
import { consentPrompt, NO_RECORDING, recordButton, recordingBanner, reduceRecording, type RecordingEvent, type RecordingState } from "../lib/recording";
import "./app2.css";

const BEAUTY = { smooth: 50, whiten: 30 };

// Call state lives at module scope, fed from app start: a call may ring
// while another screen is shown (the ring takes the user to this screen).
let me = "";
let st: CallState = IDLE;
let rec: RecordingState = NO_RECORDING;
let peerAway = false;
/** The engine's latest figures and line for this call. */
let stats: CallStats | null = null;
/** The engine's last few lines, as sentences ("Recording saved in Recordings"). */
let notices: string[] = [];
/** Since when the other side's picture is black / its sound silent (null: not now). */
let blackSince: number | null = null;
let silentSince: number | null = null;
/** When a button last changed a local flag (mute, camera, share, beauty). */
let localChangeAt = 0;
let redraw: (() => void) | null = null;
let subscribed = false;

function apply(ev: CallEvent) {
  const before = st.phase;
  st = reduceCall(st, ev);
  if (st.phase !== before && (st.phase === "idle" || st.phase === "ended")) {
    rec = reduceRecording(rec, { type: "reset" });
    peerAway = false;
    blackSince = null;
    silentSince = null;
  }
  if (st.phase !== before && (st.phase === "outgoing" || st.phase === "incoming")) {
    stats = null;
    notices = [];
  }
  redraw?.();
}

function applyRec(ev: RecordingEvent) {
  rec = reduceRecording(rec, ev);
  redraw?.();
}

function onPush(p: CallPush) {
  switch (p.type) {
    case "dialing":
      if (p.call_id && st.phase === "outgoing") st = { ...st, callId: p.call_id };
      else apply({ type: "dialing", call_id: p.call_id, peer: p.peer });
      break;
    case "ringing":
      apply({ type: "ringing", call_id: p.call_id, peer: p.peer });
      if (!redraw && st.phase === "incoming") location.hash = "#/call";
      break;
    case "peer_ringing":
      break;
    case "accepted":
      apply({ type: "accepted", call_id: p.call_id });
      break;
    case "connected":
      if (st.phase === "incoming" || st.phase === "outgoing") apply({ type: "accepted", call_id: p.call_id });
      apply({ type: "connected", call_id: p.call_id, at: p.at });
      break;
    case "ended":
      apply({ type: "ended", call_id: p.call_id, reason: p.reason });
      break;
    case "quality":
      apply({ type: "quality", call_id: p.call_id, score: p.score });
      break;
    case "peer_connection":
      peerAway = !p.connected;
      break;
    case "recording":
      applyRec({ type: p.action, by: p.by });
      break;
    case "consent_request":
      applyRec({ type: "requested", by: p.by });
      break;
    case "consent_result":
      applyRec(p.accepted ? { type: "started", by: me } : { type: "declined", by: p.by });
      break;
    case "notice":
      if (st.callId === null || st.callId === p.call_id) {
        const text = noticeText(p.text);
        if (text) notices = [...notices, text].slice(-3);
      }
      break;
    case "media":
      if (st.callId !== null && st.callId !== p.call_id) break;
      stats = p.stats;
      // The other side muted (or silent): its sound sits at the floor.
      if (p.stats.connected && p.stats.audio_packets_received > 0 && (p.stats.audio_level_dbfs ?? -100) <= -90) silentSince ??= Date.now();
      else silentSince = null;
      if (p.stats.connected) apply({ type: "quality", call_id: p.call_id, score: p.stats.quality_score });
      // The engine's flags win, except just after a button press: a figure
      // taken before the engine applied it must not flip the button back.
      if (Date.now() - localChangeAt > 2500) apply({ type: "local", muted: p.stats.muted, camera_off: p.stats.camera_off, sharing: p.stats.video_source.startsWith("screen") });
      // My own recording: the relay answers my request to the engine, which
      // says here whether its recorder writes (the other side gets an event).
      if (me && p.stats.recording_now !== rec.recording.includes(me)) applyRec({ type: p.stats.recording_now ? "started" : "stopped", by: me });
      break;
  }
  redraw?.();
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
  fillPickers(null);
  devices.get().then(fillPickers, () => {});
  const sources = (): CallSources => ({ video: videoSel.value || "none", audio: audioSel.value || "none", ...(st.beauty ? BEAUTY : {}) });
  // The pictures: created once, fed for as long as the screen is open.
  const remoteCanvas = h("canvas.remote-video", { width: 640, height: 360, "data-testid": "call-remote" }) as HTMLCanvasElement;
  const localCanvas = h("canvas.local-video", { width: 320, height: 180, "data-testid": "call-local" }) as HTMLCanvasElement;
  const feeds = [openFeed("/call/remote", remoteCanvas), openFeed("/call/local", localCanvas)];
  // Camera off sends black frames: watch a small copy of the picture for it.
  const probe = document.createElement("canvas");
  probe.width = 32;
  probe.height = 18;
  const probeCtx = probe.getContext("2d", { willReadFrequently: true });
  const sampleRemote = () => {
    if (!probeCtx || !(st.phase === "active") || !Number(remoteCanvas.dataset.frames ?? 0)) return void (blackSince = null);
    probeCtx.drawImage(remoteCanvas, 0, 0, probe.width, probe.height);
    if (isBlack(probeCtx.getImageData(0, 0, probe.width, probe.height).data)) blackSince ??= Date.now();
    else blackSince = null;
  };
  replace(
    screen,
    h(
      "aside.side",
      {},
      h("h1", {}, t("call.title")),
      h("div.row", {}, dial, h("button.primary", { onclick: () => start(dial.value.trim().toLowerCase(), true) }, icon("phone"), t("call.call"))),
      h("div.row.sources", {}, h("label", {}, t("call.video"), videoSel), h("label", {}, t("call.sound"), audioSel)),
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

  function renderStage() {
    const c = controls(st);
    const banner = recordingBanner(rec, me);
    const consent = consentPrompt(rec, me);
    const q = qualityView(st.quality);
    const rb = recordButton(rec, me);
    const now = Date.now();
    const inCallView = st.phase === "active" || st.phase === "connecting";
    const recordingMine = rec.recording.includes(me);
    const marks = peerMarks(blackSince, silentSince, now);
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
      h("div.call-status", { "data-testid": "call-status", "data-phase": st.phase }, statusLine(st, now)),
      st.phase === "active"
        ? h(`div.quality.q-${q.label}`, { title: q.text, "data-testid": "call-quality" }, h("span.bars", { "aria-hidden": "true" }, ...[1, 2, 3, 4].map((i) => h(`i${i <= q.bars ? ".on" : ""}`, { style: `height:${3 + i * 3}px` }))), q.text)
        : null,
      peerAway ? h("div.muted", {}, t("call.peer_away")) : null,
      inCallView
        ? h(
            "div.video-area",
            {},
            remoteCanvas,
            localCanvas,
            marks.cameraOff ? h("div.camera-off-card", { "data-testid": "call-peer-camera-off" }, icon("videoOff"), t("call.camera_off_mark", { peer: st.peer ?? "" })) : null,
            marks.muted ? h("div.peer-marks", {}, h("span.peer-mark", { "data-testid": "call-peer-muted" }, icon("micOff"), t("call.muted_mark", { peer: st.peer ?? "" }))) : null,
            stats && !stats.video_frames_decoded ? h("div.video-note.muted", {}, t("call.waiting_video")) : null,
          )
        : null,
      inCallView ? h("div.media-line.muted.small", { "data-testid": "call-media-line" }, mediaLine(stats)) : null,
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
              { onclick: () => control(st.beauty ? { type: "beauty", smooth: 0, whiten: 0 } : { type: "beauty", ...BEAUTY }, { beauty: !st.beauty }), "data-testid": "call-beauty", title: t("call.beauty_title") },
              icon("sparkle"),
              st.beauty ? t("call.beauty_off") : t("call.beauty"),
            ),
            h("button", { disabled: rb.disabled, onclick: record, "data-testid": "call-record" }, icon(rb.action === "stop" ? "stop" : "record"), rb.label),
            h("button", { disabled: !recordingMine, onclick: () => control({ type: "bookmark", label: null }, {}), "data-testid": "call-bookmark", title: t("call.bookmark_title") }, icon("bookmark"), t("call.bookmark")),
            h("button.danger", { onclick: hangup, "data-testid": "call-hangup" }, icon("hangup"), t("call.hangup")),
          )
        : null,
      st.phase === "ended" ? h("button", { onclick: () => apply({ type: "dismiss" }) }, t("common.ok")) : null,
    );
  }

  /** Stop sharing: back to the picked video (a camera, or the test pattern). */
  const shareBack = () => (videoSel.value && videoSel.value !== "none" && videoSel.value !== "screen" ? videoSel.value : "test");

  async function control(c: CallControl, local: { muted?: boolean; camera_off?: boolean; sharing?: boolean; beauty?: boolean }) {
    try {
      await calls.control(c);
      localChangeAt = Date.now();
      apply({ type: "local", ...local });
    } catch (e) {
      fail(e);
    }
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
    if (!st.callId) return apply({ type: "ended", call_id: null, reason: "cancelled" });
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
    sampleRemote();
    renderStage();
  }, 500);

  return () => {
    disposed = true;
    window.clearInterval(tick);
    for (const f of feeds) f.close();
    redraw = null;
    unChat();
    screen.remove();
  };
}
follow();
