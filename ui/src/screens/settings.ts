// The Settings screen (built on the app2 branch; see /work/notes/app-contract.md).
import { h, replace } from "../lib/dom";

export function mount(root: HTMLElement): () => void {
  replace(root, h("section.screen.settings", { "data-testid": "screen-settings" }, h("h1", {}, "Settings"), h("p.muted", {}, "Coming soon.")));
  return () => {};
}
