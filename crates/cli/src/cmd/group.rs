//! `onair group …`: create and manage group conversations.

use super::chat_common::{client, json_line, runtime};
use clap::Subcommand;
use onair_proto::{Request, Response};

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group you own; prints its id.
    Create {
        name: String,
        /// Comma-separated user names.
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add a member (owner only).
    Add { group: String, user: String },
    /// Remove a member (owner only).
    Remove { group: String, user: String },
    /// Leave a group (an owner hands the group to the longest-standing member).
    Leave { group: String },
    /// The members of a group you are in.
    Members {
        group: String,
        #[arg(long)]
        json: bool,
    },
    /// Your conversations (groups and 1:1).
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: GroupCommand) -> anyhow::Result<i32> {
    let rt = runtime()?;
    let c = client()?;
    match cmd {
        GroupCommand::Create { name, members, json } => {
            let Response::Conv { conv } = rt.block_on(c.rpc(Request::GroupCreate { name, members }))? else {
                anyhow::bail!("unexpected answer from the relay");
            };
            if json {
                json_line(&conv);
            } else {
                println!("{}", conv.id);
            }
        }
        GroupCommand::Add { group, user } => {
            rt.block_on(c.rpc(Request::GroupAdd { conv: group, user: user.clone() }))?;
            println!("added {user}");
        }
        GroupCommand::Remove { group, user } => {
            rt.block_on(c.rpc(Request::GroupRemove { conv: group, user: user.clone() }))?;
            println!("removed {user}");
        }
        GroupCommand::Leave { group } => {
            rt.block_on(c.rpc(Request::GroupLeave { conv: group.clone() }))?;
            println!("left {group}");
        }
        GroupCommand::Members { group, json } => {
            let Response::Members { owner, members, .. } = rt.block_on(c.rpc(Request::Members { conv: group }))? else {
                anyhow::bail!("unexpected answer from the relay");
            };
            for m in members {
                let is_owner = owner.as_deref() == Some(m.as_str());
                if json {
                    json_line(&serde_json::json!({ "user": m, "owner": is_owner }));
                } else {
                    println!("{m}{}", if is_owner { " (owner)" } else { "" });
                }
            }
        }
        GroupCommand::List { json } => {
            let Response::Conversations { convs } = rt.block_on(c.rpc(Request::Conversations))? else {
                anyhow::bail!("unexpected answer from the relay");
            };
            for conv in convs {
                if json {
                    json_line(&conv);
                } else {
                    println!("{}\t{}\t{} members", conv.id, conv.name, conv.members.len());
                }
            }
        }
    }
    Ok(0)
}
