// In-app modal dialogs instead of the browser's confirm()/prompt() (which
// WebKitGTK titles "JavaScript - tauri://localhost…" and draws in the
// system theme). Each returns a promise: true/false, or the fields' values
// (null when cancelled). Escape and the backdrop cancel; Enter confirms.

import { h } from "./dom";
import { t } from "./i18n";

interface Base {
  title: string;
  body?: string;
  /** The confirm button's label. */
  ok?: string;
  /** A destructive action: the confirm button is red. */
  danger?: boolean;
}

export interface Field {
  name: string;
  label: string;
  value?: string;
  placeholder?: string;
}

function open<T>(base: Base, content: HTMLElement[], result: () => T | null, cancelled: T | null): Promise<T | null> {
  return new Promise((resolve) => {
    const previous = document.activeElement as HTMLElement | null;
    const okBtn = h(`button.primary${base.danger ? ".danger" : ""}`, { type: "submit", "data-testid": "dialog-ok" }, base.ok ?? t("common.ok"));
    const cancelBtn = h("button", { type: "button", "data-testid": "dialog-cancel" }, t("common.cancel"));
    const titleId = `dialog-title-${Date.now()}`;
    const form = h(
      "form.modal",
      { role: "dialog", "aria-modal": "true", "aria-labelledby": titleId, "data-testid": "dialog" },
      h("h2", { id: titleId }, base.title),
      base.body ? h("p", {}, base.body) : null,
      ...content,
      h("div.row.modal-actions", {}, h("div.spacer"), cancelBtn, okBtn),
    );
    const backdrop = h("div.modal-backdrop", {}, form);
    const close = (v: T | null) => {
      backdrop.remove();
      document.removeEventListener("keydown", onKey, true);
      previous?.focus?.();
      resolve(v);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        close(cancelled);
      }
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      close(result());
    });
    cancelBtn.addEventListener("click", () => close(cancelled));
    backdrop.addEventListener("mousedown", (e) => {
      if (e.target === backdrop) close(cancelled);
    });
    document.addEventListener("keydown", onKey, true);
    document.body.appendChild(backdrop);
    (form.querySelector("input") ?? okBtn).focus();
  });
}

/** Asks before an action; true when confirmed. */
export async function confirmDialog(o: Base): Promise<boolean> {
  return (await open<boolean>(o, [], () => true, false)) ?? false;
}

/** Asks for a few text fields; their trimmed values, or null when cancelled. */
export function formDialog(o: Base & { fields: Field[] }): Promise<Record<string, string> | null> {
  const inputs = o.fields.map(
    (f) => h("input", { type: "text", name: f.name, value: f.value ?? "", placeholder: f.placeholder ?? "", "data-testid": `dialog-field-${f.name}`, autocomplete: "off" }) as HTMLInputElement,
  );
  const labels = o.fields.map((f, i) => h("label", {}, f.label, inputs[i]));
  return open(o, labels, () => Object.fromEntries(o.fields.map((f, i) => [f.name, inputs[i].value.trim()])), null);
}
