// The Chat screen: sign in, conversations and groups with unread counts,
// messages with delivery states (retry, recall, burn-after-read), offline
// indicator, full-text search, friends and blocking.
//
// State lives in the Rust side's cache; this screen re-reads it when
// `chat://event` says something changed, so nothing here blocks on the
// network (a send returns its pending echo at once).

import { on } from "../api";
import { chat, type ChatPush, type ChatStatus, type To } from "../api";
import { burnView, BURN_CHOICES, formatSecs, nextTick } from "../lib/burn";
import { applyIncoming, convTitle, dmConvId, filterConversations, orderConversations, preview, totalUnread, unreadBadge, type ConvSummary } from "../lib/conversations";
import { confirmDialog, formDialog } from "../lib/dialog";
import { h, nameEl, replace, toast } from "../lib/dom";
import { friendActions, friendSections, presenceText, validUsername, type FriendInfo } from "../lib/friends";
import { errorText, t, tn } from "../lib/i18n";
import { icon, type IconName } from "../lib/icons";
import { MAX_SEND_BYTES, openSaved, previewable, previewUrl, saveAttachment, sendFile, uploadPercent, type UploadProgress } from "../lib/attachments";
import { canRecall, canRetry, clockTime, displayText, formatBytes, mergeHistory, messageBadge, withDaySeparators, type ChatMessage } from "../lib/messages";
import { callScreenFor } from "./call";
import "./app2.css";

