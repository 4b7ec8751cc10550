//! The `onair` command line: one subcommand per job.
//!
//! This crate is a thin front door: it parses arguments, wires the library
//! crates together, prints status and maps errors to exit codes. Logic that the
//! desktop app also needs lives in the library crates, never here.
//!
//! Each job lives in its own module under `cmd/`; `Command` below lists them.

use clap::{Parser, Subcommand};

mod cmd;
mod time;

/// OnAir: go live, call, record and chat from the command line.
#[derive(Debug, Parser)]
#[command(name = "onair", version, about, long_about = None)]
struct Cli {
    /// More log output on stderr (repeat for more); `RUST_LOG` also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Allow plain http:// / ws:// to a relay on another machine (passwords
    /// and messages then cross the network unencrypted); https:// needs no flag.
    #[arg(long, global = true, env = "ONAIR_INSECURE_HTTP", value_parser = clap::builder::FalseyValueParser::new())]
    insecure_http: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List cameras, microphones, screens and encoders.
    Devices(cmd::devices::Args),
    /// Go live: push H.264/AAC over RTMP(S) to an ingest, optionally recording too.
    Live(cmd::live::LiveArgs),
    /// Record to an MP4 in the library (or to --out).
    Record(cmd::live::RecordArgs),
    /// The recording library: list, show, delete, pin, prune, recover.
    #[command(subcommand)]
    Recordings(cmd::recordings::RecordingsCommand),
    /// Apply the beauty filter (skin smoothing, whitening) to a picture.
    Beauty(cmd::beauty::Args),
    /// Run the relay server (accounts, presence, friends, chat store-and-forward).
    Relay(cmd::relay::RelayArgs),
    /// A cloud recording worker: takes jobs from a relay, joins each call as a receive-only third participant.
    Recorder(cmd::recorder::RecorderArgs),
    /// Register, log in or out of a relay account.
    #[command(subcommand)]
    Account(cmd::account::AccountCommand),
    /// Friends, friend requests and the blacklist.
    #[command(subcommand)]
    Friends(cmd::friends::FriendsCommand),
    /// Follow a streamer (or with --room one room): hear when they go live.
    Follow(cmd::follow::FollowArgs),
    /// Stop following a streamer (or with --room a room).
    Unfollow(cmd::follow::FollowArgs),
    /// Who you follow; --notices prints each go-live of theirs as it comes.
    Following(cmd::follow::FollowingArgs),
    /// Group conversations: create, add, remove, leave, members.
    #[command(subcommand)]
    Group(cmd::group::GroupCommand),
    /// Chat: send (offline too), sync, listen, history, search, recall, read.
    #[command(subcommand)]
    Chat(cmd::chat::ChatCommand),
    /// Live rooms on the relay: create, list (the directory), stream key.
    #[command(subcommand)]
    Room(cmd::room::RoomCommand),
    /// A 1:1 video call through the relay: `onair call USER` or `onair call --answer`.
    Call(cmd::call::CallArgs),
    /// Watch a live room (HLS): decode, count frames and stalls, measure latency.
    Watch(cmd::watch::WatchArgs),
    /// Benchmarks that print a ratio against a peer measured in the same run.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// Call audio processing offline: `onair audio clean --far FAR.wav --mic MIC.wav --out OUT.wav`.
    #[command(subcommand)]
    Audio(cmd::audio::AudioCommand),
    /// A UDP forwarder that impairs the network (loss, delay, jitter, reordering, a cap, outages) for tests and benchmarks.
    #[command(hide = true)]
    Netem(cmd::netem::NetemArgs),
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    if cli.insecure_http {
        onair_chat::net::allow_insecure_http(true);
        eprintln!("warning: --insecure-http: plain http:// to a remote relay sends passwords, tokens and messages unencrypted");
    }
    let result = match cli.command {
        Command::Devices(args) => cmd::devices::run(args),
        Command::Live(args) => cmd::live::run_live(args),
        Command::Record(args) => cmd::live::run_record(args),
        Command::Recordings(c) => cmd::recordings::run(c),
        Command::Beauty(args) => cmd::beauty::run(args),
        Command::Relay(args) => cmd::relay::run(args),
        Command::Recorder(args) => cmd::recorder::run(args),
        Command::Account(c) => cmd::account::run(c),
        Command::Friends(c) => cmd::friends::run(c),
        Command::Follow(a) => cmd::follow::follow(a, true),
        Command::Unfollow(a) => cmd::follow::follow(a, false),
        Command::Following(a) => cmd::follow::following(a),
        Command::Group(c) => cmd::group::run(c),
        Command::Chat(c) => cmd::chat::run(c),
        Command::Room(c) => cmd::room::run(c),
        Command::Watch(a) => cmd::watch::run(a),
        Command::Call(a) => cmd::call::run(a),
        Command::Bench(c) => cmd::bench::run(c),
        Command::Audio(c) => cmd::audio::run(c),
        Command::Netem(a) => cmd::netem::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Crates whose debug and trace output carries payloads (see `init_tracing`).
const WIRE_LOGGERS: [&str; 10] = ["tungstenite", "tokio_tungstenite", "hyper", "hyper_util", "h2", "reqwest", "rustls", "tokio_rustls", "tower_http", "rml_rtmp"];

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // The WebRTC stack (webrtc-rs and its rtc-* crates) warns and errs about
    // routine events (a candidate pair that failed, a packet after close);
    // our call code reports what matters to the user. Quiet by default,
    // their warnings from -v, everything from -vv; RUST_LOG overrides.
    const WEBRTC: [&str; 17] = [
        "webrtc", "rtc", "rtc_crypto", "rtc_datachannel", "rtc_dtls", "rtc_ice", "rtc_interceptor", "rtc_mdns", "rtc_media", "rtc_rtcp",
        "rtc_rtp", "rtc_sctp", "rtc_sdp", "rtc_shared", "rtc_srtp", "rtc_stun", "rtc_turn",
    ];
    let webrtc_level = match verbose {
        0 => Some("off"),
        1 => Some("warn"),
        _ => None,
    };
    let mut default = default.to_string();
    if let Some(l) = webrtc_level {
        for t in WEBRTC {
            default.push_str(&format!(",{t}={l}"));
        }
    }
    // zbus warns about routine portal replies (a request object gone before
    // its properties are read); the screen-sharing source says what matters.
    if verbose == 0 {
        default.push_str(",zbus=error");
    }
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Libraries that log what goes over the wire at debug and trace (every
    // WebSocket frame, with the hello's bearer token; request and header
    // bytes; TLS records) stay at info whatever -v or RUST_LOG asks, so no
    // log level prints a token, password or stream key.
    for t in WIRE_LOGGERS {
        if let Ok(d) = format!("{t}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
