//! `onair friends …`: friends, requests and the blacklist.

use super::chat_common::{client, json_line, runtime};
use clap::Subcommand;
use onair_proto::{FriendState, Request, Response};

#[derive(Debug, Subcommand)]
pub enum FriendsCommand {
    /// Friends, requests both ways, and blocked users, with presence.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Send a friend request (or accept theirs).
    Add { user: String },
    Accept { user: String },
    /// Unfriend, or withdraw/decline a request.
    Remove { user: String },
    /// Refuse all messages and calls from a user.
    Block { user: String },
    Unblock { user: String },
}

pub fn run(cmd: FriendsCommand) -> anyhow::Result<i32> {
    let rt = runtime()?;
    let c = client()?;
    let (req, done) = match cmd {
        FriendsCommand::List { json } => {
            let Response::Friends { friends } = rt.block_on(c.rpc(Request::FriendsList))? else {
                anyhow::bail!("unexpected answer from the relay");
            };
            for f in &friends {
                if json {
                    json_line(f);
                } else {
                    let state = match f.state {
                        FriendState::Friends if f.online => "online".to_string(),
                        FriendState::Friends => match f.last_seen {
                            Some(t) => format!("last seen {}", super::chat_common::fmt_time(t)),
                            None => "offline".into(),
                        },
                        FriendState::Outgoing => "request sent".into(),
                        FriendState::Incoming => "wants to be friends (onair friends accept)".into(),
                        FriendState::Blocked => "blocked".into(),
                    };
                    println!("{}\t{state}", f.user);
                }
            }
            return Ok(0);
        }
        FriendsCommand::Add { user } => (Request::FriendAdd { user: user.clone() }, format!("friend request sent to {user}")),
        FriendsCommand::Accept { user } => (Request::FriendAccept { user: user.clone() }, format!("{user} is now a friend")),
        FriendsCommand::Remove { user } => (Request::FriendRemove { user: user.clone() }, format!("removed {user}")),
        FriendsCommand::Block { user } => (Request::Block { user: user.clone() }, format!("blocked {user}")),
        FriendsCommand::Unblock { user } => (Request::Unblock { user: user.clone() }, format!("unblocked {user}")),
    };
    rt.block_on(c.rpc(req))?;
    println!("{done}");
    Ok(0)
}
