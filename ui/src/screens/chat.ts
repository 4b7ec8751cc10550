// The Chat screen: sign in, conversations and groups with unread counts,
// messages with delivery states (retry, recall, burn-after-read), offline
// indicator, full-text search, friends and blocking.
//
// State lives in the Rust side's cache; this screen re-reads it when
// `chat://event` says something changed, so nothing here blocks on the
// network (a send returns its pending echo at once).

import { on } from "../api";
import { chat, type ChatPush, type ChatStatus, type To } from "../api";
import { burnView, BURN_CHOICES, nextTick } from "../lib/burn";
import { applyIncoming, convTitle, dmConvId, filterConversations, orderConversations, preview, totalUnread, unreadBadge, type ConvSummary } from "../lib/conversations";
import { h, replace, toast } from "../lib/dom";
import { friendActions, friendSections, presenceText, validUsername, type FriendInfo } from "../lib/friends";
import { canRecall, canRetry, clockTime, displayText, mergeHistory, messageBadge, withDaySeparators, type ChatMessage } from "../lib/messages";
import { callScreenFor } from "./call";
import "./app2.css";

export function mount(root: HTMLElement): () => void {
  let status: ChatStatus | null = null;
  let convs: ConvSummary[] = [];
  let open: { conv: string; to: To } | null = null;
  let msgs: ChatMessage[] = [];
  let friends: FriendInfo[] = [];
  let tab: "chats" | "friends" | "search" = "chats";
  let filter = "";
  let disposed = false;
  let burnTimer: number | undefined;
  let refreshTimer: number | undefined;

  const screen = h("section.app2.chat-screen", { "data-testid": "screen-chat" });
  root.appendChild(screen);

  const fail = (e: unknown) => toast(e instanceof Error ? e.message : String(e), "error");
  const me = () => status?.user ?? "";

  // ---- sign in ----
  function renderSignIn() {
    const user = h("input", { type: "text", placeholder: "user name (a-z 0-9 _ . -)", autocomplete: "username", "data-testid": "chat-user" }) as HTMLInputElement;
    const pass = h("input", { type: "password", placeholder: "password", autocomplete: "current-password", "data-testid": "chat-password" }) as HTMLInputElement;
    const go = async (register: boolean) => {
      const u = user.value.trim();
      if (!validUsername(u)) return toast("User names are 1–32 of a-z 0-9 _ . - and start with a letter or digit", "error");
      try {
        status = await chat.signIn(u, pass.value, register);
        pass.value = "";
        await refreshAll();
      } catch (e) {
        fail(e);
      }
    };
    replace(
      screen,
      h(
        "form.signin",
        { onsubmit: (e: Event) => (e.preventDefault(), go(false)) },
        h("h2", {}, "Chat"),
        h("p.muted", {}, status?.embedded ? `Relay: this app's own relay (${status.relay}) — other windows on this machine can join it.` : `Relay: ${status?.relay ?? ""}`),
        h("label", {}, "User", user),
        h("label", {}, "Password", pass),
        h("div.row", {}, h("button.primary", { type: "submit", "data-testid": "chat-signin" }, "Sign in"), h("button", { type: "button", "data-testid": "chat-register", onclick: () => go(true) }, "Create account")),
      ),
    );
    user.focus();
  }

  // ---- layout ----
  const onlineDot = h("span.online-dot", { "data-testid": "chat-online" });
  const who = h("span.who");
  const tabs = h("div.tabs");
  const side = h("div.side-list", { "data-testid": "chat-list" });
  const pane = h("div.pane", { "data-testid": "chat-pane" });
  const search = h("input", { type: "search", placeholder: "Search messages…", "data-testid": "chat-search" }) as HTMLInputElement;

  function renderShell() {
    const newTo = h("input", { type: "text", placeholder: "Chat with… (user name)", "data-testid": "chat-new-to" }) as HTMLInputElement;
    const startDm = () => {
      const u = newTo.value.trim();
      if (!validUsername(u)) return toast("Enter a user name", "error");
      newTo.value = "";
      openConv(dmConvId(me(), u), { user: u });
    };
    search.onkeydown = (e) => {
      if (e.key === "Enter") runSearch();
    };
    replace(
      screen,
      h(
        "aside.side",
        {},
        h("header.side-head", {}, onlineDot, who, h("button.small", { onclick: signOut, title: "Sign out" }, "Sign out")),
        search,
        h(
          "div.row",
          {},
          newTo,
          h("button", { onclick: startDm, "data-testid": "chat-open" }, "Open"),
          h("button", { onclick: newGroup, title: "New group" }, "+ Group"),
        ),
        tabs,
        side,
      ),
      pane,
    );
    newTo.onkeydown = (e) => {
      if (e.key === "Enter") startDm();
    };
    renderHead();
    renderTabs();
    renderSide();
    renderPane();
  }

  function renderHead() {
    const online = !!status?.online;
    onlineDot.className = `online-dot ${online ? "on" : "off"}`;
    onlineDot.textContent = online ? "online" : "offline";
    onlineDot.title = online ? `Connected to ${status?.relay}` : "Offline: history is from this device; messages wait in the outbox";
    who.textContent = me();
  }

  function renderTabs() {
    const unread = totalUnread(convs);
    const incoming = friends.filter((f) => f.state === "incoming").length;
    const t = (id: typeof tab, label: string, badge: string) =>
      h(`button.tab${tab === id ? ".active" : ""}`, { onclick: () => ((tab = id), renderTabs(), renderSide(), id === "friends" && loadFriends()) }, label, badge ? h("span.badge", {}, badge) : null);
    replace(tabs, t("chats", "Chats", unreadBadge(unread)), t("friends", "Friends", unreadBadge(incoming)), tab === "search" ? t("search", "Search", "") : null);
  }

  function renderSide() {
    if (tab === "chats") renderConvList();
    else if (tab === "friends") renderFriends();
  }

  function renderConvList() {
    const list = orderConversations(filterConversations(convs, me(), filter), me());
    const f = h("input.filter", { type: "text", placeholder: "Filter conversations", value: filter }) as HTMLInputElement;
    f.oninput = () => {
      filter = f.value;
      renderConvListItems(items);
    };
    const items = h("ul.convs");
    replace(side, f, items);
    renderConvListItems(items, list);
  }

  function renderConvListItems(items: HTMLElement, list = orderConversations(filterConversations(convs, me(), filter), me())) {
    replace(
      items,
      ...list.map((c) =>
        h(
          `li.conv${open?.conv === c.id ? ".active" : ""}`,
          { onclick: () => openConv(c.id, c.kind === "dm" ? { user: convTitle(c, me()) } : { conv: c.id }), "data-conv": c.id },
          h("div.conv-top", {}, h("span.conv-title", {}, (c.kind === "group" ? "👥 " : "") + convTitle(c, me())), unreadBadge(c.unread) ? h("span.badge", { "data-testid": "unread" }, unreadBadge(c.unread)) : null),
          h("div.conv-preview.muted", {}, preview(c, me()), c.pending ? ` · ${c.pending} queued` : ""),
        ),
      ),
      list.length ? null : h("li.muted", {}, "No conversations yet: open one with a user name."),
    );
  }

  function renderFriends() {
    const add = h("input", { type: "text", placeholder: "Add friend (user name)" }) as HTMLInputElement;
    const doAdd = () => friendAction("add", add.value.trim());
    add.onkeydown = (e) => {
      if (e.key === "Enter") doAdd();
    };
    const s = friendSections(friends);
    const now = Date.now();
    const section = (title: string, list: FriendInfo[]) =>
      list.length
        ? h(
            "div.friend-section",
            {},
            h("h4", {}, title),
            ...list.map((f) =>
              h(
                "div.friend",
                { "data-user": f.user },
                h(`span.presence.${f.state === "friends" && f.online ? "on" : "off"}`),
                h("span.friend-name", {}, f.user),
                h("span.muted", {}, presenceText(f, now)),
                h(
                  "span.actions",
                  {},
                  ...friendActions(f).map((a) =>
                    h(
                      "button.small",
                      {
                        onclick: () =>
                          a === "message" ? ((tab = "chats"), openConv(dmConvId(me(), f.user), { user: f.user })) : a === "call" ? callScreenFor(f.user) : friendAction(a, f.user),
                      },
                      a,
                    ),
                  ),
                ),
              ),
            ),
          )
        : null;
    replace(
      side,
      h("div.row", {}, add, h("button", { onclick: doAdd }, "Add")),
      section("Requests", s.incoming),
      section("Online", s.online),
      section("Offline", s.offline),
      section("Sent requests", s.outgoing),
      section("Blocked", s.blocked),
      friends.length ? null : h("p.muted", {}, "No friends yet."),
    );
  }

  async function friendAction(action: "add" | "accept" | "remove" | "block" | "unblock", user: string) {
    if (!validUsername(user)) return toast("Enter a user name", "error");
    if (action === "block" && !confirm(`Block ${user}? They can no longer message or call you.`)) return;
    try {
      await chat.friend(action, user);
      toast(`${action}: ${user}`);
      await loadFriends();
    } catch (e) {
      fail(e);
    }
  }

  async function newGroup() {
    const name = prompt("Group name");
    if (!name) return;
    const members = (prompt("Members (comma-separated user names)") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    try {
      const c = await chat.groupCreate(name, members);
      await loadConvs();
      openConv(c.id, { conv: c.id });
    } catch (e) {
      fail(e);
    }
  }

  // ---- messages ----
  const list = h("div.messages", { "data-testid": "chat-messages" });
  const input = h("textarea", { rows: 2, placeholder: "Write a message… (Enter sends, Shift+Enter for a new line)", "data-testid": "chat-input" }) as HTMLTextAreaElement;
  const burn = h(
    "select",
    { title: "Burn after read", "data-testid": "chat-burn" },
    ...BURN_CHOICES.map((b) => h("option", { value: b === null ? "" : String(b) }, b === null ? "🔥 off" : `🔥 ${b < 60 ? `${b}s` : b < 3600 ? `${b / 60}m` : `${b / 3600}h`}`)),
  ) as HTMLSelectElement;
  input.onkeydown = (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  };

  function renderPane() {
    if (!open) {
      replace(pane, h("div.empty.muted", {}, "Pick a conversation, or open one with a user name."));
      return;
    }
    const c = convs.find((x) => x.id === open!.conv);
    const title = c ? convTitle(c, me()) : "user" in open.to ? open.to.user : open.conv;
    const peer = "user" in open.to ? open.to.user : null;
    replace(
      pane,
      h(
        "header.pane-head",
        {},
        h("h3", { "data-testid": "chat-title" }, (c?.kind === "group" ? "👥 " : "") + title),
        c?.kind === "group" ? h("span.muted", {}, `${c.members.length} members`) : null,
        h(
          "span.actions",
          {},
          peer ? h("button.small", { onclick: () => callScreenFor(peer) }, "📞 Call") : null,
          peer ? h("button.small", { onclick: () => friendAction("block", peer) }, "Block") : null,
          c?.kind === "group" ? h("button.small", { onclick: () => groupAdd(c.id) }, "Add member") : null,
          c?.kind === "group" ? h("button.small", { onclick: () => groupLeave(c.id) }, "Leave") : null,
        ),
      ),
      list,
      h("div.composer", {}, input, burn, h("button.primary", { onclick: send, "data-testid": "chat-send" }, "Send")),
    );
    renderMessages();
  }

  function renderMessages() {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const now = Date.now();
    const online = !!status?.online;
    replace(
      list,
      ...withDaySeparators(msgs, now).map((r) => {
        if (r.kind === "day") return h("div.day", {}, r.label);
        const m = r.msg;
        const b = messageBadge(m, me(), online);
        const bv = burnView(m, now);
        if (bv.expired) return null;
        return h(
          `div.msg${m.from === me() ? ".mine" : ""}.state-${m.state}`,
          { "data-id": m.id, "data-state": m.state },
          m.from !== me() && open && !open.conv.startsWith("dm:") ? h("div.from", {}, m.from) : null,
          h("div.msg-text", {}, displayText(m)),
          h(
            "div.meta",
            {},
            h("span.time", {}, clockTime(m.sent_at)),
            bv.active ? h("span.burn", {}, bv.label) : null,
            b.text ? h(`span.state.${b.tone}`, { title: b.title, "data-testid": "msg-state" }, b.text) : null,
            canRetry(m, me()) ? h("button.link", { onclick: () => retry(m.id), "data-testid": "msg-retry" }, "Retry") : null,
            canRecall(m, me(), now) ? h("button.link", { onclick: () => recall(m.id) }, "Recall") : null,
          ),
        );
      }),
    );
    if (atBottom) list.scrollTop = list.scrollHeight;
    scheduleBurn();
  }

  function scheduleBurn() {
    window.clearTimeout(burnTimer);
    const t = nextTick(msgs, Date.now());
    if (t !== null && !disposed) burnTimer = window.setTimeout(renderMessages, t + 5);
  }

  async function openConv(conv: string, to: To) {
    open = { conv, to };
    msgs = [];
    tab = tab === "search" ? "chats" : tab;
    renderTabs();
    renderSide();
    renderPane();
    await loadHistory();
    input.focus();
  }

  async function loadHistory() {
    if (!open) return;
    const conv = open.conv;
    try {
      const fresh = await chat.history(conv);
      if (open?.conv !== conv) return;
      msgs = mergeHistory([], fresh);
      renderMessages();
      const c = convs.find((x) => x.id === conv);
      if (c && c.unread > 0 && document.visibilityState === "visible") {
        c.unread = 0;
        renderTabs();
        renderSide();
        await chat.read(conv);
        // Burn timers started with the read mark: show them.
        msgs = mergeHistory([], await chat.history(conv));
        renderMessages();
      }
    } catch (e) {
      fail(e);
    }
  }

  async function send() {
    if (!open) return;
    const text = input.value;
    if (!text.trim()) return;
    const burnSecs = burn.value ? Number(burn.value) : null;
    input.value = "";
    try {
      const m = await chat.send(open.to, text, burnSecs);
      msgs = mergeHistory(msgs, [m]);
      renderMessages();
      list.scrollTop = list.scrollHeight;
      convs = applyIncoming(convs, { conv: m.conv, from: m.from, text: m.text, sent_at: m.sent_at }, me(), open.conv);
      renderSide();
    } catch (e) {
      input.value = text;
      fail(e);
    }
  }

  async function retry(id: string) {
    try {
      const m = await chat.retry(id);
      msgs = mergeHistory(msgs, [m]);
      renderMessages();
    } catch (e) {
      fail(e);
    }
  }

  async function recall(id: string) {
    if (!confirm("Recall this message for everyone?")) return;
    try {
      await chat.recall(id);
      toast("Recalled");
    } catch (e) {
      fail(e);
    }
  }

  async function groupAdd(conv: string) {
    const u = prompt("Add which user?");
    if (!u) return;
    try {
      await chat.group("add", conv, u.trim());
    } catch (e) {
      fail(e);
    }
  }

  async function groupLeave(conv: string) {
    if (!confirm("Leave this group?")) return;
    try {
      await chat.group("leave", conv);
      open = null;
      await loadConvs();
      renderPane();
    } catch (e) {
      fail(e);
    }
  }

  async function runSearch() {
    const q = search.value.trim();
    if (!q) return;
    try {
      const hits = await chat.search(q);
      tab = "search";
      renderTabs();
      replace(
        side,
        h("p.muted", {}, `${hits.length} result${hits.length === 1 ? "" : "s"} for “${q}”`),
        h(
          "ul.convs",
          {},
          ...hits.map((m) => {
            const c = convs.find((x) => x.id === m.conv);
            const title = c ? convTitle(c, me()) : m.conv;
            return h(
              "li.conv",
              { onclick: () => openConv(m.conv, c?.kind === "group" || m.conv.startsWith("g:") ? { conv: m.conv } : { user: title }) },
              h("div.conv-top", {}, h("span.conv-title", {}, title), h("span.muted", {}, clockTime(m.sent_at))),
              h("div.conv-preview", {}, `${m.from}: ${displayText(m)}`),
            );
          }),
        ),
      );
    } catch (e) {
      fail(e);
    }
  }

  // ---- data ----
  async function loadConvs() {
    try {
      convs = await chat.conversations();
      renderTabs();
      if (tab === "chats") renderSide();
    } catch (e) {
      fail(e);
    }
  }

  async function loadFriends() {
    try {
      friends = await chat.friends();
      renderTabs();
      if (tab === "friends") renderSide();
    } catch (e) {
      // Offline: the list needs the relay; keep what we had.
      if (tab === "friends") toast(e instanceof Error ? e.message : String(e), "error");
    }
  }

  async function refreshAll() {
    try {
      status = await chat.status();
    } catch (e) {
      return fail(e);
    }
    if (disposed) return;
    if (!status.signed_in) return renderSignIn();
    renderShell();
    await loadConvs();
    loadFriends();
    if (open) await loadHistory();
  }

  async function signOut() {
    try {
      status = await chat.signOut();
      open = null;
      convs = [];
      renderSignIn();
    } catch (e) {
      fail(e);
    }
  }

  /** Coalesces bursts of events into one re-read. */
  function refreshSoon() {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(async () => {
      await loadConvs();
      await loadHistory();
    }, 60);
  }

  const unlisten = on<ChatPush>("chat://event", (p) => {
    if (disposed || !status) return;
    switch (p.kind) {
      case "online":
      case "offline":
        if (status.online !== (p.kind === "online")) {
          status = { ...status, online: p.kind === "online" };
          renderHead();
          if (open) renderMessages();
        }
        if (p.kind === "online") refreshSoon();
        break;
      case "signed_out":
        toast(`Signed out: ${p.reason}`, "error");
        refreshAll();
        break;
      case "event":
        if (p.ev.ev === "presence" || p.ev.ev === "friend") {
          loadFriends();
        } else {
          refreshSoon();
        }
        break;
      default:
        refreshSoon();
    }
  });

  // Events can race a status read (sign-in answers before the listener is
  // up; an event may land before `on` is registered), so while the screen
  // shows "offline" it re-reads the real state every 2 s.
  const reconcile = window.setInterval(async () => {
    if (disposed || !status?.signed_in || status.online) return;
    try {
      const now = await chat.status();
      if (disposed || !status) return;
      if (now.online !== status.online) {
        status = { ...status, online: now.online };
        renderHead();
        if (open) renderMessages();
        if (now.online) refreshSoon();
      }
    } catch {
      /* the next tick tries again */
    }
  }, 2000);

  refreshAll();

  return () => {
    disposed = true;
    window.clearInterval(reconcile);
    unlisten();
    window.clearTimeout(burnTimer);
    window.clearTimeout(refreshTimer);
    screen.remove();
  };
}
