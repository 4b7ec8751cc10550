#!/usr/bin/env bash
# Desktop app benchmark: cold start to the first interactive screen, idle
# memory of all the app's processes (PSS: app + WebKitWebProcess +
# WebKitNetworkProcess), and preview latency from the stamped test source to
# the frame drawn in the page; cold start and memory also as a ratio against
# WebKitGTK's MiniBrowser (the same engine showing a static page) launched the
# same way. Release build, each instance on its own Xvfb.
# Goals: <= 1.5 s, <= 150 MB, <= 100 ms.
# QUICK=1 (CI, scripts/test.sh): one run of each with short waits, on the
# debug build `cargo test` made, to prove the benchmark still runs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  # scripts/test.sh built ui/dist before the Rust tests.
  ONAIR_BENCH_QUICK=1 cargo test -p onair-app --test app_bench -- --ignored --nocapture --test-threads=1 2>&1 | grep -v '^running\|^test \|^$'
  exit "${PIPESTATUS[0]}"
fi
(cd ui && { [ -d node_modules ] || npm install --no-audit --no-fund; } && npm run build >/dev/null)
cargo test --release -p onair-app --test app_bench -- --ignored --nocapture --test-threads=1 2>&1 | grep -v '^running\|^test \|^$'
