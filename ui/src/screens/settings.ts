// The Settings screen: language, relay and account, devices, data folder
// and recording retention, global hotkeys (recorded from a key press).

import { chat, live, on, recordings, settings, type SettingsView } from "../api";
import { audioOptions, cameraModeOptions, cameraOptions, devices, meterPercent, type DeviceChoice, type DevicesView } from "../lib/devices";
import { h, replace, toast } from "../lib/dom";
import { errorText, languageChoice, setLanguage, t, tn, type LangChoice } from "../lib/i18n";
import { hotkeyClashes, hotkeyFromEvent, parseHotkey, RETENTION_CHOICES, retentionLabel, validRelayUrl } from "../lib/settings";
import "./app2.css";

export function mount(root: HTMLElement): () => void {
  let disposed = false;
  const fail = (e: unknown) => toast(errorText(e), "error");
  const screen = h("section.app2.settings-screen", { "data-testid": "screen-settings" });
  root.appendChild(screen);
  const devicesCard = h("div.card", { "data-testid": "settings-devices" }, h("h3", {}, t("settings.devices")), h("p.muted", {}, t("settings.devices_looking")));
  const langCard = h("div.card");
  const relayCard = h("div.card");
  const accountCard = h("div.card");
  const dataCard = h("div.card");
  const hotkeyCard = h("div.card");
  replace(screen, h("header.screen-head", {}, h("h1", {}, t("settings.title"))), h("div.cards", {}, langCard, relayCard, accountCard, devicesCard, dataCard, hotkeyCard));

  function renderLanguage() {
    const sel = h(
      "select",
      { "data-testid": "settings-language" },
      ...(["auto", "en", "zh"] as const).map((l) => h("option", { value: l }, t(`settings.lang.${l}`))),
    ) as HTMLSelectElement;
    sel.value = languageChoice();
    sel.onchange = () => {
      setLanguage(sel.value as LangChoice);
      // The shell redraws itself and this screen in the new language.
      window.dispatchEvent(new CustomEvent("onair:language"));
    };
    replace(langCard, h("h3", {}, t("settings.language")), h("label", {}, t("settings.language"), sel));
  }

  function renderRelay(v: SettingsView) {
    const input = h("input", { type: "text", placeholder: t("settings.relay_placeholder"), value: v.relay_setting ?? "", "data-testid": "settings-relay" }) as HTMLInputElement;
    const insecure = h("input", { type: "checkbox", "data-testid": "settings-insecure-http" }) as HTMLInputElement;
    insecure.checked = v.insecure_http;
    const save = async () => {
      const url = input.value.trim() || null;
      const err = url ? validRelayUrl(url, insecure.checked) : null;
      if (err) return toast(err, "error");
      try {
        const restart = await settings.setRelay(url, insecure.checked);
        toast(restart ? t("settings.restart") : t("common.saved"));
      } catch (e) {
        fail(e);
      }
    };
    replace(
      relayCard,
      h("h3", {}, t("settings.relay")),
      h("p", {}, t("settings.relay_in_use"), " ", h("code", { "data-testid": "settings-relay-now" }, v.relay.url), v.relay.embedded ? ` ${t("settings.relay_builtin")}` : ""),
      v.relay_env ? h("p.muted", {}, t("settings.relay_env", { url: v.relay_env })) : null,
      h("label", {}, t("settings.relay_url"), input),
      h("label.check", {}, insecure, t("settings.insecure")),
      h("div.row", {}, h("button.primary", { onclick: save }, t("common.save")), h("button", { onclick: () => ((input.value = ""), save()) }, t("settings.use_builtin"))),
    );
  }

  async function renderAccount() {
    try {
      const s = await chat.status();
      if (disposed) return;
      replace(
        accountCard,
        h("h3", {}, t("settings.account")),
        s.signed_in ? h("p", {}, t("settings.signed_in_as", { user: s.user ?? "" })) : h("p.muted", {}, t("settings.not_signed_in")),
        s.signed_in
          ? h(
              "div.row.bottom",
              {},
              h("button", { onclick: async () => ((await chat.signOut().catch(fail)), renderAccount()) }, t("settings.sign_out")),
              h("label", {}, t("settings.messages_from"), privacySelect()),
            )
          : h("button", { onclick: () => (location.hash = "#/chat") }, t("settings.go_chat")),
      );
    } catch (e) {
      fail(e);
    }
  }

  function privacySelect() {
    const sel = h("select", {}, h("option", { value: "anyone" }, t("settings.from_anyone")), h("option", { value: "friends" }, t("settings.from_friends"))) as HTMLSelectElement;
    sel.onchange = () => chat.privacy(sel.value as "anyone" | "friends").then(() => toast(t("common.saved")), fail);
    return sel;
  }

  // Calls' audio processing: a switch kept under the device pickers (the
  // card is redrawn when a device changes; this node goes along).
  const processing = h("div.processing", { "data-testid": "settings-processing" });
  function renderProcessing(v: SettingsView) {
    const box = h("input", { type: "checkbox", "data-testid": "settings-audio-processing" }) as HTMLInputElement;
    box.checked = v.audio_processing;
    box.onchange = () =>
      settings.setAudioProcessing(box.checked).then(
        () => toast(t("common.saved")),
        (e) => ((box.checked = !box.checked), fail(e)),
      );
    replace(processing, h("label.check", {}, box, t("settings.dev.processing")), h("p.muted.small", {}, t("settings.dev.processing_note")));
  }

  // Devices: pickers saved for this machine, a live microphone level.
  let levelStop: (() => void) | null = null;
  async function renderDevices(v?: DevicesView) {
    try {
      const [d, other] = await Promise.all([v ? Promise.resolve(v) : devices.get(), live.devices().catch(() => null)]);
      if (disposed) return;
      const picker = (testid: string, label: string, opts: { value: string; label: string }[], value: string | null, key: keyof DeviceChoice) => {
        const sel = h("select", { "data-testid": testid }, ...opts.map((o) => h("option", { value: o.value }, o.label))) as HTMLSelectElement;
        sel.value = opts.some((o) => o.value === value) ? value ?? "" : "";
        sel.onchange = async () => {
          try {
            const next = await devices.set({ ...d.chosen, [key]: sel.value || null });
            toast(t("common.saved"));
            renderDevices(next);
          } catch (e) {
            fail(e);
          }
        };
        return h("label", {}, label, sel);
      };
      const bar = h("div.level-fill");
      const meter = h("div.level", { "data-testid": "mic-level", role: "meter", "aria-label": t("settings.dev.level") }, bar);
      levelStop?.();
      levelStop = on<{ dbfs: number }>("devices://level", (l) => {
        bar.style.width = `${meterPercent(l.dbfs)}%`;
        meter.dataset.dbfs = String(Math.round(l.dbfs));
      });
      if (d.microphone_source) devices.meter(d.microphone_source).catch(() => {});
      const names = (r: { Ok?: string[] } | string[] | undefined) => (Array.isArray(r) ? r : r?.Ok ?? []).map((x) => x.trim()).join(", ");
      replace(
        devicesCard,
        h("h3", {}, t("settings.devices")),
        h("p.muted", {}, t("settings.dev.note")),
        picker("dev-camera", t("settings.dev.camera"), cameraOptions(d), d.chosen.camera, "camera"),
        // A camera that lists its modes offers them (picture size and rate).
        cameraModeOptions(d).length > 1 ? picker("dev-camera-mode", t("settings.dev.camera_mode"), cameraModeOptions(d), d.chosen.camera_mode ?? null, "camera_mode") : null,
        picker("dev-microphone", t("settings.dev.microphone"), audioOptions(d.microphones), d.chosen.microphone, "microphone"),
        d.microphone_source ? h("div.level-row", {}, h("span.muted", {}, t("settings.dev.level")), meter) : h("p.muted", {}, t("settings.none_mics")),
        picker("dev-speaker", t("settings.dev.speaker"), audioOptions(d.speakers), d.chosen.speaker, "speaker"),
        processing,
        other ? h("p.muted.small", {}, `${t("settings.dev.more")}: ${[names(other.screens), names(other.video_encoders)].filter(Boolean).join("; ")}`) : null,
      );
    } catch (e) {
      replace(devicesCard, h("h3", {}, t("settings.devices")), h("p.muted", {}, errorText(e)), processing);
    }
  }

  async function renderData(v: SettingsView) {
    let days: number | null = null;
    try {
      days = await recordings.retention();
    } catch (e) {
      fail(e);
    }
    const choices = RETENTION_CHOICES.includes(days) ? RETENTION_CHOICES : [...RETENTION_CHOICES, days];
    const sel = h("select", { "data-testid": "settings-retention" }, ...choices.map((d) => h("option", { value: d === null ? "" : String(d), selected: d === days }, retentionLabel(d)))) as HTMLSelectElement;
    sel.onchange = () => recordings.setRetention(sel.value ? Number(sel.value) : null).then((n) => toast(n ? tn("settings.deleted", n) : t("common.saved")), fail);
    const encrypt = h("input", { type: "checkbox", "data-testid": "settings-encrypt" }) as HTMLInputElement;
    encrypt.checked = await recordings.encryption().catch(() => false);
    encrypt.onchange = () =>
      recordings.setEncryption(encrypt.checked).then(
        () => toast(t("common.saved")),
        (e) => ((encrypt.checked = !encrypt.checked), fail(e)),
      );
    replace(
      dataCard,
      h("h3", {}, t("settings.data")),
      h("p", {}, t("settings.data_folder"), " ", h("code", { "data-testid": "settings-home" }, v.home)),
      h("p.muted", {}, t("settings.data_note")),
      h("label", {}, t("settings.keep"), sel),
      h("label.check", {}, encrypt, t("settings.encrypt")),
      h("p.muted.small", {}, t("settings.encrypt_note")),
      h("p.muted", {}, t("settings.version", { version: v.version })),
    );
  }

  /** A field that records the next key combination pressed in it. */
  function hotkeyField(value: string, testid: string): HTMLInputElement {
    const input = h("input", { type: "text", readonly: true, value, "data-testid": testid }) as HTMLInputElement;
    input.addEventListener("keydown", (e) => {
      if (e.key === "Tab") return;
      e.preventDefault();
      const acc = hotkeyFromEvent(e);
      if (acc) input.value = acc;
    });
    return input;
  }

  function renderHotkeys(v: SettingsView) {
    const rec = hotkeyField(v.hotkeys.record, "settings-hotkey-record");
    const bm = hotkeyField(v.hotkeys.bookmark, "settings-hotkey-bookmark");
    const save = async () => {
      const r = parseHotkey(rec.value);
      const b = parseHotkey(bm.value);
      if (!r.ok) return toast(`${t("settings.hk_record")}: ${r.error}`, "error");
      if (!b.ok) return toast(`${t("settings.hk_bookmark")}: ${b.error}`, "error");
      if (hotkeyClashes({ record: r.value, bookmark: b.value }).length) return toast(t("settings.hk_differ"), "error");
      try {
        const saved = await settings.setHotkeys({ record: r.value, bookmark: b.value });
        rec.value = saved.record;
        bm.value = saved.bookmark;
        toast(t("settings.hk_saved"));
      } catch (e) {
        fail(e);
      }
    };
    replace(
      hotkeyCard,
      h("h3", {}, t("settings.hotkeys")),
      h("p.muted", {}, t("settings.hotkeys_note")),
      h("label", {}, t("settings.hk_record"), rec),
      h("label", {}, t("settings.hk_bookmark"), bm),
      h("div.row", {}, h("button.primary", { onclick: save }, t("settings.hk_save"))),
    );
  }

  renderLanguage();
  (async () => {
    try {
      const v = await settings.get();
      if (disposed) return;
      renderRelay(v);
      renderProcessing(v);
      renderData(v);
      renderHotkeys(v);
    } catch (e) {
      fail(e);
    }
    renderAccount();
    renderDevices();
  })();

  return () => {
    disposed = true;
    levelStop?.();
    devices.meter(null).catch(() => {});
    screen.remove();
  };
}
