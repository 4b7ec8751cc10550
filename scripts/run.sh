#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine (safe to run twice): builds the
# `onair` CLI and records 10 s from the test sources into the library, then
# says where the file is and how to play it. (The desktop app replaces this
# job when it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
cargo build --release --bin onair
./target/release/onair record --video test --audio test --duration 10 "$@"
echo
./target/release/onair recordings list
