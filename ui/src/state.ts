// The app state from Rust (`app://state`, see lib/appState.ts), held once
// for every screen: read it with `appState()`, follow it with `onAppState`.

import { call, on } from "./api";
import { NO_STATE, type AppStatus } from "./lib/appState";

let current: AppStatus = NO_STATE;
const listeners = new Set<(s: AppStatus) => void>();
let started = false;

function set(s: AppStatus): void {
  current = s;
  for (const f of [...listeners]) {
    try {
      f(s);
    } catch (e) {
      console.error("app state listener", e);
    }
  }
}

/** Starts following the state (the shell calls this once at start). */
export function followAppState(): void {
  if (started) return;
  started = true;
  on<AppStatus>("app://state", set);
  call<AppStatus>("app_state").then(set, () => {});
}

export function appState(): AppStatus {
  return current;
}

/** Calls `f` on every change; returns the unsubscribe. */
export function onAppState(f: (s: AppStatus) => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** Asks again now (after a command that changed something). */
export function refreshAppState(): void {
  call<AppStatus>("app_state").then(set, () => {});
}
