// The Calls screen (built on the app2 branch; see /work/notes/app-contract.md).
import { h, replace } from "../lib/dom";

export function mount(root: HTMLElement): () => void {
  replace(root, h("section.screen.call", { "data-testid": "screen-call" }, h("h1", {}, "Calls"), h("p.muted", {}, "Coming soon.")));
  return () => {};
}
