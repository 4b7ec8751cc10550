// The shell: a nav bar and one screen at a time. Each screen module exports
// `mount(root): () => void`; the returned function is its cleanup (stop
// timers, unsubscribe events, close sockets) when the user leaves it.
//
// To add a screen: write `screens/NAME.ts` with `mount`, add a line to
// SCREENS below. Elements tests drive carry `data-testid`.

import { appInfo } from "./api";
import { h, replace, toast } from "./lib/dom";
import * as live from "./screens/live";
import * as recordings from "./screens/recordings";
import * as chat from "./screens/chat";
import * as watch from "./screens/watch";
import * as call from "./screens/call";
import * as settings from "./screens/settings";

export interface ScreenModule {
  mount(root: HTMLElement): () => void;
}

export const SCREENS: { id: string; title: string; module: ScreenModule }[] = [
  { id: "live", title: "Go live", module: live },
  { id: "recordings", title: "Recordings", module: recordings },
  { id: "watch", title: "Watch", module: watch },
  { id: "chat", title: "Chat", module: chat },
  { id: "call", title: "Calls", module: call },
  { id: "settings", title: "Settings", module: settings },
];

let cleanup: (() => void) | null = null;
let current = "";

/** Shows a screen by id (also reachable as `#/ID` in the URL). */
export function show(id: string): void {
  const s = SCREENS.find((x) => x.id === id) ?? SCREENS[0];
  if (s.id === current) return;
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
  document.querySelectorAll<HTMLButtonElement>("#nav button[data-screen]").forEach((b) => b.classList.toggle("active", b.dataset.screen === s.id));
  if (location.hash !== `#/${s.id}`) history.replaceState(null, "", `#/${s.id}`);
  try {
    cleanup = s.module.mount(root);
  } catch (e) {
    cleanup = null;
    toast(`Could not open ${s.title}: ${e}`, "error");
  }
}

function boot(): void {
  const nav = document.getElementById("nav")!;
  replace(
    nav,
    h("div.brand", {}, h("span.dot"), "OnAir"),
    ...SCREENS.map((s) => h("button", { dataset: { screen: s.id, testid: `nav-${s.id}` }, onclick: () => show(s.id) }, s.title)),
    h("div.spacer"),
    h("div#relay-badge.muted", { "data-testid": "relay-badge" }, ""),
  );
  appInfo()
    .then((i) => {
      const b = document.getElementById("relay-badge")!;
      b.textContent = i.relay.embedded ? "local relay" : i.relay.url.replace(/^https?:\/\//, "");
      b.title = `relay ${i.relay.url}`;
    })
    .catch((e) => toast(`The app's backend did not answer: ${e.message ?? e}`, "error"));
  window.addEventListener("hashchange", () => show(location.hash.replace(/^#\//, "")));
  show(location.hash.replace(/^#\//, "") || "live");
  // The first screen is up: the benchmark reads this (Unix ms) as the end of cold start.
  (window as unknown as { __onairReadyAt: number }).__onairReadyAt = Date.now();
  document.body.dataset.ready = "1";
}

boot();
