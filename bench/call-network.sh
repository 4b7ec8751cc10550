#!/usr/bin/env bash
# A call on bad networks: two `onair call` processes (release build, 360p30
# test source) through a local relay, alice's media through `onair netem`
# in front of coturn (relay-only ICE on her side), one run per condition.
# Prints, per condition, for alice→bob: freeze time per minute (a picture
# more than 3x the frame interval late), frames delivered, what alice sent
# against her congestion-control target (goal <= 1.3x), and glass-to-glass
# p50/p95. Chromium↔Chromium through the same tool is not measured yet.
# SECS per condition (default 30); QUICK=1: the debug build, 4 s, one
# condition, to prove the benchmark still runs (its figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  SECS=${SECS:-4}
  bin=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/debug/onair}
  [ -x "$bin" ] || cargo build --bin onair
else
  SECS=${SECS:-30}
  cargo build --release --bin onair >/dev/null 2>&1 || cargo build --release --bin onair
  bin=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/release/onair}
fi
command -v turnserver >/dev/null || { echo "needs coturn (turnserver): scripts/deps.sh" >&2; exit 1; }

conditions=(
  "1% loss|--loss 0.01 --both"
  "5% loss|--loss 0.05 --both"
  "10% loss|--loss 0.10 --both"
  "RTT 50 ms, 30 ms jitter|--delay-ms 25 --jitter-ms 30 --both"
  "RTT 200 ms|--delay-ms 100 --both"
  "1 Mbit/s cap|--rate-kbps 1000"
  "5% loss, 1 Mbit/s cap, 5 s outage|--loss 0.05 --rate-kbps 1000 --outage 12+5"
)
[ -n "${QUICK:-}" ] && conditions=("5% loss, 1 Mbit/s cap, 1 s outage|--loss 0.05 --rate-kbps 1000 --outage 2+1")

dir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

secret=bench-turn-secret
turn_port=$(free_port)
turnserver -n --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port "$turn_port" --use-auth-secret \
  --static-auth-secret=$secret --realm onair --no-tls --no-dtls --no-cli --allow-loopback-peers \
  --log-file stdout --simple-log --pidfile "$dir/turn.pid" >/dev/null 2>&1 & pids+=($!)

echo "calls through onair netem, 360p30 test source, ${SECS} s per condition (alice→bob)"
for c in "${conditions[@]}"; do
  name=${c%%|*}; args=${c#*|}
  run=$dir/$(echo "$name" | tr -c 'a-zA-Z0-9' _); mkdir -p "$run"
  # shellcheck disable=SC2086
  "$bin" netem --to "127.0.0.1:$turn_port" --seed 15 $args --ready-file "$run/netem.addr" --stats-json "$run/netem.json" 2>/dev/null & netem=$!
  for _ in $(seq 100); do [ -s "$run/netem.addr" ] && break; sleep 0.1; done
  "$bin" relay --listen 127.0.0.1:0 --rtmp 127.0.0.1:0 --data "$run/relay" --ready-file "$run/ready" \
    --turn-url "turn:$(cat "$run/netem.addr")" --turn-secret $secret >/dev/null 2>&1 & relay=$!
  for _ in $(seq 100); do [ -s "$run/ready" ] && break; sleep 0.1; done
  for u in alice bob; do
    ONAIR_HOME=$run/$u ONAIR_PASSWORD=benchbench "$bin" account register --relay "http://$(cat "$run/ready")" --user $u >/dev/null 2>&1
  done
  common=(--video test --audio test --preset 360p --ice-ip 127.0.0.1 --no-speaker)
  # bob's stdin stays open (EOF would hang up) until the run is over.
  mkfifo "$run/bob.in"
  sleep $((SECS + 60)) > "$run/bob.in" & holder=$!
  ONAIR_HOME=$run/bob "$bin" call --answer "${common[@]}" --stats-json "$run/bob.json" <"$run/bob.in" >"$run/bob.log" 2>&1 & bob=$!
  for _ in $(seq 300); do grep -q "waiting for a call" "$run/bob.log" 2>/dev/null && break; sleep 0.1; done
  ONAIR_HOME=$run/alice "$bin" call bob "${common[@]}" --ice-relay-only --duration "$SECS" --stats-json "$run/alice.json" </dev/null >"$run/alice.log" 2>&1 & alice=$!
  # Once a second: bytes alice sent into the tool, and her target meanwhile.
  python3 - "$run" "$alice" <<'PY' > "$run/sent.txt"
import json, os, sys, time
run, pid = sys.argv[1], int(sys.argv[2])
def load(p):
    try: return json.load(open(p))
    except Exception: return None
sent = target = 0.0; last = None
while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
    time.sleep(1)
    n, a = load(f"{run}/netem.json"), load(f"{run}/alice.json")
    if not n or not a or not a.get("connected"): continue
    now = (time.monotonic(), n["up"]["bytes_in"], a["target_kbps"])
    if last:
        sent += now[1] - last[1]
        target += (last[2] + 48) * 1000 / 8 * (now[0] - last[0])
    last = now
print(f"{sent / target if target else 0:.2f}")
PY
  wait $alice || true
  for _ in $(seq 100); do [ -s "$run/bob.json" ] && grep -q '"ended": "the other side' "$run/bob.json" && break; sleep 0.1; done
  kill $bob $relay $netem $holder 2>/dev/null || true; wait $bob $relay $netem $holder 2>/dev/null || true
  python3 - "$run" "$name" "$SECS" <<'PY'
import json, sys
run, name, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
a, b = json.load(open(f"{run}/alice.json")), json.load(open(f"{run}/bob.json"))
ratio = open(f"{run}/sent.txt").read().strip()
dur = max(b.get("duration_s") or secs, 1.0)
p = lambda v: "-" if v is None else f"{v:.0f}"
print(f"  {name:<36} freezes {b['freezes']:>3} ({b['freeze_ms'] / dur * 60 / 1000:5.1f} s frozen per minute, longest gap {b['longest_gap_ms']:.0f} ms) · "
      f"frames {b['video_frames_decoded']}/{a['video_frames_sent']} · sent {ratio}x target (ends at {a['target_kbps']} kbit/s) · "
      f"p50 {p(b['latency_ms_p50'])} ms p95 {p(b['latency_ms_p95'])} ms · resends dropped {a['resends_dropped']}, keyframe requests {a['keyframe_requests']} ({a['keyframe_requests_ignored']} too soon)")
PY
done
echo "goal: sent <= 1.3x target in every condition; Chromium↔Chromium through the same tool: not measured yet"
