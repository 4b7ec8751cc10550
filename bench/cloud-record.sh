#!/usr/bin/env bash
# Server-side call recording (issue 16): recorder CPU per concurrent 720p
# call, and how many such recordings two cores hold.
#   bash bench/cloud-record.sh        # SECS=20 CALLS=1; QUICK=1: 3 s at 360p, debug build; ONAIR_BIN=… measures that build
# Ours: a real `onair recorder` worker (x264 veryfast, 30 fps, the 720p tier:
# 2560x720) recording CALLS calls between `onair call`s with 1280x720 test
# sources through a local relay; its CPU is read from /proc for SECS seconds
# once both legs of every call reach it (the callers' own CPU is not counted).
# The peer, in the same run: FFmpeg's CLI doing the same work on the same
# media — decoding two 1280x720 H.264 + Opus streams of onair's test source,
# side by side (hstack), both voices mixed (amix), x264 veryfast with the
# worker's rate control (bitrate, 2 s VBV, a keyframe a second), fragmented
# MP4. Also: the relay sealing the composite as it arrives (AES-256-GCM,
# 64 KiB chunks) and a download decrypting it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-20}
CALLS=${CALLS:-1}
W=1280; H=720; TIER=720p
if [ -n "${QUICK:-}" ]; then
  SECS=3; W=640; H=360; TIER=360p
  bin=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/debug/onair}
  [ -x "$bin" ] || cargo build --bin onair
  PROFILE=
