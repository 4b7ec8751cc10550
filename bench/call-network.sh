#!/usr/bin/env bash
# A call on bad networks, OnAir against Chromium in the same run. For each
# condition, alice calls bob through a local relay with alice's media going
# through `onair netem` in front of coturn (relay-only ICE on her side; bob
# answers on a loopback host candidate), once with two `onair call`
# processes (release build, 360p30 test source) and once with two headless
# Chromium pages on the relay's /call page (fake camera asked for 640x360,
# fake microphone; libwebrtc as Chromium ships it). Prints, for alice→bob:
# freeze time per minute, frames delivered, what alice sent against her
# congestion-control target (goal <= 1.3x) and the link, glass-to-glass
# p50/p95 where measurable (OnAir's test pattern carries a stamp; Chromium's
# fake camera does not), then the ratios (goal: OnAir's freeze time <=
# Chromium's). Freezes are counted alike on both sides, as WebRTC's stats
# define freezeCount/totalFreezesDuration: a gap between rendered pictures of
# at least max(3x the average of the last 30 gaps, that average + 150 ms),
# the whole gap frozen (Chromium's own figures; OnAir's receiver counts the
# same way in --stats-json freezes/freeze_ms).
# SECS per condition and side (default 30); ONLY='5% loss,10% loss' runs
# just those conditions; QUICK=1: the debug build, one
# condition of 4 s, to prove the benchmark still runs (its figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  SECS=${SECS:-4}
  bin=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/debug/onair}
  [ -x "$bin" ] || cargo build --bin onair
else
  SECS=${SECS:-30}
  # ONAIR_BIN=…: measure that build as it is.
  [ -n "${ONAIR_BIN:-}" ] || cargo build --release --bin onair >/dev/null 2>&1 || cargo build --release --bin onair
  bin=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/release/onair}
fi
command -v turnserver >/dev/null || { echo "needs coturn (turnserver): scripts/deps.sh" >&2; exit 1; }
command -v chromium >/dev/null || { echo "needs chromium: scripts/deps.sh" >&2; exit 1; }

