#!/usr/bin/env bash
# Copies the app's e2e screenshots into docs/screenshots/ for the README:
# cropped to the 1280x800 window (the Xvfb screen around it is larger),
# reduced to a 256-colour palette and stripped (imagemagick), so each is a
# small PNG. Run the e2e tests first (they write target/e2e-artifacts/):
#   npm --prefix ui run build && touch src-tauri/src/main.rs
#   cargo test -p onair-app --test app_e2e --test app_chat_e2e --test app_devices
#   bash scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
src=target/e2e-artifacts
out=docs/screenshots
mkdir -p "$out"
# README name <- e2e screenshot
for pair in go-live:live-room recordings:recordings-player watch:watch-muted-hint \
            chat:chat-a-attachment calls:call-b-active settings:settings-devices chat-zh:chat-zh; do
  name=${pair%%:*} shot=$src/${pair#*:}.png
  [ -f "$shot" ] || { echo "missing $shot: run the e2e tests first" >&2; exit 1; }
  convert "$shot" -crop 1280x800+0+0 +repage -strip +dither -colors 256 -define png:compression-level=9 "$out/$name.png"
  echo "$out/$name.png $(stat -c %s "$out/$name.png") bytes"
done