elif [ -n "${ONAIR_BIN:-}" ]; then
  bin=$ONAIR_BIN
  PROFILE=$(case "$bin" in */release/*) echo --release;; esac)
else
  cargo build --release --bin onair >/dev/null 2>&1 || cargo build --release --bin onair
  bin=$PWD/${CARGO_TARGET_DIR:-target}/release/onair
  PROFILE=--release
fi
# The worker's composite bitrate (crates/call/src/cloud.rs): 3 kbit/s per 1000 pixels of the composite.
KBPS=$((2 * W * H / 1000 * 3))
tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# ---- FFmpeg: the same pictures and sound the callers send (onair's test
# source, recorded, then encoded as a call sends it: H.264 at 2500 kbit/s,
# Opus; not timed), twice side by side (timed). Moving pictures on both
# sides: a still half (smptebars) made FFmpeg's encode look cheaper.
ONAIR_HOME=$tmp/src-home "$bin" record --video test --audio test --preset 720p30 --duration "$SECS" --out "$tmp/src.mp4" >"$tmp/src.log" 2>&1
ffmpeg -hide_banner -loglevel error -y -i "$tmp/src.mp4" -vf "scale=${W}:${H}" \
  -c:v libx264 -preset veryfast -tune zerolatency -b:v 2500k -g 300 -c:a libopus -b:a 48k "$tmp/in0.mkv"
/usr/bin/time -f "%U %S" -o "$tmp/time" ffmpeg -hide_banner -loglevel error -y -i "$tmp/in0.mkv" -i "$tmp/in0.mkv" \
  -filter_complex "[0:v][1:v]hstack=inputs=2[v];[0:a][1:a]amix=inputs=2[a]" -map "[v]" -map "[a]" \
  -c:v libx264 -preset veryfast -b:v "${KBPS}k" -maxrate "${KBPS}k" -bufsize "$((KBPS * 2))k" -g 30 -c:a aac -b:a 128k \
  -f mp4 -movflags frag_keyframe+empty_moov+default_base_moof "$tmp/composite.mp4"
read -r fu fs < "$tmp/time"

# ---- OnAir: relay + worker + CALLS calls.
token=bench-recorder-token-0123456789
"$bin" relay --listen 127.0.0.1:0 --rtmp 127.0.0.1:0 --data "$tmp/relay" --ready-file "$tmp/ready" \
  --recorder-token "$token" --cloud-tier "$TIER" --cloud-min-free-mb 20 >"$tmp/relay.log" 2>&1 & pids+=($!)
for _ in $(seq 200); do [ -s "$tmp/ready" ] && break; sleep 0.1; done
relay="http://$(cat "$tmp/ready")"
ONAIR_RECORDER_TOKEN=$token "$bin" recorder --relay "$relay" --ice-ip 127.0.0.1 --jobs "$CALLS" \
  --work-dir "$tmp" >"$tmp/worker.log" 2>&1 & wpid=$!; pids+=($wpid)
media=(--video test --audio test --size "${W}x${H}" --fps 30 --ice-ip 127.0.0.1 --video-bitrate 2500 --max-bitrate 2500)
for i in $(seq "$CALLS"); do
  for u in a$i b$i; do ONAIR_HOME=$tmp/$u ONAIR_PASSWORD=benchbench "$bin" account register --relay "$relay" --user "$u" >>"$tmp/accounts.log" 2>&1; done
  ONAIR_HOME=$tmp/b$i "$bin" recordings cloud consent allow >>"$tmp/accounts.log" 2>&1
  ( sleep $((SECS + 120)) ) | ONAIR_HOME=$tmp/b$i "$bin" call --answer --from "a$i" "${media[@]}" >"$tmp/b$i.log" 2>&1 & pids+=($!)
  for _ in $(seq 600); do grep -q "waiting for a call" "$tmp/b$i.log" 2>/dev/null && break; sleep 0.1; done
  ( sleep $((SECS + 120)) ) | ONAIR_HOME=$tmp/a$i "$bin" call "b$i" --record-cloud "${media[@]}" >"$tmp/a$i.log" 2>&1 & pids+=($!)
done
legs=$((2 * CALLS))
for _ in $(seq 1200); do
  [ "$(grep -c "media arrives" "$tmp/worker.log" 2>/dev/null || true)" -ge "$legs" ] && break; sleep 0.1
done
if [ "$(grep -c "media arrives" "$tmp/worker.log" || true)" -lt "$legs" ]; then
  echo "the recorder did not get both legs of every call; its log:" >&2; cat "$tmp/worker.log" >&2; exit 1
fi
ticks() { awk '{print $14 + $15}' "/proc/$wpid/stat"; }
hz=$(getconf CLK_TCK)
sleep 2 # the composite settles (first keyframes, encoder start)
t0=$(ticks); s0=$(date +%s.%N)
if [ -n "${PERF:-}" ]; then # PERF=FILE: where the worker spends its time (perf report -i FILE)
  perf record -q -F 499 -g -p "$wpid" -o "$PERF" -- sleep "$SECS" >/dev/null 2>&1
else
  sleep "$SECS"
fi
t1=$(ticks); s1=$(date +%s.%N)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$wpid/status")

# ---- The relay's encryption at rest, on FFmpeg's composite of this run.
cargo build $PROFILE -q -p onair-vault --example seal
dir=${CARGO_TARGET_DIR:-target}/$([ -n "$PROFILE" ] && echo release || echo debug)/examples
read -r bytes seal open < <("$dir/seal" "$tmp/composite.mp4" "$tmp/composite.vault")

awk -v s="$SECS" -v fu="$fu" -v fs="$fs" -v seal="$seal" -v open="$open" -v b="$bytes" -v w="$W" -v h="$H" \
    -v calls="$CALLS" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v s0="$s0" -v s1="$s1" -v rss="$rss" -v kbps="$KBPS" 'BEGIN {
  ff = (fu + fs) / s * 100;
  ours = (t1 - t0) / hz / (s1 - s0) * 100 / calls;
  seal_pc = seal / s * 100;
  printf "composite: two %dx%d@30 calls side by side (%dx%d, x264 veryfast, %d kbit/s), %d s\n", w, h, 2 * w, h, kbps, s;
  printf "FFmpeg CLI (decode both, hstack + amix, encode): %5.1f %% of a core per call -> %d concurrent recordings on 2 cores\n", ff, (ff > 0 ? int(200 / ff) : 0);
  printf "onair recorder (%d call(s) at once):              %5.1f %% of a core per call -> %d concurrent recordings on 2 cores (peak RSS %.0f MB)\n", calls, ours, (ours > 0 ? int(200 / ours) : 0), rss / 1024;
  printf "relay sealing the composite as it arrives:       %.3f %% of a core per call (%.0f MB/s); a download decrypts at %.0f MB/s\n", seal_pc, b / 1e6 / seal, b / 1e6 / open;
  printf "ratio: onair recorder / FFmpeg CLI = %.2f\n", (ff > 0 ? ours / ff : 0);
}'
