//! `onair chat …`: send, sync, listen, read history offline, search.

use super::chat_common::{client, json_line, print_message, runtime};
use anyhow::Context;
use clap::{Args, Subcommand};
use onair_chat::{ChatError, Client};
use onair_proto::Target;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum ChatCommand {
    /// Send a message; queues it if the relay is unreachable (exit 0 either way).
    Send(SendArgs),
    /// Connect, deliver the outbox, fetch everything new, exit.
    Sync {
        /// Keep retrying (with backoff) this many seconds before giving up.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        #[arg(long)]
        json: bool,
    },
    /// Stay connected and print events as JSON lines.
    Listen,
    /// Messages of one conversation, from the local cache (synced first unless --offline).
    History {
        #[command(flatten)]
        conv: ConvArg,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        offline: bool,
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over every cached message.
    Search {
        query: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        offline: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete one of your messages for everyone (within 2 minutes of sending).
    Recall { id: String },
    /// Mark a conversation read (up to --upto, else everything cached).
    Read {
        #[command(flatten)]
        conv: ConvArg,
        #[arg(long)]
        upto: Option<u64>,
    },
    /// Save an attachment to a file.
    Download {
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ConvArg {
    /// The 1:1 conversation with this user.
    #[arg(long = "with")]
    with: Option<String>,
    /// A group id (g:…).
    #[arg(long)]
    group: Option<String>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[arg(long, conflicts_with = "group", required_unless_present = "group")]
    to: Option<String>,
    #[arg(long)]
    group: Option<String>,
    /// Delete the message everywhere this many seconds after the recipient reads it.
    #[arg(long)]
    burn: Option<u32>,
    /// Attach a file (needs the relay: files are uploaded before the message is queued).
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    /// The message text.
    #[arg(default_value = "")]
    text: String,
}

impl ConvArg {
    fn conv(&self, c: &Client) -> anyhow::Result<String> {
        let t = match (&self.with, &self.group) {
            (Some(u), _) => Target::User(u.clone()),
            (_, Some(g)) => Target::Conv(g.clone()),
            _ => anyhow::bail!("give --with USER or --group ID"),
        };
        Ok(c.conv_of(&t)?)
    }
}

pub fn run(cmd: ChatCommand) -> anyhow::Result<i32> {
    let rt = runtime()?;
    let mut c = client()?;
    match cmd {
        ChatCommand::Send(a) => send(&rt, &mut c, a),
        ChatCommand::Sync { timeout, json } => {
            let r = rt.block_on(c.sync(Duration::from_secs(timeout)))?;
            if json {
                json_line(&r);
            } else {
                println!("sent {}, failed {}, fetched {} in {} conversations, {} pending", r.sent, r.failed, r.fetched, r.conversations, r.pending);
            }
            Ok(0)
        }
        ChatCommand::Listen => {
            rt.block_on(c.listen(|ev| json_line(ev)))?;
            Ok(0)
        }
        ChatCommand::History { conv, limit, offline, json } => {
            let conv = conv.conv(&c)?;
            if !offline {
                best_effort_sync(&rt, &mut c);
            }
            c.cache.purge_burned(onair_chat::now_ms())?;
            for m in c.cache.history(&conv, limit)? {
                if json {
                    json_line(&m);
                } else {
                    print_message(&m);
                }
            }
            Ok(0)
        }
        ChatCommand::Search { query, limit, offline, json } => {
            if !offline {
                best_effort_sync(&rt, &mut c);
            }
            for m in c.cache.search(&query, limit)? {
                if json {
                    json_line(&m);
                } else {
                    print!("{}  ", m.conv);
                    print_message(&m);
                }
            }
            Ok(0)
        }
        ChatCommand::Recall { id } => {
            rt.block_on(c.recall(&id))?;
            println!("recalled {id}");
            Ok(0)
        }
        ChatCommand::Read { conv, upto } => {
            let conv = conv.conv(&c)?;
            let seq = rt.block_on(c.read(&conv, upto))?;
            println!("read {conv} up to {seq}");
            Ok(0)
        }
        ChatCommand::Download { id, out } => {
            let bytes = rt.block_on(c.download(&id))?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            println!("saved {} bytes to {}", bytes.len(), out.display());
            Ok(0)
        }
    }
}

fn best_effort_sync(rt: &tokio::runtime::Runtime, c: &mut Client) {
    c.connect_timeout = Duration::from_secs(10);
    if let Err(e) = rt.block_on(c.sync_once()) {
        eprintln!("note: showing the local cache; could not sync: {e}");
    }
}

fn send(rt: &tokio::runtime::Runtime, c: &mut Client, a: SendArgs) -> anyhow::Result<i32> {
    let target = match (a.to, a.group) {
        (Some(u), _) => Target::User(u),
        (_, Some(g)) => Target::Conv(g),
        _ => anyhow::bail!("give --to USER or --group ID"),
    };
    let attachment = match &a.file {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
            let conv = c.conv_of(&target)?;
            Some(rt.block_on(c.upload(&conv, &name, "application/octet-stream", bytes)).context("uploading the attachment")?)
        }
        None => None,
    };
    if a.text.trim().is_empty() && attachment.is_none() {
        anyhow::bail!("nothing to send: give a text or --file");
    }
    let m = c.queue(target, a.text, a.burn, attachment)?;
    c.connect_timeout = Duration::from_secs(10);
    let result = rt.block_on(c.sync_once());
    let me = c.me().to_string();
    let now = c.cache.own_message(&me, &m.id)?.unwrap_or(m);
    if a.json {
        json_line(&now);
    }
    match (&result, now.state.as_str()) {
        (_, "failed") => {
            eprintln!("failed: {}", now.error.as_deref().unwrap_or("refused by the relay"));
            Ok(1)
        }
        (_, "sent") => {
            if !a.json {
                println!("sent {} (seq {})", now.id, now.seq.unwrap_or(0));
            }
            Ok(0)
        }
        (Err(ChatError::Net(e)), _) => {
            if !a.json {
                println!("queued {} (offline: {e}); `onair chat sync` will deliver it", now.id);
            }
            Ok(0)
        }
        (Err(e), _) => Err(anyhow::anyhow!("{e}")),
        (Ok(_), _) => {
            if !a.json {
                println!("queued {}", now.id);
            }
            Ok(0)
        }
    }
}
