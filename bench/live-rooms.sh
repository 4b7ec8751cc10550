#!/usr/bin/env bash
# Live rooms benchmark (issue 6): push-to-viewer latency of the low-latency
# paths (fragmented MP4, what the app plays with MSE; and HTTP-FLV) and of
# HLS, measured at the same time on one 720p30 room over SECS seconds, then
# fMP4 latency with N concurrent raw fMP4 viewers.
#   bench/live-rooms.sh [SECS=60] [VIEWERS="100 500 1000"]
# Needs a release build (cargo build --release) and python3 (the raw viewers).
# QUICK=1 (CI, scripts/test.sh): 3 s, 5 raw viewers, the debug build, to
# prove the benchmark still runs; its figures mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  SECS=${1:-2}
  VIEWERS=${2:-5}
  VSECS=3
  B=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/debug/onair}
else
  SECS=${1:-60}
  VIEWERS=${2:-"100 500 1000"}
  VSECS=18
  B=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/release/onair}
fi
W=$(mktemp -d)
export ONAIR_HOME=$W/home ONAIR_PASSWORD=bench-password
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$W"' EXIT
ulimit -n 4096 2>/dev/null || true

"$B" relay --listen 127.0.0.1:0 --rtmp 127.0.0.1:0 --data "$W/data" --ready-file "$W/ready" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -s "$W/ready" ] && break; sleep 0.1; done
HP=$(cat "$W/ready")
"$B" account register --relay "http://$HP" --user bench >/dev/null
ID=$("$B" room create Bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$B" live --to "relay://$ID" --video test --audio test --preset 720p30 --duration $((SECS * 2 + 120)) </dev/null >/dev/null 2>&1 & pids+=($!)

echo "== one 720p30 room, ${SECS}s, three viewers at once (latency = decode time - capture stamp) =="
"$B" watch "$ID" --low-latency --duration "$SECS" --stats-json "$W/mp4.json" 2>&1 | sed 's/^/fMP4 (MSE path): /' | grep watched & llp=$!
"$B" watch "$ID" --low-latency --flv --duration "$SECS" --stats-json "$W/flv.json" 2>&1 | sed 's/^/HTTP-FLV:        /' | grep watched & flp=$!
"$B" watch "$ID" --duration "$SECS" --stats-json "$W/hls.json" 2>&1 | sed 's/^/HLS:             /' | grep watched
wait $llp $flp || true
python3 - "$W" <<'PY'
import json, sys
d = {k: json.load(open(f"{sys.argv[1]}/{k}.json")) for k in ("mp4", "flv", "hls")}
p = {k: v["latency_ms_p50"] for k, v in d.items()}
if all(p.values()):
    print(f"p50 ratio fMP4 / HTTP-FLV: {p['mp4'] / p['flv']:.2f}   HLS / fMP4: {p['hls'] / p['mp4']:.1f}")
PY

cat > "$W/viewers.py" <<'PY'
import selectors, socket, sys, time
host, port, path, n, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
sel = selectors.DefaultSelector()
for _ in range(n):
    s = socket.create_connection((host, port)); s.sendall(f"GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n".encode())
    s.setblocking(False); sel.register(s, selectors.EVENT_READ)
total, closed, end = 0, 0, time.time() + secs
while time.time() < end and closed < n:
    for key, _ in sel.select(timeout=0.5):
        try: d = key.fileobj.recv(262144)
        except BlockingIOError: continue
        if not d: sel.unregister(key.fileobj); closed += 1
        total += len(d)
print(f"{n} raw viewers: {total/secs/1e6:.1f} MB/s served, {closed} cut off", flush=True)
PY
for N in $VIEWERS; do
  python3 "$W/viewers.py" 127.0.0.1 "${HP##*:}" "/live/$ID/live.mp4" "$N" $((VSECS + 4)) & vp=$!
  sleep 1.5
  "$B" watch "$ID" --low-latency --duration "$VSECS" 2>&1 | grep watched | sed "s/^/with $N viewers: /"
  wait $vp
done