# name|netem arguments|the link's cap in kbit/s (0: none)
conditions=(
  "1% loss|--loss 0.01 --both|0"
  "5% loss|--loss 0.05 --both|0"
  "10% loss|--loss 0.10 --both|0"
  "RTT 50 ms, 30 ms jitter|--delay-ms 25 --jitter-ms 30 --both|0"
  "RTT 200 ms|--delay-ms 100 --both|0"
  "1 Mbit/s cap|--rate-kbps 1000|1000"
  "5% loss, 1 Mbit/s cap, 5 s outage|--loss 0.05 --rate-kbps 1000 --outage 12+5|1000"
)
[ -n "${QUICK:-}" ] && conditions=("5% loss, 1 Mbit/s cap, 1 s outage|--loss 0.05 --rate-kbps 1000 --outage 2+1|1000")
# ONLY='10% loss': just the conditions whose name is exactly one of these (comma-separated),
# or the one named whole (ONLY='5% loss, 1 Mbit/s cap, 5 s outage').
if [ -n "${ONLY:-}" ]; then
  # A whole name first (the outage's has commas in it).
  keep=(); for c in "${conditions[@]}"; do [ "${c%%|*}" = "$ONLY" ] && keep+=("$c"); done
  IFS=',' read -ra only <<<"$ONLY"
  [ ${#keep[@]} -gt 0 ] || for c in "${conditions[@]}"; do for o in "${only[@]}"; do [ "${c%%|*}" = "$o" ] && keep+=("$c"); done; done
  conditions=("${keep[@]}")
fi

dir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

secret=bench-turn-secret
turn_port=$(free_port)
turnserver -n --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port "$turn_port" --use-auth-secret \
  --static-auth-secret=$secret --realm onair --no-tls --no-dtls --no-cli --allow-loopback-peers \
  --log-file stdout --simple-log --pidfile "$dir/turn.pid" >/dev/null 2>&1 & pids+=($!)

# netem and a relay whose TURN URL is netem, both in $1; sets $netem and $relay.
start_network() {
  local run=$1 args=$2
  # shellcheck disable=SC2086
  "$bin" netem --to "127.0.0.1:$turn_port" --seed 15 $args --ready-file "$run/netem.addr" --stats-json "$run/netem.json" 2>/dev/null & netem=$!
  wait_file "$run/netem.addr"
  "$bin" relay --listen 127.0.0.1:0 --rtmp 127.0.0.1:0 --data "$run/relay" --ready-file "$run/ready" \
    --turn-url "turn:$(cat "$run/netem.addr")" --turn-secret $secret >/dev/null 2>&1 & relay=$!
  wait_file "$run/ready"
  for u in alice bob; do
    ONAIR_HOME=$run/$u ONAIR_PASSWORD=benchbench "$bin" account register --relay "http://$(cat "$run/ready")" --user $u >/dev/null 2>&1
  done
}

# Once a second while $2 says so: bytes alice sent into netem, and the
# target she had meanwhile (from $3, a command printing "connected target_bps").
# Prints the ratio and alice's average kbit/s.
sample() {
  python3 - "$@" <<'PY'
import json, subprocess, sys, time
run, alive, probe = sys.argv[1], sys.argv[2], sys.argv[3]
def netem():
    try: return json.load(open(f"{run}/netem.json"))["up"]["bytes_in"]
    except Exception: return None
sent = target = secs = 0.0; last = None
while subprocess.run(alive, shell=True).returncode == 0:
    time.sleep(1)
    out = subprocess.run(probe, shell=True, capture_output=True, text=True).stdout.split()
    n = netem()
    if n is None or len(out) < 2 or out[0] != "1": continue
    now = (time.monotonic(), n, float(out[1]))
    if last:
        sent += now[1] - last[1]; target += last[2] / 8 * (now[0] - last[0]); secs += now[0] - last[0]
    last = now
print(f"{sent / target if target else 0:.2f} {sent * 8 / 1000 / secs if secs else 0:.0f}")
PY
}

onair_run() {
  local run=$1 args=$2
  start_network "$run" "$args"
  local common=(--video test --audio test --preset 360p --ice-ip 127.0.0.1 --no-speaker)
  # bob's stdin stays open (EOF would hang up) until the run is over.
  mkfifo "$run/bob.in"
  sleep $((SECS + 60)) > "$run/bob.in" & local holder=$!
  ONAIR_HOME=$run/bob "$bin" call --answer "${common[@]}" --stats-json "$run/bob.json" <"$run/bob.in" >"$run/bob.log" 2>&1 & local bob=$!
  for _ in $(seq 300); do grep -q "waiting for a call" "$run/bob.log" 2>/dev/null && break; sleep 0.1; done
  ONAIR_HOME=$run/alice "$bin" call bob "${common[@]}" --ice-relay-only --duration "$SECS" --stats-json "$run/alice.json" </dev/null >"$run/alice.log" 2>&1 & local alice=$!
  sample "$run" "kill -0 $alice 2>/dev/null" \
    "python3 -c 'import json; a=json.load(open(\"$run/alice.json\")); print(int(a[\"connected\"]), (a[\"target_kbps\"] + 48) * 1000)' 2>/dev/null" > "$run/sent.txt"
  wait $alice || true
  for _ in $(seq 100); do [ -s "$run/bob.json" ] && grep -q '"ended": "the other side' "$run/bob.json" && break; sleep 0.1; done
  kill $bob $relay $netem $holder 2>/dev/null || true; wait $bob $relay $netem $holder 2>/dev/null || true
  python3 - "$run" "$SECS" <<'PY' > "$run/result.json"
import json, sys
run, secs = sys.argv[1], float(sys.argv[2])
a, b = json.load(open(f"{run}/alice.json")), json.load(open(f"{run}/bob.json"))
ratio, kbps = open(f"{run}/sent.txt").read().split()
dur = max(b.get("duration_s") or secs, 1.0)
print(json.dumps({"freeze_s_per_min": b["freeze_ms"] / dur * 60 / 1000, "freezes": b["freezes"], "frames": b["video_frames_decoded"],
  "sent": a["video_frames_sent"], "ratio": float(ratio), "kbps": float(kbps), "p50": b["latency_ms_p50"], "p95": b["latency_ms_p95"],
  "connected": a["connected"], "steps": len(a.get("size_steps") or [])}))
PY
}

# The newest "stats" line of a page's log as key=value pairs.
page_stats() { grep -a '"ONAIR stats ' "$1" 2>/dev/null | tail -1 | sed 's/.*"ONAIR stats //; s/", source.*//'; }
browser() {
  local name=$1 url=$2
  setsid chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
    --autoplay-policy=no-user-gesture-required --allow-loopback-in-peer-connection \
    --disable-features=WebRtcHideLocalIpsWithMdns --enable-logging=stderr --v=0 \
    --user-data-dir="$run/$name-profile" "$url" >"$run/$name.log" 2>&1 &
}

chromium_run() {
  local run=$1 args=$2
  start_network "$run" "$args"
  local base="http://$(cat "$run/ready")/call?password=benchbench&size=640x360"
  browser bob "$base&user=bob&answer=1"; local bob=$!
  for _ in $(seq 300); do grep -aq "call state=signed_in" "$run/bob.log" 2>/dev/null && break; sleep 0.1; done
  browser alice "$base&user=alice&call=bob&relay_only=1"; local alice=$!
  for _ in $(seq 600); do grep -aq "call state=connected" "$run/alice.log" 2>/dev/null && break; sleep 0.1; done
  local until=$(($(date +%s) + SECS))
  sample "$run" "[ \$(date +%s) -lt $until ]" \
    "grep -a '\"ONAIR stats ' $run/alice.log | tail -1 | grep -o 'target_bps=[1-9][0-9]*' | sed 's/target_bps=/1 /'" > "$run/sent.txt"
  page_stats "$run/bob.log" > "$run/bob.stats"; page_stats "$run/alice.log" > "$run/alice.stats"
  kill -- -"$alice" -"$bob" 2>/dev/null || kill $alice $bob 2>/dev/null || true
  kill $relay $netem 2>/dev/null || true; wait $alice $bob $relay $netem 2>/dev/null || true
  python3 - "$run" "$SECS" <<'PY' > "$run/result.json"
import json, sys
run, secs = sys.argv[1], float(sys.argv[2])
kv = lambda p: dict(x.split("=", 1) for x in open(p).read().split() if "=" in x)
a, b = kv(f"{run}/alice.stats"), kv(f"{run}/bob.stats")
ratio, kbps = open(f"{run}/sent.txt").read().split()
n = lambda d, k: float(d.get(k) or 0)
print(json.dumps({"freeze_s_per_min": n(b, "freeze_ms") / secs * 60 / 1000, "freezes": int(n(b, "freezes")), "frames": int(n(b, "frames_decoded")),
  "sent": int(n(a, "frames_sent")), "ratio": float(ratio), "kbps": float(kbps), "p50": None, "p95": None, "connected": bool(b), "steps": None}))
PY
}

echo "calls through onair netem, 360p30, ${SECS} s per condition and side (alice→bob); OnAir ($(basename "$(dirname "$bin")") build) and Chromium $(chromium --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1)"
for c in "${conditions[@]}"; do
  IFS='|' read -r name args cap <<<"$c"
  base=$dir/$(echo "$name" | tr -c 'a-zA-Z0-9' _)
  for side in onair chromium; do
    run=$base/$side; mkdir -p "$run"
    "${side}_run" "$run" "$args" || echo '{"connected": false}' > "$run/result.json"
  done
  python3 - "$base" "$name" "$cap" <<'PY'
import json, sys
base, name, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
o, c = (json.load(open(f"{base}/{s}/result.json")) for s in ("onair", "chromium"))
p = lambda v: "-" if v is None else f"{v:.0f}"
def line(who, r):
    if not r.get("connected"): return f"    {who:<8} did not connect"
    link = f", {r['kbps'] / cap:.2f}x the link" if cap else ""
    return (f"    {who:<8} {r['freeze_s_per_min']:5.1f} s frozen per minute ({r['freezes']} freezes) · frames {r['frames']}/{r['sent']} · "
            f"sent {r['kbps']:.0f} kbit/s = {r['ratio']:.2f}x target{link} · p50 {p(r['p50'])} ms p95 {p(r['p95'])} ms")
print(f"  {name}")
print(line("OnAir", o)); print(line("Chromium", c))
if o.get("connected") and c.get("connected"):
    fr = "-" if c["freeze_s_per_min"] == 0 else f"{o['freeze_s_per_min'] / c['freeze_s_per_min']:.2f}"
    print(f"    ratios   freeze OnAir/Chromium {fr} (goal <= 1; '-' when Chromium froze 0 s) · frames {o['frames'] / max(c['frames'], 1):.2f} · "
          f"OnAir sent {o['ratio']:.2f}x its target (goal <= 1.3), Chromium {c['ratio']:.2f}x")
PY
done
