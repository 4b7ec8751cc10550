#!/usr/bin/env bash
# Server-side call recording (issue 16): CPU per concurrent 720p call.
#   bash bench/cloud-record.sh        # SECS=20; QUICK=1: 3 s, 360p
# The peer: FFmpeg's CLI compositing two 720p30 test streams side by side
# (hstack) with both voices mixed (amix), x264 veryfast, fragmented MP4 —
# the work a recorder worker does per call. Ours on the relay: sealing that
# composite as it arrives (AES-256-GCM, 64 KiB chunks) and decrypting it for
# a download, measured on the very file FFmpeg wrote in this run.
# OnAir's own compositing worker (`onair recorder`) is not built yet: when it
# is, it runs here on the same two streams.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-20}
SIZE=1280x720
PROFILE=--release
if [ -n "${QUICK:-}" ]; then SECS=3; SIZE=640x360; PROFILE=; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/time -f "%U %S" -o "$tmp/time" ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=$SIZE:rate=30:duration=$SECS" \
  -f lavfi -i "smptebars=size=$SIZE:rate=30:duration=$SECS" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$SECS" \
  -f lavfi -i "sine=frequency=660:sample_rate=48000:duration=$SECS" \
  -filter_complex "[0:v][1:v]hstack=inputs=2[v];[2:a][3:a]amix=inputs=2[a]" -map "[v]" -map "[a]" \
  -c:v libx264 -preset veryfast -b:v 4000k -g 30 -c:a aac -b:a 96k \
  -f mp4 -movflags frag_keyframe+empty_moov+default_base_moof "$tmp/composite.mp4"
read -r fu fs < "$tmp/time"
cargo build $PROFILE -q -p onair-vault --example seal
dir=target/$([ -n "$PROFILE" ] && echo release || echo debug)/examples
read -r bytes seal open < <("$dir/seal" "$tmp/composite.mp4" "$tmp/composite.vault")
awk -v s="$SECS" -v fu="$fu" -v fs="$fs" -v seal="$seal" -v open="$open" -v b="$bytes" -v size="$SIZE" 'BEGIN {
  ff = (fu + fs) / s * 100; ours = seal / s * 100;
  printf "composite %s x2 side by side, %d s, %.1f MB\n", size, s, b / 1e6;
  printf "FFmpeg CLI composite (hstack + amix, x264 veryfast): %.1f %% of a core per call -> %d concurrent calls on 2 cores\n", ff, (ff > 0 ? int(200 / ff) : 0);
  printf "relay sealing the composite as it arrives:           %.3f %% of a core per call (%.0f MB/s); a download decrypts at %.0f MB/s\n", ours, b / 1e6 / seal, b / 1e6 / open;
  printf "ratio: sealing costs %.4f of compositing\n", (ff > 0 ? ours / ff : 0);
}'
