//! `onair account …`: register, log in, log out, privacy, password, sign
//! out everywhere, delete.

use super::chat_common::{home, runtime};
use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use onair_chat::account;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account on a relay and sign in (password from ONAIR_PASSWORD, else a prompt).
    Register {
        #[arg(long)]
        relay: String,
        #[arg(long)]
        user: String,
    },
    /// Sign in to an existing account.
    Login {
        #[arg(long)]
        relay: String,
        #[arg(long)]
        user: String,
    },
    /// Revoke this device's token and forget it.
    Logout,
    /// Change the password: the current one from ONAIR_PASSWORD, the new one
    /// from ONAIR_NEW_PASSWORD (else prompts). Signs out every other device.
    Password,
    /// Sign out every device of the account, this one too.
    SignoutAll,
    /// Delete the account: your messages' text and attachments are removed
    /// for everyone, friendships and memberships end. Password as for login.
    Delete {
        /// Confirms that the account and its messages go for good.
        #[arg(long)]
        yes: bool,
    },
    /// Who may start a 1:1 chat with you.
    Privacy { accept_from: Accept },
    /// Show the signed-in user and relay.
    Whoami,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Accept {
    Anyone,
    Friends,
}

pub fn run(cmd: AccountCommand) -> anyhow::Result<i32> {
    let rt = runtime()?;
    match cmd {
        AccountCommand::Register { relay, user } => sign_in(&rt, &relay, &user, true),
        AccountCommand::Login { relay, user } => sign_in(&rt, &relay, &user, false),
        AccountCommand::Logout => {
            let creds = account::load(&home())?;
            if let Err(e) = rt.block_on(account::logout(&creds)) {
                eprintln!("warning: could not revoke the token on the relay: {e}");
            }
            account::forget(&home()).context("removing credentials")?;
            println!("signed out {}", creds.user);
            Ok(0)
        }
        AccountCommand::Password => {
            let creds = account::load(&home())?;
            let old = password_from("ONAIR_PASSWORD", &format!("current password for {}: ", creds.user))?;
            let new = password_from("ONAIR_NEW_PASSWORD", "new password: ")?;
            rt.block_on(account::change_password(&creds, &old, &new))?;
            println!("password changed for {}; other devices are signed out", creds.user);
            Ok(0)
        }
        AccountCommand::SignoutAll => {
            let creds = account::load(&home())?;
            rt.block_on(account::sign_out_everywhere(&creds))?;
            account::forget(&home()).context("removing credentials")?;
            println!("signed out {} everywhere", creds.user);
            Ok(0)
        }
        AccountCommand::Delete { yes } => {
            let creds = account::load(&home())?;
            if !yes {
                anyhow::bail!("this deletes {} and removes your messages for everyone; run again with --yes", creds.user);
            }
            let pw = password_from("ONAIR_PASSWORD", &format!("password for {}: ", creds.user))?;
            rt.block_on(account::delete_account(&creds, &pw))?;
            account::forget(&home()).context("removing credentials")?;
            println!("deleted account {} on {}", creds.user, creds.relay);
            Ok(0)
        }
        AccountCommand::Privacy { accept_from } => {
            let c = super::chat_common::client()?;
            let a = match accept_from {
                Accept::Anyone => onair_proto::AcceptFrom::Anyone,
                Accept::Friends => onair_proto::AcceptFrom::Friends,
            };
            rt.block_on(c.rpc(onair_proto::Request::SetPrivacy { accept_from: a }))?;
            println!("accepting messages from {}", if matches!(accept_from, Accept::Friends) { "friends only" } else { "anyone" });
            Ok(0)
        }
        AccountCommand::Whoami => {
            let c = account::load(&home())?;
            println!("{} on {}", c.user, c.relay);
            Ok(0)
        }
    }
}

fn sign_in(rt: &tokio::runtime::Runtime, relay: &str, user: &str, register: bool) -> anyhow::Result<i32> {
    let password = password_from("ONAIR_PASSWORD", &format!("password for {user}: "))?;
    // A device signing in again shows the token it still holds: the relay
    // then never slows or refuses it for others' wrong guesses.
    let device = if register { None } else { account::device_token(&home(), relay, user) };
    let creds = rt.block_on(account::sign_in_device(relay, user, &password, register, device.as_deref()))?;
    let stored = account::save(&home(), &creds)?;
    eprintln!("token kept in {stored}");
    println!("{} {} on {}", if register { "registered and signed in as" } else { "signed in as" }, creds.user, creds.relay);
    Ok(0)
}

/// A password from the environment variable `var`, else from a prompt.
fn password_from(var: &str, prompt: &str) -> anyhow::Result<String> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => prompt_password(prompt),
    }
}

/// Reads a password from the terminal with echo off (plain stdin otherwise).
fn prompt_password(prompt: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, Write};
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    #[cfg(unix)]
    let saved = unsafe {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut t: libc::termios = std::mem::zeroed();
        if libc::isatty(0) == 1 && libc::tcgetattr(0, &mut t) == 0 {
            let old = t;
            t.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            Some(old)
        } else {
            None
        }
    };
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    #[cfg(unix)]
    if let Some(old) = saved {
        // SAFETY: restores the attributes read above.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &old) };
        eprintln!();
    }
    r.context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
