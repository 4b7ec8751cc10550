// Settings view logic: relay URL and hotkey validation, retention choices.

/** A relay URL the chat client accepts: http://host:port (TLS via a proxy). */
export function validRelayUrl(url: string): string | null {
  const u = url.trim();
  const m = /^(?:http|ws):\/\/([^/\s]+)\/?$/.exec(u);
  if (!m) return "Use http://host:port";
  if (!/:\d{1,5}$/.test(m[1])) return "The URL needs a port, e.g. http://relay.example:7380";
  const port = Number(m[1].split(":").pop());
  if (port < 1 || port > 65535) return "The port must be 1–65535";
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
  if (!parts.length) return { ok: false, error: "Empty shortcut" };
  const mods = parts.filter((p) => MODS.some((m) => m.toLowerCase() === p.toLowerCase()));
  const keys = parts.filter((p) => !MODS.some((m) => m.toLowerCase() === p.toLowerCase()));
  if (!mods.length) return { ok: false, error: "Add a modifier (Ctrl, Alt, Shift…) so typing never triggers it" };
  if (keys.length !== 1) return { ok: false, error: "Use exactly one key besides the modifiers" };
  const key = keys[0].length === 1 ? keys[0].toUpperCase() : keys[0][0].toUpperCase() + keys[0].slice(1);
  if (!/^([A-Z0-9]|F([1-9]|1[0-9]|2[0-4])|Space|Enter|Tab|Home|End|PageUp|PageDown|Insert|Delete|Up|Down|Left|Right)$/.test(key))
    return { ok: false, error: `Unknown key ${keys[0]}` };
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
  if (days == null) return "Keep forever";
  if (days === 1) return "1 day";
  return `${days} days`;
}
