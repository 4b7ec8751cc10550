//! `onair room …`: live rooms on the relay (create, list, key rotation),
//! and `relay://ROOM` for `onair live` (a publish ticket, not the key).

use super::chat_common::{home, json_line, runtime};
use anyhow::{bail, Context};
use clap::Subcommand;
use onair_chat::account::{self, Credentials};
use onair_chat::net::{Http, RelayUrl};
use onair_chat::rooms::{self, RoomKey};
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// Create a room; prints its id, RTMP URL and stream key — the key is
    /// shown this once (the relay keeps only its hash).
    Create {
        title: String,
        #[arg(long, default_value = "")]
        category: String,
        /// Only you and the members you add (onair room members ROOM add USER)
        /// may watch its live and replays; it is not in others' directory.
        #[arg(long)]
        private: bool,
        /// The renditions viewers may choose, e.g. source,720p,480p,360p,audio
        /// (made by the relay while watched; none above the source). Default:
        /// the relay's --ladder.
        #[arg(long, value_name = "RUNGS")]
        ladder: Option<String>,
        /// One JSON object: id, stream_key, rtmp_url, hls_url, title, category, private, ladder.
        #[arg(long)]
        json: bool,
    },
    /// The directory: rooms live now (--all: every room).
    List {
        #[arg(long)]
        all: bool,
        /// Only titles containing this text.
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// One JSON object per room.
        #[arg(long)]
        json: bool,
    },
    /// Recorded lives of a room, newest first (playable over HTTP with seeking).
    Replays {
        room: String,
        #[arg(long)]
        json: bool,
    },
    /// Who may watch a private room besides you: list (default), add USER, remove USER.
    Members {
        room: String,
        #[arg(value_enum, default_value = "list")]
        action: MembersAction,
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A room's live chat: join, post (--send), follow (--listen).
    Chat(super::room_chat::ChatArgs),
    /// Silence USER in ROOM's chat (the room's owner only).
    Mute { room: String, user: String },
    /// Lift a mute (the room's owner only).
    Unmute { room: String, user: String },
    /// Remove USER from ROOM's chat; they cannot rejoin for --secs (default: the relay's, 300 s).
    Kick {
        room: String,
        user: String,
        #[arg(long)]
        secs: Option<u32>,
    },
    /// End ROOM's live now (owner only): the publisher is disconnected.
    Stop { room: String },
    /// A new stream key for ROOM (owner only), shown this once; a publisher
    /// live on the old key is disconnected and the old key stops working.
    Rotate {
        room: String,
        #[arg(long)]
        json: bool,
    },
    /// Stream keys are shown once: this explains how to get a new one.
    Key {
        room: String,
        /// The same as `onair room rotate ROOM`.
        #[arg(long)]
        rotate: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MembersAction {
    List,
    Add,
    Remove,
}

fn creds() -> anyhow::Result<(Credentials, Http)> {
    let c = account::load(&home()).context("live rooms need a signed-in account (onair account login)")?;
    let http = Http::new(RelayUrl::parse(&c.relay)?);
    Ok((c, http))
}

pub async fn get<T: serde::de::DeserializeOwned>(http: &Http, path: &str, token: Option<&str>) -> anyhow::Result<T> {
    let (status, bytes) = http.call(onair_chat::net::Method::GET, path, token, "application/json", Vec::new()).await?;
    Ok(onair_chat::net::http_decode(status, &bytes)?)
}

fn key_json(k: &RoomKey, relay: &str) -> Value {
    serde_json::json!({
        "id": k.id, "title": k.title, "category": k.category, "private": k.private, "ladder": k.ladder,
        "stream_key": k.stream_key, "rtmp_url": k.rtmp_url.as_ref().map(|u| format!("{u}")), "rtmps_url": k.rtmps_url,
        "hls_url": format!("{relay}{}", k.hls_path),
    })
}

fn print_key(k: &RoomKey, relay: &str, json: bool, verb: &str) {
    if json {
        json_line(&key_json(k, relay));
        return;
    }
    println!("{verb} room {} ({}){}", k.id, k.title, if k.private { ", private" } else { "" });
    if let Some(url) = k.rtmps_url.as_deref().or(k.rtmp_url.as_deref()) {
        println!("  publish:    {url}");
    }
    if k.ladder.len() > 1 {
        println!("  quality:    {}", k.ladder.join(", "));
    }
    println!("  stream key: {}", k.stream_key);
    println!("  This key will not be shown again: copy it now (onair room rotate {} makes a new one).", k.id);
    println!("  watch:      {relay}{}", k.hls_path);
    println!("  go live:    onair live --to relay://{}   (needs no key)", k.id);
}

pub fn run(cmd: RoomCommand) -> anyhow::Result<i32> {
    use onair_proto::Request;
    let cmd = match cmd {
        RoomCommand::Chat(a) => return super::room_chat::chat(a),
        RoomCommand::Mute { room, user } => return super::room_chat::moderate(Request::RoomMute { room, user }),
        RoomCommand::Unmute { room, user } => return super::room_chat::moderate(Request::RoomUnmute { room, user }),
        RoomCommand::Kick { room, user, secs } => return super::room_chat::moderate(Request::RoomKick { room, user, secs }),
        c => c,
    };
    let rt = runtime()?;
    let (c, http) = creds()?;
    match cmd {
        RoomCommand::Create { title, category, private, ladder, json } => {
            let ladder = ladder.map(|l| l.split(',').map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect());
            let k = rt.block_on(rooms::create(&http, &c.token, &rooms::NewRoom { title, category, private, ladder }))?;
            print_key(&k, &c.relay, json, "created");
        }
        RoomCommand::Rotate { room, json } | RoomCommand::Key { room, rotate: true, json } => {
            let k = rt.block_on(rooms::rotate(&http, &c.token, &room))?;
            print_key(&k, &c.relay, json, "new key for");
        }
        RoomCommand::Key { room, .. } => {
            eprintln!("Stream keys are shown once, when a room is created or its key rotated; the relay keeps only a hash, so it cannot show {room}'s key again.");
            eprintln!("  a new key (the old one stops working): onair room rotate {room}");
            eprintln!("  go live without the key:               onair live --to relay://{room}");
            return Ok(2);
        }
        RoomCommand::Stop { room } => {
            if rt.block_on(rooms::stop(&http, &c.token, &room))?.stopped {
                println!("stopped the live in room {room}");
            } else {
                println!("room {room} was not live");
            }
        }
        RoomCommand::Members { room, action, user, json } => {
            let m = match (action, user) {
                (MembersAction::List, _) => rt.block_on(rooms::members(&http, &c.token, &room))?,
                (a, Some(u)) => rt.block_on(rooms::set_member(&http, &c.token, &room, &u, matches!(a, MembersAction::Add)))?,
                (_, None) => bail!("name the user: onair room members {room} add|remove USER"),
            };
            if json {
                json_line(&serde_json::to_value(&m)?);
            } else if m.members.is_empty() {
                println!("{room}: no members (only you may watch it while it is private)");
            } else {
                println!("{room}: {}", m.members.join(", "));
            }
        }
        RoomCommand::Replays { room, json } => {
            let list = rt.block_on(rooms::replays(&http, Some(&c.token), &room))?;
            // A private room's replay URLs carry a watch ticket, so a player can open them.
            let private = rt.block_on(rooms::room(&http, Some(&c.token), &room)).map(|r| r.private).unwrap_or(false);
            let ticket = if private && !list.is_empty() { Some(rt.block_on(rooms::watch_ticket(&http, &c.token, &room))?) } else { None };
            for r in &list {
                let url = format!("{}{}", c.relay, rooms::with_ticket(&r.path, ticket.as_ref()));
                if json {
                    let mut v = serde_json::to_value(r)?;
                    v["url"] = Value::String(url);
                    json_line(&v);
                } else {
                    let also: Vec<&str> = r.renditions.iter().map(|x| x.name.as_str()).filter(|n| *n != "source").collect();
                    let also = if also.is_empty() { String::new() } else { format!("  (also {})", also.join(", ")) };
                    println!("{}  {}  {} bytes  {url}{also}", r.id, super::chat_common::fmt_time(r.started_at), r.bytes);
                }
            }
            if list.is_empty() && !json {
                println!("no replays of {room} yet");
            }
        }
        RoomCommand::List { all, search, category, json } => {
            let list = rt.block_on(rooms::list(&http, Some(&c.token), all, search.as_deref(), category.as_deref()))?;
            for r in &list {
                if json {
                    json_line(&serde_json::to_value(r)?);
                } else {
                    let since = r
                        .started_at
                        .map(|t| format!("live since {}, {} viewers ({} streams, {} in chat)", super::chat_common::fmt_time(t), r.viewers, r.stream_viewers, r.chat_viewers))
                        .unwrap_or_else(|| "offline".into());
                    let private = if r.private { "  (private)" } else { "" };
                    println!("{}  {}  [{}]  by {}  {since}{private}", r.id, r.title, r.category, r.owner);
                }
            }
            if list.is_empty() && !json {
                println!("no rooms {}", if all { "yet" } else { "live now" });
            }
        }
        RoomCommand::Chat(_) | RoomCommand::Mute { .. } | RoomCommand::Unmute { .. } | RoomCommand::Kick { .. } => unreachable!("handled above"),
    }
    Ok(0)
}

/// `relay://ROOM` → the room's RTMP URL with its key (from the relay, as
/// the signed-in owner); anything else is returned as given.
pub fn resolve_ingest(to: &str, key: Option<String>) -> anyhow::Result<(String, Option<String>)> {
    let Some(room) = to.strip_prefix("relay://") else { return Ok((to.to_string(), key)) };
    let room = room.trim_end_matches('/');
    if room.is_empty() || room.contains('/') {
        bail!("expected relay://ROOM_ID");
    }
    let (c, http) = creds()?;
    let url = runtime()?.block_on(rooms::ingest_url(&http, &c.token, room)).with_context(|| format!("room {room} on {}", c.relay))?;
    Ok((url, None))
}
