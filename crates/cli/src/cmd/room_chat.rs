//! `onair room chat|mute|unmute|kick`: a live room's chat over the relay's
//! WebSocket. Thin: the rules (rate limit, banned words, mute, kick) are
//! the relay's (`onair_relay::live::chat`); this prints what it answers.
//! It rides the device's one relay link ([`RelayLink`]), as the app does:
//! when the socket drops, the link dials again and `--listen` rejoins.

use super::chat_common::{fmt_time, json_line};
use anyhow::Context;
use onair_chat::net::{LinkEvent, LinkOptions, RelayLink, RelayUrl, Subscription, Topic};
use onair_chat::NetError;
use onair_proto::{Event, Request, Response};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    room: String,
    /// Post this comment (repeatable: sent in order; stops at the first refusal).
    #[arg(long = "send", value_name = "TEXT")]
    send: Vec<String>,
    /// Stay in the room and print comments, joins and leaves as they come.
    #[arg(long)]
    listen: bool,
    /// With --listen: leave after this many seconds (default: until Ctrl-C or a kick).
    #[arg(long)]
    duration: Option<f64>,
    /// One JSON object per line: the relay's responses and events as docs/protocol.md shows them.
    #[arg(long)]
    json: bool,
}

/// The link (its task spawned on the runtime) and who we are.
async fn connect(reconnect: bool) -> anyhow::Result<(RelayLink, String)> {
    let c = onair_chat::account::load(&super::chat_common::home()).context("room chat needs a signed-in account (onair account login)")?;
    let url = RelayUrl::parse(&c.relay)?;
    let opts = LinkOptions { connect_timeout: Duration::from_secs(10), reconnect, ..LinkOptions::default() };
    let (link, task) = RelayLink::connect(&url.ws(), &c.token, opts).await.with_context(|| format!("connecting to {}", c.relay))?;
    tokio::spawn(task);
    let me = link.user().unwrap_or(c.user);
    Ok((link, me))
}

/// A refusal as one line a user understands, e.g. `refused (muted): …`.
fn refusal(e: NetError) -> anyhow::Error {
    match e {
        NetError::Refused { code, message } => {
            let code = serde_json::to_value(code).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            anyhow::anyhow!("refused ({code}): {message}")
        }
        e => e.into(),
    }
}

fn show(ev: &Event, json: bool) {
    if json {
        json_line(ev);
        return;
    }
    match ev {
        Event::RoomComment { comment: c, .. } => println!("[{}] {} {}: {}", c.seq, fmt_time(c.sent_at), c.from, c.text),
        Event::RoomViewer { user, joined, viewers, .. } => println!("* {user} {} ({viewers} in chat)", if *joined { "joined" } else { "left" }),
        Event::RoomMuted { user, muted, .. } => println!("* {user} {}", if *muted { "was muted" } else { "was unmuted" }),
        Event::RoomKicked { user, until, .. } => println!("* {user} was kicked until {}", fmt_time(*until)),
        _ => {}
    }
}

pub fn chat(a: ChatArgs) -> anyhow::Result<i32> {
    super::chat_common::runtime()?.block_on(async move {
        let (link, me) = connect(a.listen).await?;
        let mut events = link.subscribe(&[Topic::Room], 256);
        let joined = link.request(Request::RoomJoin { room: a.room.clone() }).await.map_err(refusal)?;
        if a.json {
            json_line(&joined);
        } else if let Response::RoomJoined { viewers, recent, owner, .. } = &joined {
            println!("in {}'s room {} with {} viewer(s)", owner, a.room, viewers.len());
            for c in recent {
                println!("[{}] {} {}: {}", c.seq, fmt_time(c.sent_at), c.from, c.text);
            }
        }
        for text in &a.send {
            let r = link.request(Request::RoomSay { room: a.room.clone(), text: text.clone() }).await.map_err(refusal)?;
            if a.json {
                json_line(&r);
            }
        }
        let code = if a.listen { listen(&link, &mut events, &a, &me).await? } else { 0 };
        let _ = link.request(Request::RoomLeave { room: a.room.clone() }).await;
        link.close();
        Ok(code)
    })
}

/// Prints the room's events until Ctrl-C, `--duration` or a kick (exit 4);
/// after a dropped socket, rejoins once the link is up again.
async fn listen(link: &RelayLink, events: &mut Subscription, a: &ChatArgs, me: &str) -> anyhow::Result<i32> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let end = a.duration.map(|d| Instant::now() + Duration::from_secs_f64(d));
    while !stop.load(std::sync::atomic::Ordering::Relaxed) && !end.is_some_and(|e| Instant::now() > e) {
        let Ok(next) = tokio::time::timeout(Duration::from_millis(200), events.next()).await else { continue };
        match next {
            Some(LinkEvent::Event(ev)) => {
                let kicked = matches!(&ev, Event::RoomKicked { room, user, .. } if room == &a.room && user == me);
                show(&ev, a.json);
                if kicked {
                    eprintln!("kicked from the chat of room {}", a.room);
                    return Ok(4);
                }
            }
            Some(LinkEvent::Down { error, retry_in }) => eprintln!("connection to the relay lost ({error}); trying again in {:.1} s", retry_in.as_secs_f64()),
            Some(LinkEvent::Up { gen, .. }) if gen > 1 => {
                // The relay forgot us with the old socket: join again.
                match link.request(Request::RoomJoin { room: a.room.clone() }).await {
                    Ok(_) => eprintln!("reconnected; back in room {}", a.room),
                    Err(e) => return Err(refusal(e)),
                }
            }
            Some(LinkEvent::Failed(e)) => anyhow::bail!("the relay ended the connection: {e}"),
            Some(LinkEvent::Lagged(n)) => eprintln!("({n} events were skipped: the terminal was too slow)"),
            Some(LinkEvent::Up { .. }) => {}
            None => anyhow::bail!("the connection to the relay ended"),
        }
    }
    Ok(0)
}

/// `mute`, `unmute` or `kick` (owner only).
pub fn moderate(req: Request) -> anyhow::Result<i32> {
    super::chat_common::runtime()?.block_on(async move {
        let (link, _) = connect(false).await?;
        link.request(req).await.map_err(refusal)?;
        link.close();
        Ok(0)
    })
}
