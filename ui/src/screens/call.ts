// The Calls screen: contacts with presence, call / answer / decline,
// ringing, in-call controls, network quality, the "being recorded" banner
// and the consent prompt. State comes from `call://state` (reduced by
// lib/callState.ts and lib/recording.ts); buttons call the call_* commands.

import { on } from "../api";
import { calls, type CallPush } from "../api";
import { chat, type ChatPush } from "../api";
import { controls, IDLE, reduceCall, statusLine, type CallEvent, type CallState } from "../lib/callState";
import { h, replace, toast } from "../lib/dom";
import { applyPresence, friendSections, presenceText, validUsername, type FriendInfo } from "../lib/friends";
import { qualityView } from "../lib/quality";
import { consentPrompt, NO_RECORDING, recordButton, recordingBanner, reduceRecording, type RecordingEvent, type RecordingState } from "../lib/recording";
import "./app2.css";

// Call state lives at module scope, fed from app start: a call may ring
// while another screen is shown (the ring takes the user to this screen).
let me = "";
let st: CallState = IDLE;
let rec: RecordingState = NO_RECORDING;
let peerAway = false;
let redraw: (() => void) | null = null;
let subscribed = false;

function apply(ev: CallEvent) {
  const before = st.phase;
  st = reduceCall(st, ev);
  if (st.phase !== before && (st.phase === "idle" || st.phase === "ended")) {
    rec = reduceRecording(rec, { type: "reset" });
    peerAway = false;
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
  const fail = (e: unknown) => toast(e instanceof Error ? e.message : String(e), "error");

  const screen = h("section.app2.call-screen", { "data-testid": "screen-call" });
  const contacts = h("div.contacts", { "data-testid": "call-contacts" });
  const stage = h("div.call-stage");
  root.appendChild(screen);
  const dial = h("input", { type: "text", placeholder: "Call… (user name)", "data-testid": "call-to" }) as HTMLInputElement;
  dial.onkeydown = (e) => {
    if (e.key === "Enter") start(dial.value.trim(), true);
  };
  replace(
    screen,
    h("aside.side", {}, h("h2", {}, "Calls"), h("div.row", {}, dial, h("button.primary", { onclick: () => start(dial.value.trim(), true) }, "📞 Call")), contacts),
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
        h("span.friend-name", {}, f.user),
        h("span.muted", {}, presenceText(f, now)),
        h("span.actions", {}, h("button.small", { disabled: !c.call, onclick: () => start(f.user, true), title: "Video call" }, "🎥"), h("button.small", { disabled: !c.call, onclick: () => start(f.user, false), title: "Voice call" }, "📞")),
      );
    replace(
      contacts,
      h("h4", {}, "Online"),
      ...(s.online.length ? s.online.map(row) : [h("p.muted", {}, "No friend online.")]),
      h("h4", {}, "Offline"),
      ...s.offline.map(row),
      friends.length ? null : h("p.muted", {}, "Add friends on the Chat screen; you can also call any user name above."),
    );
  }

  function renderStage() {
    const c = controls(st);
    const banner = recordingBanner(rec, me);
    const consent = consentPrompt(rec, me);
    const q = qualityView(st.quality);
    const rb = recordButton(rec, me);
    const now = Date.now();
    replace(
      stage,
      banner.visible ? h(`div.rec-banner.${banner.tone}`, { role: "alert", "data-testid": "call-rec-banner" }, banner.text) : null,
      consent.show
        ? h(
            "div.consent",
            { role: "alertdialog", "data-testid": "call-consent" },
            h("p", {}, consent.text),
            h("button.primary", { onclick: () => answerConsent(true) }, "Allow"),
            h("button", { onclick: () => answerConsent(false) }, "Refuse"),
          )
        : null,
      h("div.call-status", { "data-testid": "call-status", "data-phase": st.phase }, statusLine(st, now)),
      st.phase === "active" ? h(`div.quality.q-${q.label}`, { title: q.text, "data-testid": "call-quality" }, h("span.bars", {}, "▮".repeat(q.bars) + "▯".repeat(4 - q.bars)), " ", q.text) : null,
      peerAway ? h("div.muted", {}, "The other side lost its connection; waiting for it to come back…") : null,
      h(
        "div.video-area",
        {},
        h("div.remote.muted", { "data-testid": "call-media-note" }, st.phase === "active" ? "Connected. Audio and video for calls are not in the app yet: for a call with media use `onair call` (see the README)." : ""),
        h("div.local.muted", {}, ""),
      ),
      st.phase === "incoming"
        ? h("div.ring", {}, h("p.big", {}, `📞 ${st.peer} is calling…`), h("button.primary.answer", { onclick: answer, "data-testid": "call-answer" }, "Answer"), h("button.danger", { onclick: decline, "data-testid": "call-decline" }, "Decline"))
        : null,
      c.cancel ? h("button.danger", { onclick: hangup }, "Cancel") : null,
      c.inCall
        ? h(
            "div.controls",
            {},
            // Media controls wait for the call's media in the app: shown, not
            // pretending (a Record that records nothing would tell the other
            // side it is being recorded when it is not).
            mediaOnly(st.muted ? "🔇 Unmute" : "🎙 Mute"),
            mediaOnly(st.cameraOff ? "📷 Camera on" : "📷 Camera off"),
            mediaOnly(st.sharing ? "🖥 Stop sharing" : "🖥 Share screen"),
            mediaOnly(st.beauty ? "✨ Beauty off" : "✨ Beauty"),
            h("button", { disabled: true, title: MEDIA_LATER, "data-testid": "call-record" }, rb.label),
            h("button.danger", { onclick: hangup, "data-testid": "call-hangup" }, "Hang up"),
          )
        : null,
      st.phase === "ended" ? h("button", { onclick: () => apply({ type: "dismiss" }) }, "OK") : null,
    );
  }

  const MEDIA_LATER = "Needs the call's audio and video, not in the app yet (onair call has them)";
  const mediaOnly = (label: string) => h("button", { disabled: true, title: MEDIA_LATER }, label);

  redraw = () => {
    if (disposed) return;
    renderStage();
    renderContacts();
  };

  async function start(peer: string, video: boolean) {
    if (!validUsername(peer)) return toast("Enter a user name", "error");
    if (!controls(st).call) return;
    try {
      await calls.invite(peer, video);
    } catch (e) {
      fail(e);
    }
  }

  async function answer() {
    if (!st.callId) return;
    try {
      await calls.accept(st.callId);
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
      replace(contacts, h("p.muted", {}, e instanceof Error ? e.message : String(e)));
    }
  }

  (async () => {
    try {
      const s = await chat.status();
      me = s.user ?? "";
      if (!s.signed_in) {
        replace(contacts, h("p.muted", {}, "Sign in on the Chat screen to call."));
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

  const tick = window.setInterval(() => st.phase === "active" && renderStage(), 1000);

  return () => {
    disposed = true;
    window.clearInterval(tick);
    redraw = null;
    unChat();
    screen.remove();
  };
}
follow();
