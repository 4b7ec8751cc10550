// The Settings screen: devices, relay and account, data folder, recording
// retention, global hotkeys.

import { live, recordings } from "../api";
import { chat } from "../api";
import { settings, type SettingsView } from "../api";
import { h, replace, toast } from "../lib/dom";
import { hotkeyClashes, parseHotkey, RETENTION_CHOICES, retentionLabel, validRelayUrl } from "../lib/settings";
import "./app2.css";

export function mount(root: HTMLElement): () => void {
  let disposed = false;
  const fail = (e: unknown) => toast(e instanceof Error ? e.message : String(e), "error");
  const screen = h("section.app2.settings-screen", { "data-testid": "screen-settings" });
  root.appendChild(screen);
  const devices = h("div.card", {}, h("h3", {}, "Devices"), h("p.muted", {}, "Looking for cameras, microphones and screens…"));
  const relayCard = h("div.card");
  const accountCard = h("div.card");
  const dataCard = h("div.card");
  const hotkeyCard = h("div.card");
  replace(screen, h("h2", {}, "Settings"), h("div.cards", {}, relayCard, accountCard, devices, dataCard, hotkeyCard));

  function renderRelay(v: SettingsView) {
    const input = h("input", { type: "text", placeholder: "empty: this app's own relay", value: v.relay_setting ?? "", "data-testid": "settings-relay" }) as HTMLInputElement;
    const insecure = h("input", { type: "checkbox", "data-testid": "settings-insecure-http" }) as HTMLInputElement;
    insecure.checked = v.insecure_http;
    const save = async () => {
      const url = input.value.trim() || null;
      const err = url ? validRelayUrl(url, insecure.checked) : null;
      if (err) return toast(err, "error");
      try {
        const restart = await settings.setRelay(url, insecure.checked);
        toast(restart ? "Saved: restart OnAir to switch relays" : "Saved");
      } catch (e) {
        fail(e);
      }
    };
    replace(
      relayCard,
      h("h3", {}, "Relay"),
      h("p", {}, "In use: ", h("code", { "data-testid": "settings-relay-now" }, v.relay.url), v.relay.embedded ? " (built in: runs inside this app)" : ""),
      v.relay_env ? h("p.muted", {}, `ONAIR_RELAY_URL is set for this run (${v.relay_env}).`) : null,
      h("label", {}, "Relay URL (https://relay.example.org)", input),
      h(
        "label.inline.check",
        {},
        insecure,
        " Allow plain http:// to a relay on another computer (your password and messages would not be encrypted)",
      ),
      h("div.row", {}, h("button.primary", { onclick: save }, "Save"), h("button", { onclick: () => ((input.value = ""), save()) }, "Use built-in relay")),
    );
  }

  async function renderAccount() {
    try {
      const s = await chat.status();
      replace(
        accountCard,
        h("h3", {}, "Account"),
        s.signed_in
          ? h("p", {}, "Signed in as ", h("b", {}, s.user ?? ""), ` on ${s.relay} — `, h("span", {}, s.online ? "online" : "offline"))
          : h("p.muted", {}, "Not signed in. Sign in or create an account on the Chat screen."),
        s.signed_in
          ? h(
              "div.row",
              {},
              h("button", { onclick: async () => ((await chat.signOut().catch(fail)), renderAccount()) }, "Sign out"),
              h("label.inline", {}, "Messages from ", privacySelect()),
            )
          : h("button", { onclick: () => (location.hash = "#/chat") }, "Go to Chat"),
      );
    } catch (e) {
      fail(e);
    }
  }

  function privacySelect() {
    const sel = h("select", {}, h("option", { value: "anyone" }, "anyone"), h("option", { value: "friends" }, "friends only")) as HTMLSelectElement;
    sel.onchange = () => chat.privacy(sel.value as "anyone" | "friends").then(() => toast("Saved"), fail);
    return sel;
  }

  async function renderDevices() {
    try {
      const d = await live.devices();
      if (disposed) return;
      const list = (title: string, r: { Ok?: string[]; Err?: string } | string[], hint: string) => {
        const items = Array.isArray(r) ? r : r.Ok;
        return h(
          "div",
          {},
          h("h4", {}, title),
          items === undefined ? h("p.muted", {}, `Unavailable: ${(r as { Err?: string }).Err ?? "unknown"}`) : items.length ? h("ul", {}, ...items.map((i) => h("li", {}, i.trim()))) : h("p.muted", {}, `None found — ${hint}`),
        );
      };
      replace(
        devices,
        h("h3", {}, "Devices"),
        list("Cameras", d.cameras, "use the test pattern, a file or the screen"),
        list("Microphones", d.microphones, "use the test tone or no audio"),
        list("Screens", d.screens, "no display found"),
        list("H.264 encoders", d.video_encoders, "none"),
      );
    } catch (e) {
      replace(devices, h("h3", {}, "Devices"), h("p.muted", {}, e instanceof Error ? e.message : String(e)));
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
    sel.onchange = () =>
      recordings.setRetention(sel.value ? Number(sel.value) : null).then(
        (n) => toast(n ? `Saved; ${n} old recording${n === 1 ? "" : "s"} deleted` : "Saved"),
        fail,
      );
    replace(
      dataCard,
      h("h3", {}, "Data"),
      h("p", {}, "Data folder: ", h("code", { "data-testid": "settings-home" }, v.home)),
      h("p.muted", {}, "Recordings, chat history and the built-in relay's rooms live here. Set ONAIR_HOME to use another folder."),
      h("label", {}, "Keep recordings (pinned ones are always kept)", sel),
      h("p.muted", {}, `OnAir ${v.version}`),
    );
  }

  function renderHotkeys(v: SettingsView) {
    const rec = h("input", { type: "text", value: v.hotkeys.record }) as HTMLInputElement;
    const bm = h("input", { type: "text", value: v.hotkeys.bookmark }) as HTMLInputElement;
    const save = async () => {
      const r = parseHotkey(rec.value);
      const b = parseHotkey(bm.value);
      if (!r.ok) return toast(`Record: ${r.error}`, "error");
      if (!b.ok) return toast(`Bookmark: ${b.error}`, "error");
      if (hotkeyClashes({ record: r.value, bookmark: b.value }).length) return toast("The two hotkeys must differ", "error");
      try {
        const saved = await settings.setHotkeys({ record: r.value, bookmark: b.value });
        rec.value = saved.record;
        bm.value = saved.bookmark;
        toast("Hotkeys saved");
      } catch (e) {
        fail(e);
      }
    };
    replace(
      hotkeyCard,
      h("h3", {}, "Global hotkeys"),
      h("p.muted", {}, "Work while OnAir is in the background."),
      h("label", {}, "Start/stop recording", rec),
      h("label", {}, "Add bookmark", bm),
      h("button.primary", { onclick: save }, "Save hotkeys"),
    );
  }

  (async () => {
    try {
      const v = await settings.get();
      if (disposed) return;
      renderRelay(v);
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
    screen.remove();
  };
}
