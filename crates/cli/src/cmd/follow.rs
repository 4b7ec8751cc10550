//! `onair follow USER`, `onair unfollow USER`, `onair following`: followers
//! and go-live notices (the relay's `live::follows`). `onair following
//! --notices` stays on the relay's WebSocket and prints each go-live of a
//! followed streamer or room as it comes, after the ones on air already.

use super::chat_common::{fmt_time, home, json_line, runtime};
use anyhow::Context;
use onair_chat::account;
use onair_chat::net::{Http, LinkEvent, LinkOptions, RelayLink, RelayUrl, Topic};
use onair_chat::rooms;
use onair_proto::Event;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct FollowArgs {
    /// The streamer's user name (with --room: a room id).
    target: String,
    /// Follow one room rather than every room of a streamer.
    #[arg(long)]
    room: bool,
    /// One JSON object: target, following, followers.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct FollowingArgs {
    /// One JSON object per line: `{"follows": …}`, then with --notices each
    /// room on air now as `{"live_now": ROOM}` and each notice as the
    /// relay's `room_live` event (docs/protocol.md).
    #[arg(long)]
    json: bool,
    /// Stay connected and print a line for each go-live of someone you follow.
    #[arg(long)]
    notices: bool,
    /// With --notices: stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
}

fn creds() -> anyhow::Result<(account::Credentials, Http)> {
    let c = account::load(&home()).context("following needs a signed-in account (onair account login)")?;
    let http = Http::new(RelayUrl::parse(&c.relay)?);
    Ok((c, http))
}

pub fn follow(a: FollowArgs, on: bool) -> anyhow::Result<i32> {
    let (c, http) = creds()?;
    let s = runtime()?.block_on(rooms::follow(&http, &c.token, &a.target, a.room, on))?;
    if a.json {
        json_line(&s);
    } else {
        let what = if a.room { format!("room {}", a.target) } else { a.target.clone() };
        println!("{} {what} ({} follower{})", if on { "following" } else { "no longer following" }, s.followers, if s.followers == 1 { "" } else { "s" });
    }
    Ok(0)
}

fn show_live(r: &rooms::RoomInfo, json: bool) {
    if json {
        json_line(&serde_json::json!({ "live_now": r }));
    } else {
        let since = r.started_at.map(|t| format!(" since {}", fmt_time(t))).unwrap_or_default();
        println!("live now: {} is live: {} [{}] (room {}){since}", r.owner, r.title, r.category, r.id);
    }
}

pub fn following(a: FollowingArgs) -> anyhow::Result<i32> {
    let (c, http) = creds()?;
    runtime()?.block_on(async move {
        // Subscribed before asking what is live, so no go-live falls between.
        let link = if a.notices {
            let url = RelayUrl::parse(&c.relay)?;
            let opts = LinkOptions { connect_timeout: Duration::from_secs(10), ..LinkOptions::default() };
            let (link, task) = RelayLink::connect(&url.ws(), &c.token, opts).await.with_context(|| format!("connecting to {}", c.relay))?;
            tokio::spawn(task);
            Some(link)
        } else {
            None
        };
        let mut events = link.as_ref().map(|l| l.subscribe(&[Topic::Chat], 256));
        let f = rooms::following(&http, &c.token).await?;
        if a.json {
            json_line(&serde_json::json!({ "follows": f.follows }));
        } else if f.follows.is_empty() {
            println!("you follow nobody yet (onair follow USER)");
        } else {
            for t in &f.follows {
                println!("{}", t.strip_prefix("user:").map(String::from).unwrap_or_else(|| t.replace("room:", "room ")));
            }
        }
        if !a.notices {
            return Ok(0);
        }
        for r in &f.live {
            show_live(r, a.json);
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let _ = signal_hook::flag::register(sig, stop.clone());
        }
        let end = a.duration.map(|d| Instant::now() + Duration::from_secs_f64(d));
        let Some(events) = events.as_mut() else { return Ok(0) };
        while !stop.load(std::sync::atomic::Ordering::Relaxed) && !end.is_some_and(|e| Instant::now() > e) {
            let Ok(next) = tokio::time::timeout(Duration::from_millis(200), events.next()).await else { continue };
            match next {
                Some(LinkEvent::Event(ev @ Event::RoomLive { .. })) => {
                    if a.json {
                        json_line(&ev);
                    } else if let Event::RoomLive { room, owner, title, category } = &ev {
                        println!("{owner} is live: {title} [{category}] (room {room})");
                    }
                }
                Some(LinkEvent::Down { error, retry_in }) => eprintln!("connection to the relay lost ({error}); trying again in {:.1} s", retry_in.as_secs_f64()),
                Some(LinkEvent::Failed(e)) => anyhow::bail!("the relay ended the connection: {e}"),
                Some(_) => {}
                None => anyhow::bail!("the connection to the relay ended"),
            }
        }
        if let Some(l) = link {
            l.close();
        }
        Ok(0)
    })
}

/// `onair live --to relay://ROOM --category NAME --cover FILE`: set the
/// room's category and cover before going live (owner only).
pub fn studio(room: &str, category: Option<&str>, cover: Option<&std::path::Path>) -> anyhow::Result<()> {
    if category.is_none() && cover.is_none() {
        return Ok(());
    }
    let (c, http) = creds()?;
    let rt = runtime()?;
    if let Some(cat) = category {
        let u = rooms::RoomUpdate { title: None, category: Some(cat.to_string()) };
        rt.block_on(rooms::update(&http, &c.token, room, &u)).with_context(|| format!("setting room {room}'s category"))?;
    }
    if let Some(p) = cover {
        let bytes = std::fs::read(p).with_context(|| format!("reading the cover {}", p.display()))?;
        rt.block_on(rooms::set_cover(&http, &c.token, room, bytes)).with_context(|| format!("setting room {room}'s cover from {}", p.display()))?;
    }
    Ok(())
}
