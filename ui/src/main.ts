// The shell: a nav bar, the status strip and one screen at a time. Each
// screen module exports `mount(root): () => void`; the returned function is
// its cleanup (stop timers, unsubscribe events, close sockets) when the
// user leaves it.
//
// To add a screen: write `screens/NAME.ts` with `mount`, add a line to
// SCREENS below and its title to the string catalogue. Elements tests drive
// carry `data-testid`.

import { appInfo, live as liveApi } from "./api";
import { stripView } from "./lib/appState";
import { sendTrayWords } from "./lib/tray";
import { followLiveNotices } from "./lib/liveNotice";
import { h, replace, toast } from "./lib/dom";
import { currentLang, errorText, setLanguage, languageChoice, t, type Key } from "./lib/i18n";
import { icon, type IconName } from "./lib/icons";
import { appState, followAppState, onAppState, refreshAppState } from "./state";
import * as live from "./screens/live";
import * as recordings from "./screens/recordings";
import * as chat from "./screens/chat";
import * as watch from "./screens/watch";
import * as call from "./screens/call";
import * as settings from "./screens/settings";

export interface ScreenModule {
  mount(root: HTMLElement): () => void;
}

export const SCREENS: { id: string; title: Key; icon: IconName; module: ScreenModule }[] = [
  { id: "live", title: "nav.live", icon: "live", module: live },
  { id: "recordings", title: "nav.recordings", icon: "record", module: recordings },
  { id: "watch", title: "nav.watch", icon: "play", module: watch },
  { id: "chat", title: "nav.chat", icon: "chat", module: chat },
  { id: "call", title: "nav.call", icon: "phone", module: call },
  { id: "settings", title: "nav.settings", icon: "gear", module: settings },
];

let cleanup: (() => void) | null = null;
let current = "";
let relay: { url: string; embedded: boolean } | null = null;

/** Shows a screen by id (also reachable as `#/ID` in the URL); `again` re-mounts the one shown. */
export function show(id: string, again = false): void {
  const s = SCREENS.find((x) => x.id === id) ?? SCREENS[0];
  if (s.id === current && !again) return;
  if (cleanup) {
    try {
      cleanup();
    } catch (e) {
      console.error("screen cleanup", e);
    }
  }
  current = s.id;
  const root = document.getElementById("screen")!;
  replace(root);
  root.dataset.screen = s.id;
  document.querySelectorAll<HTMLButtonElement>("#nav button[data-screen]").forEach((b) => {
    b.classList.toggle("active", b.dataset.screen === s.id);
    if (b.dataset.screen === s.id) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
  if (location.hash !== `#/${s.id}`) history.replaceState(null, "", `#/${s.id}`);
  try {
    cleanup = s.module.mount(root);
  } catch (e) {
    cleanup = null;
    toast(t("shell.open_failed", { screen: t(s.title), detail: errorText(e) }), "error");
  }
}

function renderNav(): void {
  const nav = document.getElementById("nav")!;
  nav.setAttribute("aria-label", t("nav.screens"));
  replace(
    nav,
    h("div.brand", {}, h("span.dot", { "data-testid": "brand-dot" }), "OnAir"),
    ...SCREENS.map((s) =>
      h(
        "button",
        { dataset: { screen: s.id, testid: `nav-${s.id}` }, class: s.id === current ? "active" : "", onclick: () => show(s.id) },
        icon(s.icon),
        h("span.nav-label", {}, t(s.title)),
        s.id === "chat" ? h("span.nav-badge", { "data-testid": "nav-unread", hidden: true }) : null,
      ),
    ),
    h("div.spacer"),
    h("div#relay-badge.muted.small", { "data-testid": "relay-badge", title: relay?.url ?? "" }, relay ? (relay.embedded ? t("shell.local_relay") : relay.url.replace(/^https?:\/\//, "")) : ""),
  );
  renderStrip();
}

let stopping = false;

async function stopJob(): Promise<void> {
  if (stopping) return;
  stopping = true;
  renderStrip();
  try {
    const r = await liveApi.stop();
    if (r.recording) toast(t("strip.saved", { name: r.recording.path.split("/").pop() ?? "" }));
    if (r.errors.length) toast(t("error.stopped_with", { detail: r.errors.join("; ") }), "error");
  } catch (e) {
    toast(errorText(e), "error");
  } finally {
    stopping = false;
    refreshAppState();
  }
}

/** The strip under every screen's title: LIVE/REC with Stop, the call, the relay. */
function renderStrip(): void {
  const strip = document.getElementById("strip");
  if (!strip) return;
  const s = appState();
  const v = stripView(s, Date.now());
  const pill = (cls: string, testid: string, text: string, elapsed: string) =>
    h(`span.pill.${cls}`, { "data-testid": testid }, h("span.pill-dot"), text, elapsed ? h("span.pill-time", { "data-testid": `${testid}-time` }, elapsed) : null);
  replace(
    strip,
    v.live ? pill("live", "strip-live", v.live.text, v.live.elapsed) : null,
    v.rec ? pill("rec", "strip-rec", v.rec.text, v.rec.elapsed) : null,
    v.stop
      ? h(
          "button.small.danger",
          { "data-testid": "strip-stop", title: v.stop.title, disabled: v.stop.busy || stopping, onclick: () => void stopJob() },
          icon("stop"),
          v.stop.busy || stopping ? t("strip.stopping") : t("strip.stop"),
        )
      : null,
    v.call
      ? h(
          `button.pill.call.${v.call.phase}`,
          { "data-testid": "strip-call", title: t("strip.back_to_call"), onclick: () => show("call") },
          icon("phone"),
          v.call.text,
          v.call.elapsed ? h("span.pill-time", {}, v.call.elapsed) : null,
        )
      : null,
    !v.live && !v.rec && !v.call ? h("span.muted.small", {}, t("strip.idle")) : null,
    h("div.spacer"),
    h(`span.conn.${v.relay.tone}`, { "data-testid": "strip-relay" }, h("span.conn-dot"), v.relay.text),
  );
  const dot = document.querySelector<HTMLElement>("#nav .dot");
  if (dot) {
    dot.className = `dot ${v.dot}`;
    dot.title = v.live ? v.live.text : v.rec ? v.rec.text : t("strip.idle");
  }
  const badge = document.querySelector<HTMLElement>("[data-testid=nav-unread]");
  if (badge) {
    badge.textContent = v.unread;
    badge.hidden = !v.unread;
    badge.title = v.unreadTitle;
  }
}

/** Redraws everything in the language now chosen (Settings calls this). */
export function relabel(): void {
  setLanguage(languageChoice());
  sendTrayWords();
  renderNav();
  show(current, true);
}

function boot(): void {
  setLanguage(languageChoice());
  sendTrayWords();
  renderNav();
  followAppState();
  onAppState(() => renderStrip());
  // The pills' clocks.
  window.setInterval(renderStrip, 1000);
  appInfo()
    .then((i) => {
      relay = i.relay;
      renderNav();
    })
    .catch(() => toast(t("shell.backend_silent"), "error"));
  // Go-live notices of followed streamers, on every screen.
  followLiveNotices(() => show("watch", true));
  window.addEventListener("hashchange", () => show(location.hash.replace(/^#\//, "")));
  window.addEventListener("onair:language", relabel);
  show(location.hash.replace(/^#\//, "") || "live");
  document.documentElement.lang = currentLang() === "zh" ? "zh-CN" : "en";
  // The first screen is up: the benchmark reads this (Unix ms) as the end of cold start.
  (window as unknown as { __onairReadyAt: number }).__onairReadyAt = Date.now();
  document.body.dataset.ready = "1";
}

boot();