const ACTION_ICONS: Partial<Record<string, IconName>> = { accept: "check", remove: "close", block: "block", unblock: "check", message: "chat", call: "phone" };

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

  const fail = (e: unknown) => toast(errorText(e), "error");
  const me = () => status?.user ?? "";

  // ---- sign in ----
  function renderSignIn() {
    const user = h("input", { type: "text", placeholder: t("chat.user_placeholder"), autocomplete: "username", "data-testid": "chat-user" }) as HTMLInputElement;
    const pass = h("input", { type: "password", placeholder: t("chat.password"), autocomplete: "current-password", "data-testid": "chat-password" }) as HTMLInputElement;
    const go = async (register: boolean) => {
      // User names are lower case: "Alice" signs in as "alice".
      const u = user.value.trim().toLowerCase();
      if (!validUsername(u)) return toast(t("chat.bad_name"), "error");
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
        h("h1", {}, t("chat.title")),
        h("p.muted", {}, status?.embedded ? t("chat.relay_own", { url: status.relay }) : t("chat.relay", { url: status?.relay ?? "" })),
        h("label", {}, t("chat.user"), user),
        h("label", {}, t("chat.password"), pass),
        h("div.row", {}, h("button.primary", { type: "submit", "data-testid": "chat-signin" }, t("chat.sign_in")), h("button", { type: "button", "data-testid": "chat-register", onclick: () => go(true) }, t("chat.register"))),
      ),
    );
    user.focus();
  }

  // ---- layout ----
  const onlineDot = h("span.online-dot", { "data-testid": "chat-online" });
  const who = h("span.who.clip");
  const tabs = h("div.tabs");
  const side = h("div.side-list", { "data-testid": "chat-list" });
  const pane = h("div.pane", { "data-testid": "chat-pane" });
  const search = h("input", { type: "search", placeholder: t("chat.search"), "data-testid": "chat-search" }) as HTMLInputElement;

  function renderShell() {
    const newTo = h("input", { type: "text", placeholder: t("chat.new_to"), "data-testid": "chat-new-to" }) as HTMLInputElement;
    const startDm = () => {
      const u = newTo.value.trim().toLowerCase();
      if (!validUsername(u)) return toast(t("chat.enter_name"), "error");
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
        h("header.side-head", {}, h("h1", {}, t("chat.title")), who, onlineDot, h("button.small", { onclick: signOut }, t("chat.sign_out"))),
        search,
        h(
          "div.row.new-chat",
          {},
          newTo,
          h("button", { onclick: startDm, "data-testid": "chat-open" }, t("chat.open")),
          h("button", { onclick: newGroup, "data-testid": "chat-new-group" }, icon("group"), t("chat.new_group")),
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
    onlineDot.textContent = online ? t("chat.online") : t("chat.offline");
    onlineDot.title = online ? t("chat.online_title", { url: status?.relay ?? "" }) : t("chat.offline_title");
    who.textContent = me();
    who.title = me();
  }

  function renderTabs() {
    const unread = totalUnread(convs);
    const incoming = friends.filter((f) => f.state === "incoming").length;
    const tb = (id: typeof tab, label: string, badge: string) =>
      h(`button.tab${tab === id ? ".active" : ""}`, { onclick: () => ((tab = id), renderTabs(), renderSide(), id === "friends" && loadFriends()) }, label, badge ? h("span.badge", {}, badge) : null);
    replace(tabs, tb("chats", t("chat.tab.chats"), unreadBadge(unread)), tb("friends", t("chat.tab.friends"), unreadBadge(incoming)), tab === "search" ? tb("search", t("chat.tab.search"), "") : null);
  }

  function renderSide() {
    if (tab === "chats") renderConvList();
    else if (tab === "friends") renderFriends();
  }

  function renderConvList() {
    const list = orderConversations(filterConversations(convs, me(), filter), me());
    const f = h("input.filter", { type: "text", placeholder: t("chat.filter"), value: filter }) as HTMLInputElement;
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
          h("div.conv-top", {}, h("span.conv-title", {}, c.kind === "group" ? h("span", { title: t("chat.group") }, icon("group")) : null, nameEl("span", convTitle(c, me()))), unreadBadge(c.unread) ? h("span.badge", { "data-testid": "unread" }, unreadBadge(c.unread)) : null),
          h("div.conv-preview.muted", {}, preview(c, me()), c.pending ? ` · ${t("chat.queued", { n: c.pending })}` : ""),
        ),
      ),
      list.length ? null : h("li.muted", {}, t("chat.no_convs")),
    );
  }

  function renderFriends() {
    const add = h("input", { type: "text", placeholder: t("chat.add_friend"), "data-testid": "friend-add" }) as HTMLInputElement;
    const doAdd = () => friendAction("add", add.value.trim().toLowerCase());
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
                h("span.who-col", {}, h("span.friend-name", { title: f.user }, f.user), h("span.muted", {}, presenceText(f, now))),
                h(
                  "span.actions",
                  {},
                  ...friendActions(f).map((a) =>
                    h(
                      "button.small",
                      {
                        "data-action": a,
                        onclick: () =>
                          a === "message" ? ((tab = "chats"), openConv(dmConvId(me(), f.user), { user: f.user })) : a === "call" ? callScreenFor(f.user) : friendAction(a, f.user),
                      },
                      ACTION_ICONS[a] ? icon(ACTION_ICONS[a]!) : null,
                      t(`chat.action.${a}`),
                    ),
                  ),
                ),
              ),
            ),
          )
        : null;
    replace(
      side,
      h("div.row", {}, add, h("button", { onclick: doAdd }, icon("plus"), t("chat.action.add"))),
      section(t("chat.sec.requests"), s.incoming),
      section(t("chat.sec.online"), s.online),
      section(t("chat.sec.offline"), s.offline),
      section(t("chat.sec.sent"), s.outgoing),
      section(t("chat.sec.blocked"), s.blocked),
      friends.length ? null : h("p.muted", {}, t("chat.no_friends")),
    );
  }

  async function friendAction(action: "add" | "accept" | "remove" | "block" | "unblock", user: string) {
    if (!validUsername(user)) return toast(t("chat.enter_name"), "error");
    if (action === "block" && !(await confirmDialog({ title: t("chat.block_title", { user }), body: t("chat.block_body"), ok: t("chat.action.block"), danger: true }))) return;
    try {
      await chat.friend(action, user);
      toast(t(`chat.done.${action}`, { user }));
      await loadFriends();
    } catch (e) {
      fail(e);
    }
  }

  async function newGroup() {
    const v = await formDialog({
      title: t("chat.group_title"),
      ok: t("chat.group_create"),
      fields: [
        { name: "name", label: t("chat.group_name") },
        { name: "members", label: t("chat.group_members"), placeholder: "bob, carol" },
      ],
    });
    if (!v || !v.name) return;
    const members = v.members.split(/[,，\s]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
    try {
      const c = await chat.groupCreate(v.name, members);
      await loadConvs();
      openConv(c.id, { conv: c.id });
    } catch (e) {
      fail(e);
    }
  }

  // ---- messages ----
  const list = h("div.messages", { "data-testid": "chat-messages" });
  const input = h("textarea", { rows: 2, placeholder: t("chat.write"), "data-testid": "chat-input" }) as HTMLTextAreaElement;
  const burn = h(
    "select",
    { title: t("chat.burn"), "aria-label": t("chat.burn"), "data-testid": "chat-burn" },
    ...BURN_CHOICES.map((b) => h("option", { value: b === null ? "" : String(b) }, b === null ? t("chat.burn_off") : `${t("chat.burn")} ${formatSecs(b)}`)),
  ) as HTMLSelectElement;
  // Files: the paperclip button or a drop anywhere on the conversation.
  const filePick = h("input", { type: "file", multiple: true, hidden: true, "data-testid": "chat-file" }) as HTMLInputElement;
  filePick.onchange = () => {
    sendFiles(Array.from(filePick.files ?? []));
    filePick.value = "";
  };
  const uploads = h("div.uploads", { "data-testid": "chat-uploads" });
  let uploadSeq = 0;
  input.onkeydown = (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  };

  function renderPane() {
    if (!open) {
      replace(pane, h("div.empty.muted", {}, t("chat.pick")));
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
        h("h2.clip", { "data-testid": "chat-title", title }, c?.kind === "group" ? icon("group") : null, " ", title),
        c?.kind === "group" ? h("span.muted", {}, tn("chat.members", c.members.length)) : null,
        h(
          "span.actions",
          {},
          peer ? h("button.small", { onclick: () => callScreenFor(peer) }, icon("phone"), t("chat.call")) : null,
          peer ? h("button.small", { onclick: () => friendAction("block", peer) }, icon("block"), t("chat.block")) : null,
          c?.kind === "group" ? h("button.small", { onclick: () => groupAdd(c.id) }, icon("plus"), t("chat.add_member")) : null,
          c?.kind === "group" ? h("button.small", { onclick: () => groupLeave(c.id) }, t("chat.leave")) : null,
        ),
      ),
      list,
      uploads,
      h(
        "div.composer",
        {},
        filePick,
        h("button.icon-only", { title: t("chat.attach"), "aria-label": t("chat.attach"), onclick: () => filePick.click(), "data-testid": "chat-attach" }, icon("paperclip")),
        input,
        burn,
        h("button.primary", { onclick: send, "data-testid": "chat-send" }, icon("send"), t("chat.send")),
      ),
      h("div.drop-hint", {}, t("chat.drop")),
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
          m.from !== me() && open && !open.conv.startsWith("dm:") ? nameEl("div.from", m.from) : null,
          m.attachment && m.state !== "recalled" ? attachmentView(m.attachment) : null,
          // A file alone has no text line (its name is on the file's row).
          h("div.msg-text", {}, m.attachment && !m.text && m.state !== "recalled" ? "" : displayText(m)),
          h(
            "div.meta",
            {},
            h("span.time", {}, clockTime(m.sent_at)),
            bv.active ? h("span.burn", {}, icon("flame"), bv.label) : null,
            b.text ? h(`span.state.${b.tone}`, { title: b.title, "data-testid": "msg-state" }, b.text) : null,
            canRetry(m, me()) ? h("button.link", { onclick: () => retry(m.id), "data-testid": "msg-retry" }, t("chat.retry")) : null,
            canRecall(m, me(), now) ? h("button.link", { onclick: () => recall(m.id) }, t("chat.recall")) : null,
          ),
        );
      }),
    );
    if (atBottom) list.scrollTop = list.scrollHeight;
    scheduleBurn();
  }

  /** A file in a message: an inline preview for images, Save and then Open for any file. */
  function attachmentView(a: NonNullable<ChatMessage["attachment"]>) {
    const img = previewable(a.mime) ? (h("img.att-preview", { alt: a.name, "data-testid": "att-preview" }) as HTMLImageElement) : null;
    if (img) {
      previewUrl(a.id, a.mime).then(
        (url) => (img.src = url),
        () => img.replaceWith(h("span.muted", {}, t("chat.file_preview_failed"))),
      );
    }
    const actions = h("span.att-actions");
    const save = h(
      "button.small",
      {
        "data-testid": "att-save",
        onclick: async () => {
          try {
            const path = await saveAttachment(a.id, a.name);
            toast(t("chat.file_saved", { path }));
            replace(actions, h("button.small", { "data-testid": "att-open", "data-path": path, title: path, onclick: () => openSaved(path).catch(fail) }, t("chat.file_open")));
          } catch (e) {
            fail(e);
          }
        },
      },
      icon("download"),
      t("chat.file_save"),
    );
    replace(actions, save);
    return h("div.attachment", { "data-att": a.id }, img, h("div.att-row", {}, icon("paperclip"), h("span.att-name", { title: a.name }, a.name), h("span.muted", {}, formatBytes(a.size)), actions));
  }

  async function sendFiles(files: File[]) {
    if (!open) return;
    const to = open.to;
    const burnSecs = burn.value ? Number(burn.value) : null;
    for (const f of files) {
      if (f.size > MAX_SEND_BYTES) {
        toast(t("chat.too_large", { name: f.name, mb: MAX_SEND_BYTES / (1024 * 1024) }), "error");
        continue;
      }
      const id = `u${++uploadSeq}`;
      const bar = h("progress", { max: 100, value: 0 }) as HTMLProgressElement;
      const label = h("span", {}, t("chat.uploading", { name: f.name, pct: 0 }));
      const row = h("div.upload", { "data-upload": id }, label, bar);
      uploads.appendChild(row);
      const stop = on<UploadProgress>("chat://upload", (p) => {
        if (p.upload !== id) return;
        const pct = uploadPercent(p.sent, p.total);
        bar.value = pct;
        label.textContent = t("chat.uploading", { name: f.name, pct });
      });
      try {
        const m = await sendFile(id, to, f, "", burnSecs);
        if (open?.conv === m.conv) {
          msgs = mergeHistory(msgs, [m]);
          renderMessages();
          list.scrollTop = list.scrollHeight;
        }
      } catch (e) {
        toast(t("chat.upload_failed", { name: f.name, detail: errorText(e) }), "error");
      } finally {
        stop();
        row.remove();
      }
    }
  }

  // Dropping files on the conversation sends them (the window lets the
  // webview handle drops: dragDropEnabled is off in tauri.conf.json).
  pane.addEventListener("dragover", (e) => {
    if (!open || !e.dataTransfer?.types.includes("Files")) return;
    e.preventDefault();
    pane.classList.add("dropping");
  });
  pane.addEventListener("dragleave", (e) => {
    if (e.target === pane || !pane.contains(e.relatedTarget as Node)) pane.classList.remove("dropping");
  });
  pane.addEventListener("drop", (e) => {
    pane.classList.remove("dropping");
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (!open || !files.length) return;
    e.preventDefault();
    sendFiles(files);
  });

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
    if (!(await confirmDialog({ title: t("chat.recall_title"), body: t("chat.recall_body"), ok: t("chat.recall"), danger: true }))) return;
    try {
      await chat.recall(id);
      toast(t("chat.recalled_toast"));
    } catch (e) {
      fail(e);
    }
  }

  async function groupAdd(conv: string) {
    const v = await formDialog({ title: t("chat.add_member_title"), ok: t("common.add"), fields: [{ name: "user", label: t("chat.add_member_field") }] });
    const u = v?.user.toLowerCase();
    if (!u) return;
    try {
      await chat.group("add", conv, u);
    } catch (e) {
      fail(e);
    }
  }

  async function groupLeave(conv: string) {
    if (!(await confirmDialog({ title: t("chat.leave_title"), body: t("chat.leave_body"), ok: t("chat.leave"), danger: true }))) return;
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
        h("p.muted", { "data-testid": "chat-search-count" }, tn("chat.results", hits.length, { q })),
        h(
          "ul.convs",
          {},
          ...hits.map((m) => {
            const c = convs.find((x) => x.id === m.conv);
            const title = c ? convTitle(c, me()) : m.conv;
            return h(
              "li.conv",
              { onclick: () => openConv(m.conv, c?.kind === "group" || m.conv.startsWith("g:") ? { conv: m.conv } : { user: title }) },
              h("div.conv-top", {}, h("span.conv-title", {}, nameEl("span", title)), h("span.muted", {}, clockTime(m.sent_at))),
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
      if (tab === "friends") toast(errorText(e), "error");
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
        toast(t("chat.signed_out", { reason: p.reason }), "error");
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
