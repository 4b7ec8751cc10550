// A tiny DOM helper instead of a framework: `h("button.primary", {onclick}, "Go")`.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, unknown>;

/** Creates an element. `tag` may carry `#id` and `.class` suffixes. */
/** Cast the result for element-specific fields: `h("input", …) as HTMLInputElement`. */
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const [name, ...rest] = tag.split(/(?=[.#])/);
  const el = document.createElement(name || "div");
  for (const part of rest) {
    if (part.startsWith("#")) el.id = part.slice(1);
    else el.classList.add(part.slice(1));
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && k !== "list" && k !== "form") (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, ...children);
  return el;
}

/**
 * A name the user chose (a room title, a conversation, a recording, a
 * destination) where its width is fixed: one line, cut with an ellipsis
 * (the `.clip` class), the whole name in its `title`.
 */
export function nameEl(tag: string, name: string, attrs: Attrs = {}): HTMLElement {
  return h(`${tag}.clip`, { title: name, ...attrs }, name);
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function replace(el: Node, ...children: Child[]): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, ...children);
}

let toastTimer: number | undefined;

/** A short message at the bottom of the window (errors, confirmations). */
export function toast(message: string, kind: "info" | "error" = "info"): void {
  const t = document.getElementById("toast");
  if (!t) return;
  t.textContent = message;
  t.className = `show ${kind}`;
  // The newest error, for tests: a toast is gone after 8 s.
  if (kind === "error") (window as unknown as { __onairLastError?: string }).__onairLastError = message;
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (t.className = ""), kind === "error" ? 8000 : 3000);
}
