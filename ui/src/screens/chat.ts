// The Chat screen (built on the app2 branch; see /work/notes/app-contract.md).
import { h, replace } from "../lib/dom";

export function mount(root: HTMLElement): () => void {
  replace(root, h("section.screen.chat", { "data-testid": "screen-chat" }, h("h1", {}, "Chat"), h("p.muted", {}, "Coming soon.")));
  return () => {};
}
