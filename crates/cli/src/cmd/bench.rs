//! `onair bench …`: benchmarks that print figures and a ratio against a peer.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {}

pub fn run(cmd: BenchCommand) -> anyhow::Result<i32> {
    match cmd {}
}
