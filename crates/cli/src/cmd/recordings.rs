//! `onair recordings …`: the recording library.

use clap::Subcommand;
use onair_media::library::{unix_now, Library, Recording};

#[derive(Debug, Subcommand)]
pub enum RecordingsCommand {
    /// List recordings, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one recording with its bookmarks.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Delete a recording and its file.
    Delete { id: i64 },
    /// Keep a recording whatever the retention.
    Pin { id: i64 },
    /// Let retention delete a recording again.
    Unpin { id: i64 },
    /// Delete unpinned recordings older than the retention (or --days).
    Prune {
        #[arg(long)]
        days: Option<u32>,
    },
    /// Finalise recordings a crash interrupted, with their bookmarks.
    Recover {
        #[arg(long)]
        json: bool,
    },
    /// Show or set the retention in days (`off` keeps everything).
    Retention { days: Option<String> },
    /// Show or set "Encrypt recordings on this computer" (on | off; default
    /// off), the setting the app's Settings screen shows too. Encrypted
    /// recordings are readable only with this computer's key, kept in the
    /// OS keychain.
    Encrypt { state: Option<String> },
    /// Write a plain MP4 copy of a recording (decrypted if it is encrypted).
    Export {
        id: i64,
        /// Where to write the copy.
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Recordings the relay made of your calls (encrypted there; you and the
    /// other participant only).
    Cloud {
        #[command(subcommand)]
        cmd: super::cloud::CloudCommand,
    },
}

pub fn open_library() -> anyhow::Result<Library> {
    let home = onair_media::home::data_dir();
    let (lib, recovered) = Library::open(&home)?;
    for r in recovered {
        match r.error {
            None => eprintln!(
                "recovered recording {} that was interrupted: {} ({} bookmarks)",
                r.id,
                r.path.display(),
                r.bookmarks
            ),
            Some(e) => eprintln!("could not recover recording {}: {e}", r.id),
        }
    }
    Ok(lib)
}

fn fmt_ms(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => format!("{}:{:02}:{:02}.{}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000 / 100),
        None => "-".into(),
    }
}

fn line(r: &Recording) -> String {
    format!(
        "{:>4}  {}  {:>11}  {:>8}  {:<9} {}{}{}  {}",
        r.id,
        crate::time::utc_stamp(r.started_at, " "),
        fmt_ms(r.duration_ms),
        r.size_bytes.map(|s| format!("{:.1} MB", s as f64 / 1e6)).unwrap_or_else(|| "-".into()),
        r.state,
        if r.pinned { "pinned " } else { "" },
        if r.encrypted { "encrypted " } else { "" },
        if r.bookmarks.is_empty() { String::new() } else { format!("{} bookmarks", r.bookmarks.len()) },
        r.path.display()
    )
}

pub fn run(cmd: RecordingsCommand) -> anyhow::Result<i32> {
    // Recovery opens the library without its automatic recovery, to report it.
    let lib = match cmd {
        RecordingsCommand::Recover { json } => return recover(json),
        RecordingsCommand::Cloud { cmd } => return super::cloud::run(cmd),
        _ => open_library()?,
    };
    match cmd {
        RecordingsCommand::List { json } => {
            let all = lib.list()?;
            if json {
                for r in &all {
                    println!("{}", serde_json::to_string(r)?);
                }
            } else if all.is_empty() {
                println!("no recordings yet: try `onair record --video test --audio test --duration 10`");
            } else {
                all.iter().for_each(|r| println!("{}", line(r)));
            }
        }
        RecordingsCommand::Show { id, json } => {
            let r = lib.get(id)?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!("{}", line(&r));
                if let Some(e) = &r.error {
                    println!("  error: {e}");
                }
                for b in &r.bookmarks {
                    println!("  {}  {}", fmt_ms(Some(b.t_ms)), b.label);
                }
                if r.encrypted {
                    println!("  encrypted at rest: onair recordings export {id} --out FILE writes a plain copy");
                } else {
                    println!("  play: ffplay {:?}", r.path);
                }
            }
        }
        RecordingsCommand::Delete { id } => {
            let r = lib.delete(id)?;
            println!("deleted recording {id} ({})", r.path.display());
        }
        RecordingsCommand::Pin { id } => {
            lib.set_pinned(id, true)?;
            println!("pinned recording {id}");
        }
        RecordingsCommand::Unpin { id } => {
            lib.set_pinned(id, false)?;
            println!("unpinned recording {id}");
        }
        RecordingsCommand::Prune { days } => {
            let Some(days) = days.or(lib.retention_days()?) else {
                println!("no retention set: keeping everything (set one with `onair recordings retention DAYS`, or pass --days)");
                return Ok(0);
            };
            let gone = lib.prune(days, unix_now())?;
            for r in &gone {
                println!("deleted recording {} ({})", r.id, r.path.display());
            }
            println!("pruned {} recording(s) older than {days} day(s); pinned ones are kept", gone.len());
        }
        RecordingsCommand::Recover { json } => return recover(json),
        RecordingsCommand::Cloud { cmd } => return super::cloud::run(cmd),
        RecordingsCommand::Encrypt { state } => match state.as_deref() {
            None => println!("encrypt recordings on this computer: {}", if lib.encrypt_recordings()? { "on" } else { "off" }),
            Some(v @ ("on" | "off")) => {
                lib.set_encrypt_recordings(v == "on")?;
                println!("encrypt recordings on this computer: {v} (from the next recording)");
            }
            Some(v) => anyhow::bail!("say `on` or `off`, not {v:?}"),
        },
        RecordingsCommand::Export { id, out, force } => {
            let n = lib.export(id, &out, force)?;
            println!("exported recording {id} to {} ({:.1} MB)", out.display(), n as f64 / 1e6);
        }
        RecordingsCommand::Retention { days } => match days.as_deref() {
            None => match lib.retention_days()? {
                Some(d) => println!("retention: {d} day(s)"),
                None => println!("retention: off (recordings are kept)"),
            },
            Some("off") => {
                lib.set_retention_days(None)?;
                println!("retention: off");
            }
            Some(d) => {
                let d: u32 = d.parse().map_err(|_| anyhow::anyhow!("retention must be a number of days or `off`, got {d:?}"))?;
                lib.set_retention_days(Some(d))?;
                println!("retention: {d} day(s); run `onair recordings prune` to apply it now");
            }
        },
    }
    Ok(0)
}

fn recover(json: bool) -> anyhow::Result<i32> {
    let lib = Library::open_only(&onair_media::home::data_dir())?;
    let done = lib.recover()?;
    let mut failed = 0;
    for r in &done {
        if json {
            println!("{}", serde_json::to_string(r)?);
        } else {
            match &r.error {
                None => println!(
                    "recovered recording {}: {} ({}, {} bookmarks)",
                    r.id,
                    r.path.display(),
                    fmt_ms(r.duration_ms),
                    r.bookmarks
                ),
                Some(e) => println!("could not recover recording {}: {e}", r.id),
            }
        }
        failed += usize::from(r.error.is_some());
    }
    if done.is_empty() && !json {
        println!("nothing to recover");
    }
    Ok(if failed > 0 { 1 } else { 0 })
}
