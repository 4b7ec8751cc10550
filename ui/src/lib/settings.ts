// Settings view logic: relay URL and hotkey validation, retention choices.

import { t, tn } from "./i18n";

/** A relay on this machine: localhost, 127.0.0.0/8 or ::1. */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * A relay URL the chat client accepts: https://host[:port], or plain
 * http://host:port for a relay on this machine (anything else would send
 * passwords and messages unencrypted).
 */
export function validRelayUrl(url: string, allowInsecure = false): string | null {
  const u = url.trim();
  const m = /^(https|wss|http|ws):\/\/([^/\s?#@]+)\/?$/.exec(u);
  if (!m) return t("settings.relay_err.form");
  const tls = m[1] === "https" || m[1] === "wss";
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(m[2]);
  if (!hp) return t("settings.relay_err.host");
  const [, host, portText] = hp;
  if (portText !== undefined) {
    const port = Number(portText);
    if (port < 1 || port > 65535) return t("settings.relay_err.port");
  }
  if (!tls) {
    if (!isLoopback(host) && !allowInsecure) return t("settings.relay_err.insecure");
    if (portText === undefined) return t("settings.relay_err.no_port");
  }
  return null;
}

const MODS = ["CommandOrControl", "Control", "Ctrl", "Command", "Cmd", "Super", "Alt", "Option", "Shift"];

/**
 * Checks an accelerator as the global-shortcut plugin takes it
 * ("CommandOrControl+Shift+R"): at least one modifier and exactly one key.
 * Returns the normalised form or an error.
 */
export function parseHotkey(s: string): { ok: true; value: string } | { ok: false; error: string } {
  const parts = s.split("+").map((p) => p.trim()).filter(Boolean);
  if (!parts.length) return { ok: false, error: t("settings.hk_err.empty") };
  const mods = parts.filter((p) => MODS.some((m) => m.toLowerCase() === p.toLowerCase()));
  const keys = parts.filter((p) => !MODS.some((m) => m.toLowerCase() === p.toLowerCase()));
  if (!mods.length) return { ok: false, error: t("settings.hk_err.modifier") };
  if (keys.length !== 1) return { ok: false, error: t("settings.hk_err.one_key") };
  const key = keys[0].length === 1 ? keys[0].toUpperCase() : keys[0][0].toUpperCase() + keys[0].slice(1);
  if (!/^([A-Z0-9]|F([1-9]|1[0-9]|2[0-4])|Space|Enter|Tab|Home|End|PageUp|PageDown|Insert|Delete|Up|Down|Left|Right)$/.test(key))
    return { ok: false, error: t("settings.hk_err.unknown_key", { key: keys[0] }) };
  const canon = (m: string) => MODS.find((x) => x.toLowerCase() === m.toLowerCase()) as string;
  const order = (m: string) => MODS.indexOf(canon(m));
  const normMods = [...new Set(mods.map(canon))].sort((a, b) => order(a) - order(b));
  return { ok: true, value: [...normMods, key].join("+") };
}

/** Two actions must not share a shortcut. Returns the clashing action pairs. */
export function hotkeyClashes(map: Record<string, string>): [string, string][] {
  const seen = new Map<string, string>();
  const out: [string, string][] = [];
  for (const [action, acc] of Object.entries(map)) {
    const p = parseHotkey(acc);
    if (!p.ok) continue;
    const other = seen.get(p.value.toLowerCase());
    if (other) out.push([other, action]);
    else seen.set(p.value.toLowerCase(), action);
  }
  return out;
}

/** Retention choices (days; null = keep forever), as the library stores them. */
export const RETENTION_CHOICES: readonly (number | null)[] = [null, 1, 7, 30, 90, 365];

export function retentionLabel(days: number | null): string {
  if (days == null) return t("rec.keep_forever");
  return tn("rec.days", days);
}

/**
 * The accelerator for a key press in the hotkey recorder ("Ctrl+Shift+R"
 * becomes "CommandOrControl+Shift+R"); null while only modifiers are down.
 * `code` names the physical key, so Shift+1 is "1", not "!".
 */
export function hotkeyFromEvent(e: { ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean; key: string; code: string }): string | null {
  let key: string | null = null;
  const m = /^(?:Key([A-Z])|Digit([0-9]))$/.exec(e.code);
  if (m) key = m[1] ?? m[2];
  else if (/^F([1-9]|1[0-9]|2[0-4])$/.test(e.code)) key = e.code;
  else {
    const named: Record<string, string> = { Space: "Space", Enter: "Enter", Tab: "Tab", Home: "Home", End: "End", PageUp: "PageUp", PageDown: "PageDown", Insert: "Insert", Delete: "Delete", ArrowUp: "Up", ArrowDown: "Down", ArrowLeft: "Left", ArrowRight: "Right" };
    key = named[e.code] ?? null;
  }
  if (!key) return null;
  const mods = [e.ctrlKey || e.metaKey ? "CommandOrControl" : null, e.altKey ? "Alt" : null, e.shiftKey ? "Shift" : null].filter(Boolean);
  return [...mods, key].join("+");
}
