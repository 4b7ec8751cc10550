#!/usr/bin/env bash
# Runs every test on a fresh Debian/Ubuntu machine: installs what the build
# and the tests need (safe to run twice), then the UI's unit tests (Vitest)
# and the whole Rust test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
# The UI first: the app embeds ui/dist when it is compiled.
# `npm install` (not `npm ci`): with `omit-lockfile-registry-resolved` (set on
# these machines) `npm ci` rejects the lock's other-platform optional packages;
# `npm install` keeps the locked versions.
(cd ui && npm install --no-audit --no-fund && npx vitest run && npm run build)
# Two test threads: media tests run in real time and must keep up on 2 cores.
cargo test --workspace --no-fail-fast -- --test-threads=2
# Every README benchmark in a short form (under a minute in all), so none rots.
bash scripts/bench-quick.sh
