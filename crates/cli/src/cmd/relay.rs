//! `onair relay`: run the relay server.

use anyhow::Context;
use clap::Args;
use onair_relay::Config;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Address to listen on (port 0 picks a free port; the real address is printed).
    #[arg(long, env = "ONAIR_RELAY_LISTEN")]
    listen: Option<SocketAddr>,
    /// RTMP ingest address for live rooms (default 127.0.0.1:1935; port 0 picks one).
    #[arg(long, env = "ONAIR_RELAY_RTMP")]
    rtmp: Option<SocketAddr>,
    /// Replays kept per room, oldest deleted first (default 20; 0 records none).
    #[arg(long, env = "ONAIR_RELAY_REPLAYS_KEPT")]
    replays_kept: Option<usize>,
    /// Data directory (database and attachments); default: $ONAIR_HOME/relay.
    #[arg(long, env = "ONAIR_RELAY_DATA")]
    data: Option<PathBuf>,
    /// TOML config file: listen, data and [limits]; flags and env win over it.
    #[arg(long, env = "ONAIR_RELAY_CONFIG")]
    config: Option<PathBuf>,
    /// Write the bound address here once listening (for scripts and tests).
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

pub fn run(args: RelayArgs) -> anyhow::Result<i32> {
    let mut config = match &args.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(r) = args.rtmp {
        config.rtmp = r;
    }
    if let Some(k) = args.replays_kept {
        config.replays_kept = k;
    }
    if let Some(d) = args.data {
        config.data = d;
    }
    if config.data.as_os_str().is_empty() {
        config.data = onair_media::home::data_dir().join("relay");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let ready_file = args.ready_file.clone();
    rt.block_on(async move {
        let data = config.data.clone();
        onair_relay::serve(
            config,
            move |addr| {
                println!("relay listening on http://{addr} (data in {})", data.display());
                let _ = std::io::stdout().flush();
                if let Some(f) = ready_file {
                    // Write then rename, so a reader never sees half an address.
                    let tmp = f.with_extension("tmp");
                    if std::fs::write(&tmp, addr.to_string()).and_then(|_| std::fs::rename(&tmp, &f)).is_err() {
                        eprintln!("warning: could not write {}", f.display());
                    }
                }
            },
            shutdown_signal(),
        )
        .await
    })?;
    println!("relay stopped");
    Ok(0)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
