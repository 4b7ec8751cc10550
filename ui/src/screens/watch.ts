// The Watch screen: the relay's live-room directory (search, viewers,
// start time), a low-latency MSE player with the room's chat beside it
// and a quality menu (Auto, or a rung of the room's ladder), and replays
// in a <video> element that resume where they were after the network drops.

import { ApiError, on } from "../api";
import type { ChatPush } from "../api";
import { watch, type WatchRoom } from "../api";
import { h, nameEl, replace, toast } from "../lib/dom";
import { Abr, playLive, playReplay, qualityChoices, qualityName, rungPath, rungShown, type LivePlayer, type ReplayPlayer } from "../lib/livePlayer";
import { addComments, chatCount, sayError, type RoomComment } from "../lib/roomChat";
import { orderRooms, relayUrl, replayLabel, roomRow, searchRooms, withTicket } from "../lib/rooms";
import { errorText, t, tn } from "../lib/i18n";
import { icon } from "../lib/icons";
import { takeWantedRoom } from "../lib/liveNotice";
import type { Following } from "../generated/rooms";
import "./app2.css";

export function mount(root: HTMLElement): () => void {
  let relay = "";
  let rooms: WatchRoom[] = [];
  let query = "";
  let showAll = false;
  let current: WatchRoom | null = null;
  let player: LivePlayer | null = null;
  let replay: ReplayPlayer | null = null;
  /** The rendition a replay plays (its `renditions`; `source` by default). */
  let replayRendition = "source";
  // The viewer's quality choice ("auto" or a rung), kept from room to room.
  let quality = "auto";
  let abr: Abr | null = null;
  let comments: RoomComment[] = [];
  let inChat = 0;
  let joined: string | null = null;
  let disposed = false;
  /** What the user follows (`user:NAME`, `room:ID`) and who of them is live. */
  let following: Following = { follows: [], live: [] };

  const fail = (e: unknown) => toast(errorText(e), "error");

  const screen = h("section.app2.watch-screen", { "data-testid": "screen-watch" });
  const dir = h("div.directory", { "data-testid": "watch-rooms" });
  const followedLive = h("div.followed-live", { "data-testid": "watch-following" });
  const stage = h("div.stage");
  root.appendChild(screen);

  const search = h("input", { type: "search", placeholder: t("watch.search"), "data-testid": "watch-search" }) as HTMLInputElement;
  search.oninput = () => {
    query = search.value;
    renderDir();
  };
  const all = h("input", { type: "checkbox" }) as HTMLInputElement;
  all.onchange = () => {
    showAll = all.checked;
    load();
  };
  replace(
    screen,
    h("aside.side", {}, h("h1", {}, t("watch.title")), search, h("label.inline", {}, all, t("watch.include_offline")), h("button.small", { onclick: () => load() }, icon("refresh"), t("watch.refresh")), followedLive, dir),
    stage,
  );
  renderStage();

  function renderDir() {
    const now = Date.now();
    const list = orderRooms(searchRooms(rooms, query));
    replace(
      dir,
      ...list.map((r) => {
        const row = roomRow(r, now);
        return h(
          `div.room${current?.id === r.id ? ".active" : ""}`,
          { onclick: () => openRoom(r), "data-room": r.id },
          // A private room's cover needs a watch ticket: its row goes without.
          r.private || !r.cover_path ? null : h("img.room-cover", { src: relayUrl(relay, r.cover_path), alt: "", loading: "lazy", "data-cover": r.has_cover ? "own" : "default" }),
          h("div.room-title", {}, r.live ? h("span.live-dot", {}, t("strip.live")) : null, nameEl("span", row.title)),
          nameEl("div.muted", `${row.streamer}${row.category ? ` · ${row.category}` : ""}${r.followers ? ` · ${tn("watch.followers", r.followers)}` : ""}`),
          h("div.muted.room-when", {}, `${row.since} · ${row.viewers}`),
        );
      }),
      list.length ? null : h("p.muted", {}, rooms.length ? t("watch.no_match") : t("watch.none_live")),
    );
  }

  async function load() {
    try {
      relay ||= await watch.relay();
      rooms = await watch.rooms(showAll);
      renderDir();
      await loadFollowing();
      const wantedRoom = takeWantedRoom();
      const w = wantedRoom && rooms.find((r) => r.id === wantedRoom);
      if (w) void openRoom(w);
      // The open room's own line (viewers, live for) follows the directory.
      const fresh = current && rooms.find((r) => r.id === current!.id);
      if (fresh && current) {
        current = { ...current, viewers: fresh.viewers, started_at: fresh.started_at, ladder: fresh.ladder };
        renderRoomLine();
        renderQuality();
      }
    } catch (e) {
      fail(e);
    }
  }

  const video = h("video", { controls: true, muted: true, autoplay: true, playsinline: true, "data-testid": "watch-video" }) as HTMLVideoElement;
  const info = h("div.player-info.muted", { "data-testid": "watch-status" });
  const qualitySel = h("select", { "data-testid": "watch-quality", title: t("watch.quality"), "aria-label": t("watch.quality") }) as HTMLSelectElement;
  qualitySel.onchange = () => {
    if (replay) {
      // A replay's rendition: the same moment in the other file.
      replayRendition = qualitySel.value;
      replay.reload();
      return;
    }
    quality = qualitySel.value;
    const r = current;
    if (!r?.live) return;
    stopPlayer();
    void startLive(r);
  };
  const playerBar = h("div.row.player-bar", {}, qualitySel, info);
  const commentsEl = h("div.comments", { "data-testid": "watch-comments" });
  const countEl = h("span.muted");
  const sayInput = h("input", { type: "text", placeholder: t("watch.say"), maxlength: 500, "data-testid": "watch-say" }) as HTMLInputElement;
  sayInput.onkeydown = (e) => {
    if (e.key === "Enter") say();
  };
  const replaysEl = h("div.replays", { "data-testid": "watch-replays" });
  const roomLine = h("span.muted", { "data-testid": "watch-room-line" });
  const followBtn = h("button.small", { "data-testid": "watch-follow", onclick: () => void toggleFollow(false) }) as HTMLButtonElement;
  const followRoomBtn = h("button.small", { "data-testid": "watch-follow-room", onclick: () => void toggleFollow(true) }) as HTMLButtonElement;

  /** Follows the open room's streamer (or, with `room`, the room itself), or stops. */
  async function toggleFollow(room: boolean) {
    const r = current;
    if (!r) return;
    const target = room ? `room:${r.id}` : `user:${r.owner}`;
    const on = !following.follows.includes(target);
    const title = r.title || r.id;
    try {
      const st = await watch.follow(room ? r.id : r.owner, room, on);
      following = { ...following, follows: on ? [...following.follows, st.target] : following.follows.filter((x) => x !== st.target) };
      if (room) toast(on ? t("watch.followed_room", { room: title }) : t("watch.unfollowed_room", { room: title }));
      else toast(on ? t("watch.followed", { user: r.owner }) : t("watch.unfollowed", { user: r.owner }));
      load();
    } catch (e) {
      fail(e);
    }
  }

  function renderFollow() {
    const r = current;
    followBtn.hidden = !r;
    followRoomBtn.hidden = !r;
    if (!r) return;
    const on = following.follows.includes(`user:${r.owner}`);
    followBtn.dataset.following = String(on);
    replace(followBtn, icon(on ? "check" : "plus"), on ? t("watch.unfollow", { user: r.owner }) : t("watch.follow", { user: r.owner }));
    const onRoom = following.follows.includes(`room:${r.id}`);
    followRoomBtn.dataset.following = String(onRoom);
    replace(followRoomBtn, icon(onRoom ? "check" : "plus"), onRoom ? t("watch.unfollow_room") : t("watch.follow_room"));
  }

  /** "Live now from people you follow": also what a follower offline at the go-live finds. */
  async function loadFollowing() {
    try {
      following = await watch.following();
    } catch {
      following = { follows: [], live: [] };
    }
    if (disposed) return;
    replace(
      followedLive,
      ...(following.live.length
        ? [
            h("h4", {}, t("watch.following_live")),
            ...following.live.map((r) => h("button.small.followed-room", { "data-room": r.id, onclick: () => void openRoom(rooms.find((x) => x.id === r.id) ?? r) }, h("span.live-dot", {}, t("strip.live")), nameEl("span", `${r.owner}: ${r.title}`))),
          ]
        : []),
    );
    renderFollow();
  }
  // Autoplay needs the sound off; a hint on the picture says how to hear it.
  const soundHint = h("button.sound-hint", { "data-testid": "watch-sound-hint", onclick: () => ((video.muted = false), video.play().catch(() => {})) }, icon("volume"), t("watch.click_sound"));
  const syncHint = () => (soundHint.hidden = !video.muted);
  video.addEventListener("volumechange", syncHint);
  const playerBox = h("div.player", {}, video, soundHint);
  let replayIds = "";

  function renderRoomLine() {
    if (!current) return;
    const row = roomRow(current, Date.now());
    roomLine.textContent = `${t("watch.by", { user: current.owner })} · ${current.live ? `${row.since} · ${row.viewers}` : row.since}`;
  }

  function renderStage() {
    if (!current) {
      replace(stage, h("div.empty.muted", {}, t("watch.pick")));
      return;
    }
    replace(
      stage,
      h(
        "div.watch-main",
        {},
        h("header.pane-head", {}, nameEl("h3", current.title || current.id, { "data-testid": "watch-title" }), roomLine, h("span.actions", {}, followBtn, followRoomBtn)),
        playerBox,
        playerBar,
        h("h4", {}, t("watch.replays")),
        replaysEl,
      ),
      h("aside.room-chat", {}, h("header.pane-head", {}, h("h4", {}, t("watch.live_chat")), countEl), commentsEl, h("div.row", {}, sayInput, h("button", { onclick: say }, t("watch.send")))),
    );
    renderRoomLine();
    renderFollow();
    renderQuality();
    syncHint();
    renderComments();
  }

  /** The quality menu: what the open room offers (its ladder), Auto when there is a choice. */
  function renderQuality() {
    // While a replay plays the menu holds its renditions (set when it starts).
    if (replay) return;
    const choices = qualityChoices(current?.ladder ?? []);
    const have = [...qualitySel.options].map((o) => o.value).join();
    if (have !== choices.join()) {
      replace(
        qualitySel,
        ...choices.map((q) => {
          const n = qualityName(q);
          return h("option", { value: q }, t(n.key, { p: n.p }));
        }),
      );
    }
    qualitySel.value = choices.includes(quality) ? quality : choices[0];
    qualitySel.hidden = choices.length < 2;
  }

  function renderComments() {
    const atBottom = commentsEl.scrollHeight - commentsEl.scrollTop - commentsEl.clientHeight < 40;
    replace(commentsEl, ...comments.map((c) => h("div.comment", {}, h("b", {}, c.from), " ", c.text)), comments.length ? null : h("p.muted", {}, joined ? t("watch.no_comments") : t("watch.sign_in_chat")));
    countEl.textContent = joined ? chatCount(inChat) : "";
    if (atBottom) commentsEl.scrollTop = commentsEl.scrollHeight;
  }

  async function openRoom(r: WatchRoom) {
    // Clicking the room already playing keeps it playing.
    if (current?.id === r.id && player) return;
    stopPlayer();
    await leaveChat();
    current = r;
    screen.classList.add("room-open");
    comments = [];
    renderDir();
    renderStage();
    abr = null;
    if (r.live) void startLive(r);
    else info.textContent = t("watch.offline_pick");
    replayIds = "";
    loadReplays(r.id);
    joinChat(r.id);
  }

  /** A media URL on the relay; a private room's carries a fresh watch ticket. */
  async function mediaUrl(r: WatchRoom, path: string): Promise<string> {
    const url = relayUrl(relay, path);
    return r.private ? withTicket(url, (await watch.ticket(r.id)).ticket) : url;
  }

  // A live player that fails (a decoder or MSE error, the connection cut)
  // starts again on a fresh MediaSource, backing off to 5 s, for as long as
  // the room is open: what viewers expect of a live player.
  async function startLive(r: WatchRoom, attempt = 0) {
    const ladder = r.ladder?.length ? r.ladder : ["source"];
    const auto = quality === "auto";
    if (auto && (!abr || abr.rungs.join() !== ladder.filter((g) => g !== "audio").join())) abr = new Abr(ladder, Date.now());
    const rung = auto && abr ? abr.rung : ladder.includes(quality) ? quality : "source";
    const path = rung === "source" ? (r.mp4_path ?? rungPath(r.id, rung)) : rungPath(r.id, rung);
    info.textContent = attempt ? t("watch.reconnecting") : t("watch.connecting");
    let url: string;
    try {
      url = await mediaUrl(r, path);
    } catch (e) {
      info.textContent = t("watch.cannot_watch", { detail: errorText(e) });
      return;
    }
    if (disposed || current?.id !== r.id) return;
    // A player that stops moving (no first frame, or no new one) for this
    // long without an error starts again too: a stalled fetch or decoder
    // reports nothing.
    const STALL_MS = 12_000;
    let frames = -1;
    let moved = Date.now();
    const restart = (why: string) => {
      info.textContent = t("watch.retrying", { why });
      window.setTimeout(() => {
        if (disposed || player !== me || current?.id !== r.id) return;
        stopPlayer();
        void startLive(r, attempt + 1);
      }, Math.min(5000, 500 * 2 ** attempt));
    };
    const watchdog = window.setInterval(() => {
      if (disposed || player !== me) return window.clearInterval(watchdog);
      if (Date.now() - moved > STALL_MS) {
        window.clearInterval(watchdog);
        restart(t("watch.no_picture"));
      }
    }, 1000);
    const me = playLive(video, url, {
      onStats: (s) => {
        if (player !== me) return;
        if (s.frames !== frames) {
          frames = s.frames;
          moved = Date.now();
        }
        const line = { rung: rungShown(rung, s.height), s: s.behindS.toFixed(1) };
        info.textContent = s.error ? t("watch.error", { detail: s.error }) : t(auto ? "watch.auto_rung_behind" : "watch.rung_behind", line);
        info.dataset.frames = String(s.frames);
        info.dataset.rung = rung;
        info.dataset.size = `${s.width}x${s.height}`;
        // Auto: a new rung when this one falls behind or a stable stretch allows one higher.
        if (auto && abr && abr.sample(Date.now(), s) !== rung) {
          window.clearInterval(watchdog);
          stopPlayer();
          void startLive(r);
        }
      },
      onError: (e) => {
        if (player !== me) return;
        window.clearInterval(watchdog);
        restart(t("watch.cannot_play", { detail: e.message }));
      },
      onEnd: () => {
        window.clearInterval(watchdog);
        if (player === me) showEnded(r.id);
      },
    });
    player = me;
  }

  function stopPlayer() {
    player?.stop();
    player = null;
    replay?.stop();
    replay = null;
  }

  async function loadReplays(room: string) {
    try {
      const list = await watch.replays(room);
      if (current?.id !== room) return;
      // Redrawn only when the list changed, so a periodic check never swaps a button under the cursor.
      // (A replay's renditions come a little after it: they count as a change.)
      const ids = list.map((r) => `${r.path}:${r.renditions?.length ?? 0}`).join("|");
      if (ids === replayIds && replaysEl.childElementCount) return;
      replayIds = ids;
      replace(
        replaysEl,
        ...list.map((rp) =>
          h(
            "button.replay",
            {
              "data-renditions": String(rp.renditions?.length ?? 1),
              onclick: async () => {
                stopPlayer();
                const r = current;
                if (!r) return;
                const label = t("watch.replay_of", { label: replayLabel(rp) });
                info.textContent = label;
                info.dataset.replay = "playing";
                // A replay made with the room's ladder has renditions: the menu offers them.
                const names = (rp.renditions ?? []).map((x) => x.name);
                replayRendition = "source";
                replace(
                  qualitySel,
                  ...names.map((q) => {
                    const n = qualityName(q);
                    return h("option", { value: q }, t(n.key, { p: n.p }));
                  }),
                );
                qualitySel.value = "source";
                qualitySel.hidden = names.length < 2;
                const pathOf = () => rp.renditions?.find((x) => x.name === replayRendition)?.path ?? rp.path;
                const me = playReplay(
                  video,
                  () => mediaUrl(r, pathOf()),
                  (st) => {
                    if (replay !== me) return;
                    info.dataset.replay = st;
                    // Where it will resume (for tests and support: currentTime reads 0 while reloading).
                    info.dataset.resumeAt = me.position().toFixed(2);
                    info.textContent = st === "reconnecting" ? t("watch.reconnecting") : label;
                  },
                );
                replay = me;
              },
            },
            replayLabel(rp),
          ),
        ),
        list.length ? null : h("p.muted", {}, t("watch.no_replays")),
      );
    } catch (e) {
      fail(e);
    }
  }

  async function joinChat(room: string) {
    try {
      const j = await watch.join(room);
      if (current?.id !== room || disposed) return void watch.leave(room).catch(() => {});
      joined = room;
      inChat = j.viewers.length;
      comments = addComments([], j.recent);
      renderComments();
    } catch (e) {
      joined = null;
      renderComments();
      if (!(e instanceof ApiError && e.code === "not_signed_in")) fail(e);
    }
  }

  async function leaveChat() {
    if (!joined) return;
    const room = joined;
    joined = null;
    await watch.leave(room).catch(() => {});
  }

  async function say() {
    if (!current || !sayInput.value.trim()) return;
    const text = sayInput.value;
    sayInput.value = "";
    try {
      await watch.say(current.id, text);
    } catch (e) {
      sayInput.value = text;
      toast(sayError(e), "error");
    }
  }

  const unlisten = on<ChatPush>("chat://event", (p) => {
    if (disposed || !current) return;
    if (p.kind === "online" && current && !joined) joinChat(current.id);
    if (p.kind === "offline") joined = null;
    if (p.kind !== "event") return;
    const ev = p.ev as unknown as Record<string, unknown>;
    if (ev.room !== current.id) return;
    if (ev.ev === "room_comment") {
      comments = addComments(comments, [ev.comment as RoomComment]);
      renderComments();
    } else if (ev.ev === "room_viewer") {
      inChat = Number(ev.viewers) || 0;
      renderComments();
    } else if (ev.ev === "room_kicked" || ev.ev === "room_muted") {
      load();
    } else if (ev.ev === "room_live" && !current.live) {
      // The open room's streamer (followed) just went live: play it.
      const r = current;
      watch
        .room(r.id)
        .then((now) => {
          if (disposed || current?.id !== r.id || !now.live) return;
          current = now;
          stopPlayer();
          renderRoomLine();
          void startLive(now);
        })
        .catch(() => {});
    }
  });

  /** The live is over: say so (not a frozen last frame), and offer its replay once the relay lists it. */
  function showEnded(room: string) {
    // Only the live stops: a replay the viewer already started plays on.
    player?.stop();
    player = null;
    if (replay) return void load();
    const replayBtn = h("button.small", { "data-testid": "watch-ended-replay", hidden: true, onclick: () => replaysEl.querySelector<HTMLButtonElement>("button.replay")?.click() }, icon("play"), t("watch.ended_replay"));
    replace(info, h("strong", { "data-testid": "watch-ended" }, t("watch.ended")), " ", replayBtn);
    // The replay is finalised just after the live ends: ask again a few times.
    for (const ms of [0, 3000, 8000]) {
      window.setTimeout(async () => {
        if (disposed || current?.id !== room) return;
        await loadReplays(room);
        replayBtn.hidden = !replaysEl.querySelector("button.replay");
      }, ms);
    }
    load();
  }

  // A live that ends is told within seconds (the player alone sits on its
  // last frame while it retries): the open room's state is asked every 2 s.
  const liveCheck = window.setInterval(async () => {
    const r = current;
    if (disposed || !r || !r.live || document.hidden) return;
    try {
      const now = await watch.room(r.id);
      if (current?.id !== r.id) return;
      if (now.live) {
        // The ladder settles once the source's size is known (rungs above it drop out).
        current = { ...current, viewers: now.viewers, started_at: now.started_at, ladder: now.ladder };
        renderQuality();
        // The directory's row says the same count as the room's line (its
        // text in place: the list itself redraws every 10 s, so a click is
        // not lost to a row replaced under it).
        rooms = rooms.map((x) => (x.id === r.id ? { ...x, viewers: now.viewers, started_at: now.started_at } : x));
        const dirRow = rooms.find((x) => x.id === r.id);
        const when = dir.querySelector<HTMLElement>(`[data-room="${CSS.escape(r.id)}"] .room-when`);
        if (dirRow && when) {
          const row = roomRow(dirRow, Date.now());
          when.textContent = `${row.since} · ${row.viewers}`;
        }
        return renderRoomLine();
      }
      current = now;
      showEnded(r.id);
    } catch {
      /* the next tick asks again */
    }
  }, 2000);

  load();
  // The directory (viewers, who is live) and the open room's replays refresh by themselves.
  const timer = window.setInterval(() => {
    if (document.hidden) return;
    load();
    if (current) loadReplays(current.id);
  }, 10_000);

  return () => {
    disposed = true;
    window.clearInterval(timer);
    window.clearInterval(liveCheck);
    unlisten();
    stopPlayer();
    leaveChat();
    screen.remove();
  };
}
