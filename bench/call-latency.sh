#!/usr/bin/env bash
# Glass-to-glass latency of a 1:1 call on loopback: two `onair call`
# processes (release build) through a local `onair relay`, 720p30 test
# source both ways, SECS seconds (default 60). Latency of a frame = the
# receiver's wall clock when it decoded the frame − the capture time stamped
# into the picture by the sender (same machine, same clock). Prints p50/p95
# per direction. Goal: p50 <= 40 ms. Run from anywhere.
# QUICK=1 (CI, scripts/test.sh): 3 s at 320x240 with the debug build, to
# prove the benchmark still runs; its figures mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  SECS=${SECS:-2}
  SIZE=${SIZE:-320x240}
  bin=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/debug/onair}
  [ -x "$bin" ] || cargo build --bin onair
else
  SECS=${SECS:-60}
  SIZE=${SIZE:-1280x720}
  cargo build --release --bin onair >/dev/null 2>&1 || cargo build --release --bin onair
  bin=${ONAIR_BIN:-$PWD/target/release/onair}
  [ -n "${CARGO_TARGET_DIR:-}" ] && [ -z "${ONAIR_BIN:-}" ] && bin=$CARGO_TARGET_DIR/release/onair
fi

dir=$(mktemp -d)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"; }
pids=()
trap cleanup EXIT
"$bin" relay --listen 127.0.0.1:0 --rtmp 127.0.0.1:0 --data "$dir/relay" --ready-file "$dir/ready" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -s "$dir/ready" ] && break; sleep 0.1; done
relay="http://$(cat "$dir/ready")"
for u in alice bob; do
  ONAIR_HOME=$dir/$u ONAIR_PASSWORD=benchbench "$bin" account register --relay "$relay" --user $u >/dev/null
done
common=(--video test --audio test --size "$SIZE" --fps 30 --ice-ip 127.0.0.1 --video-bitrate 2500 --max-bitrate 2500)
( sleep $((SECS + 60)) ) | ONAIR_HOME=$dir/bob "$bin" call --answer "${common[@]}" --stats-json "$dir/bob.json" >"$dir/bob.log" 2>&1 & pids+=($!)
for _ in $(seq 300); do grep -q "waiting for a call" "$dir/bob.log" 2>/dev/null && break; sleep 0.1; done
ONAIR_HOME=$dir/alice "$bin" call bob "${common[@]}" --duration "$SECS" --stats-json "$dir/alice.json" </dev/null >"$dir/alice.log" 2>&1
for _ in $(seq 300); do [ -s "$dir/bob.json" ] && break; sleep 0.1; done
python3 - "$dir/alice.json" "$dir/bob.json" "$SECS" "$SIZE" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
secs, size = sys.argv[3], sys.argv[4]
print(f"call latency, {size}@30 test source, loopback through a local relay, {secs} s per direction")
for name, tx, rx in (("alice→bob", a, b), ("bob→alice", b, a)):
    print(f"  {name}: p50 {rx['latency_ms_p50']:.1f} ms  p95 {rx['latency_ms_p95']:.1f} ms  "
          f"({rx['latency_samples']} frames measured; decoded {rx['video_frames_decoded']} of {tx['video_frames_sent']} sent; "
          f"rtt {rx['rtt_ms']} ms, quality {rx['quality_score']})")
print("goal: p50 <= 40 ms")
PY
