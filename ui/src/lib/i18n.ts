// Every user-facing string goes through here: `t("key", { name: "bob" })`.
// The catalogue has English (strings/en.ts, the source of keys) and
// Simplified Chinese (strings/zh.ts); the language is the user's choice in
// Settings, else the system's. Errors from the Rust side are worded here
// too, from their codes, so the relay's internals never reach the screen.

import { en, type Key } from "./strings/en";
import { zh } from "./strings/zh";

export type { Key };
export type Lang = "en" | "zh";
export type LangChoice = "auto" | Lang;

export const CATALOGUE: Record<Lang, Record<Key, string>> = { en, zh };

const STORE_KEY = "onair.lang";

/** The system's language as OnAir speaks it (Chinese of any region → zh). */
export function systemLang(langs: readonly string[] = typeof navigator === "undefined" ? [] : navigator.languages ?? [navigator.language]): Lang {
  const first = langs.find(Boolean) ?? "en";
  return first.toLowerCase().startsWith("zh") ? "zh" : "en";
}

function stored(): LangChoice {
  try {
    const v = typeof localStorage === "undefined" ? null : localStorage.getItem(STORE_KEY);
    return v === "en" || v === "zh" ? v : "auto";
  } catch {
    return "auto";
  }
}

let lang: Lang = (() => {
  const c = stored();
  return c === "auto" ? systemLang() : c;
})();

export function currentLang(): Lang {
  return lang;
}

export function languageChoice(): LangChoice {
  return stored();
}

/** Sets the language (saved on this machine); callers redraw. */
export function setLanguage(choice: LangChoice): void {
  try {
    if (choice === "auto") localStorage.removeItem(STORE_KEY);
    else localStorage.setItem(STORE_KEY, choice);
  } catch {
    /* not saved: still used for this run */
  }
  lang = choice === "auto" ? systemLang() : choice;
  if (typeof document !== "undefined") document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

/** The `{name}` placeholders a string uses (the test checks both languages agree). */
export function placeholders(s: string): string[] {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

/** A string in the current language, `{name}` filled from `vars`. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const s = CATALOGUE[lang][key] ?? en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

/** `key.one` for 1, `key.other` otherwise, with `{n}`. */
export function tn(key: string, n: number, vars: Record<string, string | number> = {}): string {
  return t(`${key}.${n === 1 ? "one" : "other"}` as Key, { n, ...vars });
}

/** Whether the catalogue has a key (error codes not all have a sentence). */
export function has(key: string): key is Key {
  return key in en;
}

export interface ErrorLike {
  code?: string;
  relay_code?: string;
  message?: string;
}

/**
 * A sentence for an error from a command: the relay's refusal code and the
 * app's error code map to what to do; otherwise the Rust side's own
 * sentence (already plain, written for users) is shown as it is.
 */
export function errorText(e: unknown): string {
  const x: ErrorLike = e && typeof e === "object" ? (e as ErrorLike) : { message: String(e) };
  const detail = (x.message ?? "").trim();
  if (x.relay_code === "kicked") return t("error.relay.kicked", { detail: kickedFor(detail) });
  if (x.relay_code && has(`error.relay.${x.relay_code}`)) {
    return t(`error.relay.${x.relay_code}` as Key, { detail });
  }
  // A refusal this OnAir has no sentence for yet: still a refusal, not a network failure.
  if (x.relay_code) return t("error.relay.refused", { detail });
  if (x.code && has(`error.app.${x.code}`)) return t(`error.app.${x.code}` as Key, { detail });
  return detail || t("error.unknown");
}

/** How long a kick lasts, in words, from the relay's "… for N more seconds". */
export function kickedFor(message: string): string {
  const m = /(\d+) more seconds/.exec(message);
  return m ? t("error.kicked_for", { min: Math.max(1, Math.ceil(Number(m[1]) / 60)) }) : t("error.kicked_while");
}
