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
    /// Words and phrases refused in live-room chat: a file, one a line
    /// (`#` starts a comment); matched as whole words, any case.
    #[arg(long, env = "ONAIR_RELAY_BANNED_WORDS", value_name = "FILE")]
    banned_words: Option<PathBuf>,
    /// Data directory (database and attachments); default: $ONAIR_HOME/relay.
    #[arg(long, env = "ONAIR_RELAY_DATA")]
    data: Option<PathBuf>,
    /// TOML config file: listen, data and [limits]; flags and env win over it.
    #[arg(long, env = "ONAIR_RELAY_CONFIG")]
    config: Option<PathBuf>,
    /// STUN server URL handed to call clients (repeatable; default none:
    /// host candidates suffice on loopback and LANs).
    #[arg(long = "stun-url", value_name = "URL")]
    stun_urls: Vec<String>,
    /// TURN server URL handed to call clients with time-limited credentials
    /// (repeatable; needs --turn-secret).
    #[arg(long = "turn-url", value_name = "URL")]
    turn_urls: Vec<String>,
    /// coturn's static-auth-secret (REST-API credentials). Never logged.
    #[arg(long, env = "ONAIR_RELAY_TURN_SECRET", hide_env_values = true)]
    turn_secret: Option<onair_relay::config::Secret>,
    /// Lifetime of handed-out TURN credentials in seconds (default 3600).
    #[arg(long)]
    turn_ttl: Option<u64>,
    /// Seconds a call rings before the relay ends it (default 30).
    #[arg(long)]
    ring_timeout: Option<u64>,
    /// Seconds an answered call waits for a participant whose relay
    /// connection dropped to resume (default 10).
    #[arg(long)]
    call_grace: Option<u64>,
    /// Recording a call starts only after the other participant accepts.
    #[arg(long)]
    require_recording_consent: bool,
    /// Serve HTTPS and WSS with this certificate chain (PEM; with --tls-key).
    /// The files are read again when they change (certbot renewals need no restart).
    #[arg(long, env = "ONAIR_RELAY_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "ONAIR_RELAY_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// RTMPS ingest address (RTMP inside TLS with the same certificate), next to --rtmp.
    #[arg(long, env = "ONAIR_RELAY_RTMPS", value_name = "ADDR")]
    rtmps: Option<SocketAddr>,
    /// A reverse proxy (address or CIDR) whose X-Forwarded-For names the
    /// client, e.g. a TLS-terminating nginx on 127.0.0.1 (repeatable).
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<String>,
    /// Serve `/metrics` (Prometheus text) to requests with
    /// `Authorization: Bearer TOKEN`; without it `/metrics` is off. Never logged.
    #[arg(long, env = "ONAIR_RELAY_METRICS_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    metrics_token: Option<onair_relay::config::Secret>,
    /// Keep the relay's records in PostgreSQL (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`),
    /// shared by several relay nodes; default: SQLite in the data directory. Attachments and
    /// replays stay in --data (a folder the nodes share). The password is never printed.
    #[arg(long, env = "ONAIR_RELAY_STORE", hide_env_values = true, value_name = "URL")]
    store: Option<onair_relay::config::StoreUrl>,
    /// Join other relay nodes through this Redis (`redis://[:PASSWORD@]HOST:PORT`):
    /// chat events, presence, call signaling, sign-outs and log-in limits
    /// cross nodes. Default: this relay is the only node. The password is never printed.
    #[arg(long, env = "ONAIR_RELAY_BUS", hide_env_values = true, value_name = "URL")]
    bus: Option<onair_relay::config::Secret>,
    /// This node's name among several (letters, digits, `_ . -`; default: random).
    #[arg(long, env = "ONAIR_RELAY_NODE_ID", value_name = "ID")]
    node_id: Option<String>,
    /// Where the other nodes reach this one over plain HTTP to pull a live
    /// published here (e.g. `http://10.0.0.5:7380`); default: `http://` and --listen
    /// when that is one address (not 0.0.0.0).
    #[arg(long, env = "ONAIR_RELAY_NODE_URL", value_name = "URL")]
    node_url: Option<String>,
    /// The quality ladder: lower renditions the relay makes of every live, e.g.
    /// `720p,480p,360p,audio` (never above the source; each made only while watched).
    #[arg(long, env = "ONAIR_RELAY_LADDER", value_name = "RUNGS")]
    ladder: Option<String>,
    /// Server-side call recording: the master key that wraps each recording's
    /// key (32 bytes; created 0600 if absent; never logged). Default: recording.key
    /// in the data directory.
    #[arg(long, env = "ONAIR_RELAY_RECORDING_KEY_FILE", value_name = "FILE")]
    recording_key_file: Option<PathBuf>,
    /// Quality of a server recording when the participant names none:
    /// 360p | 720p | 1080p | audio (default 720p).
    #[arg(long, value_name = "TIER")]
    cloud_tier: Option<String>,
    /// A server recording stops by itself after this many seconds (default 14400).
    #[arg(long, value_name = "SECS")]
    cloud_max_secs: Option<u64>,
    /// The disk guard: no server recording starts, and a running one stops, with
    /// less than this many MB free where the data directory is (default 1024).
    #[arg(long, value_name = "MB")]
    cloud_min_free_mb: Option<u64>,
    /// A server recording that no recorder worker takes within this many seconds
    /// fails, and both sides are told (default 30).
    #[arg(long, value_name = "SECS")]
    cloud_claim_secs: Option<u64>,
    /// Unpinned server recordings are deleted this many days after they end (0: kept; default 30).
    #[arg(long, value_name = "DAYS")]
    cloud_retention_days: Option<u64>,
    /// Recorder workers authenticate with this token (`onair recorder`). Never logged.
    #[arg(long, env = "ONAIR_RELAY_RECORDER_TOKEN", hide_env_values = true)]
    recorder_token: Option<onair_relay::config::Secret>,
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
    if let Some(l) = args.ladder.clone() {
        config.ladder = l;
    }
    if let Some(b) = args.banned_words.clone() {
        config.banned_words = Some(b);
    }
    let calls = &mut config.calls;
    if !args.stun_urls.is_empty() {
        calls.stun_urls = args.stun_urls.clone();
    }
    if !args.turn_urls.is_empty() {
        calls.turn_urls = args.turn_urls.clone();
    }
    if let Some(s) = args.turn_secret.clone() {
        calls.turn_secret = Some(s);
    }
    if calls.turn_secret.as_ref().is_some_and(|s| s.0.is_empty()) {
        anyhow::bail!("--turn-secret must not be empty");
    }
    if let Some(t) = args.turn_ttl {
        calls.turn_ttl_secs = t.max(1);
    }
    if let Some(t) = args.ring_timeout {
        calls.ring_timeout_secs = t.max(1);
    }
    if let Some(g) = args.call_grace {
        calls.grace_secs = g;
    }
    calls.require_recording_consent |= args.require_recording_consent;
    if !calls.turn_urls.is_empty() && calls.turn_secret.is_none() {
        eprintln!("warning: --turn-url without --turn-secret: TURN servers are not handed out");
    }
    if let Some(c) = args.tls_cert.clone() {
        config.tls_cert = Some(c);
    }
    if let Some(k) = args.tls_key.clone() {
        config.tls_key = Some(k);
    }
    if let Some(r) = args.rtmps {
        config.rtmps = Some(r);
    }
    if !args.trusted_proxies.is_empty() {
        config.trusted_proxies = args.trusted_proxies.clone();
    }
    if let Some(t) = args.metrics_token.clone() {
        config.metrics_token = Some(t);
    }
    if config.metrics_token.as_ref().is_some_and(|t| t.0.trim().is_empty()) {
        anyhow::bail!("--metrics-token must not be empty");
    }
    if let Some(s) = args.store.clone() {
        config.store = Some(s);
    }
    if config.store.as_ref().is_some_and(|s| s.0.trim().is_empty()) {
        anyhow::bail!("--store must not be empty (leave it out for SQLite in the data directory)");
    }
    if let Some(b) = args.bus.clone() {
        config.bus = Some(b);
    }
    if config.bus.as_ref().is_some_and(|b| b.0.trim().is_empty()) {
        anyhow::bail!("--bus must not be empty (leave it out for a single relay)");
    }
    if let Some(n) = args.node_id.clone() {
        config.node_id = Some(n);
    }
    if let Some(u) = args.node_url.clone() {
        if !u.starts_with("http://") || u.len() <= "http://".len() {
            anyhow::bail!("--node-url must be a plain http:// URL on the nodes' private network, e.g. http://10.0.0.5:7380");
        }
        config.node_url = Some(u);
    }
    if let Some(d) = args.data {
        config.data = d;
    }
    let cloud = &mut config.cloud;
    if let Some(k) = args.recording_key_file.clone() {
        cloud.recording_key_file = Some(k);
    }
    if let Some(t) = args.cloud_tier.clone() {
        t.parse::<onair_proto::cloud::Tier>().map_err(|e| anyhow::anyhow!("--cloud-tier: {e}"))?;
        cloud.default_tier = t;
    }
    if let Some(s) = args.cloud_max_secs {
        cloud.max_secs = s.max(1);
    }
    if let Some(m) = args.cloud_min_free_mb {
        cloud.min_free_bytes = m << 20;
    }
    if let Some(s) = args.cloud_claim_secs {
        cloud.claim_secs = s.max(1);
    }
    if let Some(d) = args.cloud_retention_days {
        cloud.retention_days = d;
    }
    if let Some(t) = args.recorder_token.clone() {
        if t.0.trim().is_empty() {
            anyhow::bail!("--recorder-token must not be empty");
        }
        cloud.recorder_token = Some(t);
    }
    if config.data.as_os_str().is_empty() {
        config.data = onair_media::home::data_dir().join("relay");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let ready_file = args.ready_file.clone();
    rt.block_on(async move {
        let data = config.data.clone();
        let store = config.store.as_ref().map(|s| format!(", store {s}")).unwrap_or_default();
        let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
        onair_relay::serve(
            config,
            move |addr| {
                println!("relay listening on {scheme}://{addr} (data in {}{store})", data.display());
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
