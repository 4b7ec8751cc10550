//! `onair bench …`: benchmarks that print figures and a ratio against a peer.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Beauty filter ms/frame at 720p and 1080p against FFmpeg's bilateral and smartblur.
    Beauty(super::beauty::bench::Args),
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<i32> {
    match cmd {
        BenchCommand::Beauty(args) => super::beauty::bench::run(args),
    }
}
