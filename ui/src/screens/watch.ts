// The Watch screen (built on the app2 branch; see /work/notes/app-contract.md).
import { h, replace } from "../lib/dom";

export function mount(root: HTMLElement): () => void {
  replace(root, h("section.screen.watch", { "data-testid": "screen-watch" }, h("h1", {}, "Watch"), h("p.muted", {}, "Coming soon.")));
  return () => {};
}
