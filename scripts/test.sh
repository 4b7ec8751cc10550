#!/usr/bin/env bash
# Runs every test on a fresh Debian/Ubuntu machine: installs what the build
# and the tests need (safe to run twice), then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
# Two test threads: media tests run in real time and must keep up on 2 cores.
cargo test --workspace --no-fail-fast -- --test-threads=2
