//! `onair recorder`: a cloud recording worker (issue 16). It takes jobs
//! from a relay (`POST /v1/recorder/claim` with the relay's
//! `--recorder-token`), joins each call as a third, receive-only
//! participant and streams the composite to the relay, which encrypts it.
//! The work itself is `onair_call::cloud`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onair_call::cloud::{self, JobEnd, WorkerConfig};
use onair_call::peer::{IceServer, PeerOptions};

#[derive(clap::Args)]
pub struct RecorderArgs {
    /// The relay's URL (http://HOST:PORT or https://…).
    #[arg(long)]
    relay: String,
    /// The relay's --recorder-token (env ONAIR_RECORDER_TOKEN; never logged).
    #[arg(long, env = "ONAIR_RECORDER_TOKEN", hide_env_values = true)]
    token: String,
    /// Recordings this worker runs at once.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Frames per second of the composite.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// libx264's speed preset for the composite.
    #[arg(long, default_value = "veryfast")]
    x264_preset: String,
    /// Local address for ICE host candidates (0.0.0.0: every non-loopback interface).
    #[arg(long, default_value = "0.0.0.0", env = "ONAIR_ICE_IP")]
    ice_ip: std::net::IpAddr,
    /// A STUN/TURN server URL for the legs (repeat for more).
    #[arg(long, value_name = "URL")]
    ice_server: Vec<String>,
    /// A side whose media has not arrived after this many seconds fails the job.
    #[arg(long, default_value_t = 15)]
    leg_wait_secs: u64,
    /// Scratch folder for the composite while it streams (default: the system's temporary folder).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

impl std::fmt::Debug for RecorderArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecorderArgs").field("relay", &self.relay).field("jobs", &self.jobs).finish_non_exhaustive()
    }
}

pub fn run(a: RecorderArgs) -> anyhow::Result<i32> {
    if a.token.trim().is_empty() {
        anyhow::bail!("--token must be the relay's --recorder-token");
    }
    if a.jobs == 0 || a.fps == 0 || a.fps > 60 {
        anyhow::bail!("--jobs must be at least 1 and --fps between 1 and 60");
    }
    onair_chat::net::RelayUrl::parse(&a.relay).with_context(|| format!("--relay {}", a.relay))?;
    let base = a.work_dir.clone().unwrap_or_else(std::env::temp_dir).join(format!("onair-recorder-{}", std::process::id()));
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    let cfg = WorkerConfig {
        relay: a.relay.clone(),
        token: a.token.trim().to_string(),
        peer: PeerOptions {
            ice_servers: a.ice_server.iter().map(|u| IceServer { urls: vec![u.clone()], username: None, credential: None }).collect(),
            bind_ip: a.ice_ip,
            ..PeerOptions::default()
        },
        fps: a.fps,
        x264_preset: Some(a.x264_preset.clone()),
        leg_wait: Duration::from_secs(a.leg_wait_secs.max(1)),
        work_dir: base.clone(),
        events: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    println!("recorder: taking jobs from {} ({} at once)", a.relay, a.jobs);
    let running = Arc::new(AtomicUsize::new(0));
    let r = rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let mut cfg = cfg;
        cfg.events = Some(tx);
        tokio::spawn(async move {
            while let Some(l) = rx.recv().await {
                println!("{l}");
            }
        });
        loop {
            if running.load(Ordering::Acquire) >= a.jobs {
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            match cloud::claim(&cfg).await {
                Ok(Some(job)) => {
                    println!("job {}: recording call {} ({})", job.id, job.call_id, job.tier.name());
                    running.fetch_add(1, Ordering::AcqRel);
                    let (cfg, running) = (cfg.clone(), running.clone());
                    tokio::spawn(async move {
                        let id = job.id.clone();
                        match cloud::run_job(&cfg, job).await {
                            JobEnd::Stopped => println!("job {id}: stopped"),
                            JobEnd::Failed(why) => println!("job {id}: failed: {why}"),
                        }
                        running.fetch_sub(1, Ordering::AcqRel);
                    });
                }
                Ok(None) => tokio::time::sleep(Duration::from_millis(500)).await,
                Err(e) if e.contains("recorder token") => return Err(anyhow::anyhow!(e)),
                Err(e) => {
                    eprintln!("recorder: {e}; trying again");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    });
    let _ = std::fs::remove_dir_all(&base);
    r
}
