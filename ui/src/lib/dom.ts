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

/**
 * A redraw that waits while a mouse button is held down inside `el`: a
 * screen that redraws every second otherwise replaces the button between
 * its press and its release, and the click is lost (the browser fires
 * `click` only on the element that was pressed). The redraw asked for
 * meanwhile runs just after the release (after the click), or after 2 s
 * if the release never comes (dragged off the window). Returns the redraw
 * and a cleanup for the screen's unmount.
 */
export function pressSafe(el: HTMLElement, draw: () => void): { redraw: () => void; dispose: () => void } {
  let pressedAt: number | null = null;
  let pending = false;
  const press = () => (pressedAt = Date.now());
  const release = () => {
    if (pressedAt === null) return;
    pressedAt = null;
    if (pending) {
      pending = false;
      setTimeout(draw, 0);
    }
  };
  el.addEventListener("pointerdown", press, true);
  el.addEventListener("mousedown", press, true);
  for (const ev of ["pointerup", "mouseup", "pointercancel"]) window.addEventListener(ev, release, true);
  return {
    redraw: () => {
      if (pressedAt !== null && Date.now() - pressedAt < 2000) {
        pending = true;
        return;
      }
      pressedAt = null;
      draw();
    },
    dispose: () => {
      for (const ev of ["pointerup", "mouseup", "pointercancel"]) window.removeEventListener(ev, release, true);
    },
  };
}
