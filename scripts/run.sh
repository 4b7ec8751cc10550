#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine (safe to run twice): installs
# what the build needs, builds the UI and the desktop app, and opens it. With
# no relay configured the app runs its own on 127.0.0.1, so recording, going
# live into a local room and chatting between two windows work at once.
# With no display (a server, CI) it opens under Xvfb; ONAIR_HOME picks the
# data folder. Extra arguments go to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
(cd ui && npm install --no-audit --no-fund && npm run build)
cargo build --release -p onair-app
app=./target/release/onair-app
[ -n "${CARGO_TARGET_DIR:-}" ] && app="$CARGO_TARGET_DIR/release/onair-app"
echo "starting $app (data in ${ONAIR_HOME:-~/.local/share/onair}; close the window or Ctrl-C to quit)"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  command -v xvfb-run >/dev/null || bash scripts/deps.sh test
  echo "no display: running under Xvfb" >&2
  # Xvfb has no GPU: WebKit's DMA-BUF renderer would leave the window blank.
  export WEBKIT_DISABLE_DMABUF_RENDERER=1
  exec xvfb-run -a -s "-screen 0 1366x900x24" "$app" "$@"
fi
exec "$app" "$@"
