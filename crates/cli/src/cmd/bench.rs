//! `onair bench …`: benchmarks that print figures and a ratio against a peer.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Beauty filter ms/frame at 720p and 1080p against FFmpeg's bilateral and smartblur.
    Beauty(super::beauty::bench::Args),
    /// Relay fan-out: N WebSocket clients in groups, delivered msgs/s, p50/p99 latency, relay memory;
    /// with --tls, ws:// against wss:// (relay CPU per message) and TLS handshakes/s.
    Relay(super::bench_relay::Args),
    /// Chat cache: open the last 50 of 1,000,000 cached messages, and FTS search over them.
    ChatCache(super::bench_chat::Args),
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<i32> {
    match cmd {
        BenchCommand::Beauty(args) => super::beauty::bench::run(args),
        BenchCommand::Relay(args) => super::bench_relay::run(args),
        BenchCommand::ChatCache(args) => super::bench_chat::run(args),
    }
}
