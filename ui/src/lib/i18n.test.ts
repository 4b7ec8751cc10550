import { afterEach, describe, expect, it } from "vitest";
import type { ErrorCode } from "../generated/app";
import { CATALOGUE, errorText, placeholders, setLanguage, systemLang, t, tn } from "./i18n";

describe("the string catalogue", () => {
  const keys = (o: object) => Object.keys(o).sort();

  it("has every key in both languages, none empty", () => {
    expect(keys(CATALOGUE.zh)).toEqual(keys(CATALOGUE.en));
    for (const lang of ["en", "zh"] as const) {
      for (const [k, v] of Object.entries(CATALOGUE[lang])) expect(v.trim(), `${lang} ${k}`).not.toBe("");
    }
  });

  it("uses the same placeholders in both languages", () => {
    for (const [k, v] of Object.entries(CATALOGUE.en)) {
      expect(placeholders(CATALOGUE.zh[k as keyof typeof CATALOGUE.zh]), k).toEqual(placeholders(v));
    }
  });

  it("has both plural forms wherever it has one", () => {
    for (const k of Object.keys(CATALOGUE.en)) {
      if (k.endsWith(".one")) expect(CATALOGUE.en, k).toHaveProperty([k.replace(/\.one$/, ".other")]);
      if (k.endsWith(".other")) expect(CATALOGUE.en, k).toHaveProperty([k.replace(/\.other$/, ".one")]);
    }
  });

  it("follows the system language unless one is chosen", () => {
    expect(systemLang(["zh-CN", "en"])).toBe("zh");
    expect(systemLang(["zh-TW"])).toBe("zh");
    expect(systemLang(["en-GB"])).toBe("en");
    expect(systemLang([])).toBe("en");
  });

  it("fills placeholders and picks plural forms", () => {
    setLanguage("en");
    expect(t("strip.in_call", { peer: "bob" })).toBe("In a call with bob");
    expect(tn("rec.days", 1)).toBe("1 day");
    expect(tn("rec.days", 7)).toBe("7 days");
    setLanguage("zh");
    expect(t("strip.in_call", { peer: "bob" })).toBe("正在与 bob 通话");
    setLanguage("en");
  });
});

describe("errors in words", () => {
  it("maps the relay's codes to what to do, never the code's name", () => {
    setLanguage("en");
    const e = { code: "network", relay_code: "bad_credentials", message: "wrong user name or password" };
    expect(errorText(e)).toBe("Wrong user name or password. Check both and try again.");
    const nf = errorText({ code: "network", relay_code: "not_found", message: "no such room" });
    expect(nf).toContain("no such room");
    expect(nf).not.toMatch(/NotFound|not_found|refused/);
    setLanguage("zh");
    expect(errorText(e)).toBe("用户名或密码错误，请检查后重试。");
    setLanguage("en");
  });

  it("shows the app's own sentence for codes without a mapping", () => {
    expect(errorText({ code: "state", message: "stop first" })).toBe("stop first");
    expect(errorText({ code: "not_signed_in", message: "x" })).toMatch(/^Sign in first/);
    expect(errorText("boom")).toBe("boom");
  });
});

// Every refusal code the relay has (tsc holds this to the generated Rust enum).
const RELAY_CODES: Record<ErrorCode, true> = {
  bad_frame: true, too_large: true, unknown_type: true, unsupported_version: true, unauthorized: true, rate_limited: true,
  invalid: true, not_found: true, not_member: true, not_owner: true, blocked: true, stranger_refused: true, too_late: true,
  taken: true, bad_credentials: true, busy: true, offline: true, no_such_call: true, not_participant: true, wrong_state: true,
  bad_sdp: true, internal: true, banned_word: true, muted: true, kicked: true, quota_exceeded: true,
};
// `AppError::code()` in src-tauri/src/error.rs.
const APP_CODES = ["invalid", "not_found", "state", "media", "not_signed_in", "chat", "network", "cache", "keychain", "io", "internal"];
const CJK = /[\u4e00-\u9fff]/;

describe("error notifications in the user's language", () => {
  afterEach(() => setLanguage("en"));

  it("has a sentence for every relay refusal and app error code", () => {
    for (const code of Object.keys(RELAY_CODES)) expect(CATALOGUE.en, code).toHaveProperty([`error.relay.${code}`]);
    for (const code of APP_CODES) expect(CATALOGUE.en, code).toHaveProperty([`error.app.${code}`]);
  });

  it("words every refusal in Chinese: the relay's English only as a detail where the sentence names it", () => {
    setLanguage("zh");
    const english = "the relay's own English";
    for (const code of Object.keys(RELAY_CODES)) {
      const s = errorText({ code: "network", relay_code: code, message: english });
      expect(s, code).toMatch(CJK);
      // Most codes say it all; the rest (invalid, not_found…) carry the relay's words as their detail.
      if (!placeholders(CATALOGUE.zh[`error.relay.${code}` as keyof typeof CATALOGUE.zh]).includes("detail")) expect(s, code).not.toContain(english);
    }
    for (const code of APP_CODES) expect(errorText({ code, message: "engine words" }), code).toMatch(CJK);
  });

  it("takes a refusal it has no sentence for as a refusal, not as the network failing", () => {
    const e = { code: "network", relay_code: "some_new_code", message: "a newer relay's words" };
    expect(errorText(e)).toBe("The relay refused. (a newer relay's words)");
    setLanguage("zh");
    expect(errorText(e)).toMatch(/^中继拒绝了请求/);
  });

  it("says how long a kick lasts in words", () => {
    const e = { code: "network", relay_code: "kicked", message: "kicked from this room's chat for 301 more seconds" };
    expect(errorText(e)).toBe("The room's owner removed you from this chat for about 6 min.");
    setLanguage("zh");
    expect(errorText(e)).toBe("房主将你移出了此聊天，约 6 分钟。");
  });

  it("sends every error toast through the catalogue (errorText, sayError or t)", () => {
    // A toast of kind "error" whose text is not worded here would show the
    // engine's or relay's English in the Chinese UI.
    const files = import.meta.glob(["../main.ts", "../screens/*.ts"], { query: "?raw", import: "default", eager: true }) as Record<string, string>;
    expect(Object.keys(files).length).toBeGreaterThan(5);
    const raw: string[] = [];
    for (const [f, text] of Object.entries(files)) {
      for (const m of text.matchAll(/toast\(([^;]*), "error"\)/g)) {
        const arg = m[1].trim();
        const worded = /^(errorText|sayError|t|tn)\(/.test(arg) || /^`\$\{t\(/.test(arg) || /^err$/.test(arg);
        if (!worded) raw.push(`${f}: toast(${arg})`);
      }
    }
    expect(raw).toEqual([]);
  });
});
