import { describe, expect, it } from "vitest";
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
