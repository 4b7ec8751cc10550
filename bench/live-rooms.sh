#!/usr/bin/env bash
# Live rooms benchmark (issue 6): push-to-viewer latency of the low-latency
# paths (fragmented MP4, what the app plays with MSE; and HTTP-FLV) and of
# HLS, measured at the same time on one 720p30 room over SECS seconds, then
# fMP4 latency with N concurrent raw fMP4 viewers; low-latency HLS as hls.js
# plays it (its own latency figure, headless Chromium); then the relay's CPU
# for a quality ladder (1080p30 source, 720p/480p/360p rungs, all watched)
# against the FFmpeg CLI encoding the same ladder from the same file.
#   bench/live-rooms.sh [SECS=60] [VIEWERS="100 500 1000"]
# Needs a release build (cargo build --release) and python3 (the raw viewers);
# chromium and the UI's packages (hls.js) for the hls.js line.
# QUICK=1 (CI, scripts/test.sh): 3 s, 5 raw viewers, the debug build, a 480p
# source with one 360p rung, to prove the benchmark still runs; its figures
# mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  SECS=${1:-2}
  VIEWERS=${2:-5}
  VSECS=3
  LSECS=2 LSIZE=854x480 LRUNGS=360
  B=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/debug/onair}
else
  SECS=${1:-60}
  VIEWERS=${2:-"100 500 1000"}
  VSECS=18
  LSECS=20 LSIZE=1920x1080 LRUNGS="720 480 360"
  B=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/release/onair}
fi
W=$(mktemp -d)
export ONAIR_HOME=$W/home ONAIR_PASSWORD=bench-password
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$W"' EXIT
ulimit -n 4096 2>/dev/null || true

# Every raw viewer comes from 127.0.0.1: the per-address cap (64) is lifted.
printf '[limits]\nmax_conns_per_addr = 0\n' > "$W/relay.toml"
"$B" relay --config "$W/relay.toml" --listen 127.0.0.1:0 --rtmp 127.0.0.1:0 --data "$W/data" --ready-file "$W/ready" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -s "$W/ready" ] && break; sleep 0.1; done
HP=$(cat "$W/ready")
"$B" account register --relay "http://$HP" --user bench >/dev/null
ID=$("$B" room create Bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$B" live --to "relay://$ID" --video test --audio test --preset 720p30 --duration $((SECS * 2 + 120)) </dev/null >/dev/null 2>&1 & pids+=($!)

# hls.js in low-latency mode (parts, blocking reloads) beside the watchers:
# its figure is the live edge of the playlist minus the playhead.
HLSJS=$PWD/ui/node_modules/hls.js/dist/hls.min.js
if [ -f "$HLSJS" ] && command -v chromium >/dev/null; then
  # A player opened on a room not yet live starts far behind and stays there.
  for _ in $(seq 150); do curl -sf "http://$HP/live/$ID/ll.m3u8" >/dev/null && break; sleep 0.2; done
  cat > "$W/ll.html" <<EOF
<!doctype html><video id=v muted autoplay playsinline></video><script src="file://$HLSJS"></script><script>
const v = document.getElementById('v');
const hls = new Hls({ lowLatencyMode: true, liveSyncDuration: 0.6, liveMaxLatencyDuration: 1.0, maxLiveSyncPlaybackRate: 1.5 });
hls.loadSource('http://$HP/live/$ID/index.m3u8'); hls.attachMedia(v);
setInterval(() => { if (hls.latency > 0 && v.currentTime > 3) console.log('ONAIR latency=' + hls.latency.toFixed(3)); }, 500);
</script>
EOF
  timeout $((SECS + 8)) chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$W/chrome" \
    --enable-logging=stderr --v=0 --autoplay-policy=no-user-gesture-required "file://$W/ll.html" 2>"$W/chrome.log" >/dev/null & pids+=($!)
else
  echo "(hls.js line skipped: needs chromium and ui/node_modules: cd ui && npm install)"
fi

echo "== one 720p30 room, ${SECS}s, four viewers at once (latency = decode time - capture stamp) =="
"$B" watch "$ID" --low-latency --duration "$SECS" --stats-json "$W/mp4.json" 2>&1 | sed 's/^/fMP4 (MSE path): /' | grep watched & llp=$!
"$B" watch "$ID" --low-latency --flv --duration "$SECS" --stats-json "$W/flv.json" 2>&1 | sed 's/^/HTTP-FLV:        /' | grep watched & flp=$!
"$B" watch "$ID" --ll-hls --duration "$SECS" --stats-json "$W/llhls.json" 2>&1 | sed 's/^/LL-HLS (parts):  /' | grep watched & lhp=$!
"$B" watch "$ID" --duration "$SECS" --stats-json "$W/hls.json" 2>&1 | sed 's/^/HLS:             /' | grep watched
wait $llp $flp $lhp || true
python3 - "$W" <<'PY'
import json, sys
d = {k: json.load(open(f"{sys.argv[1]}/{k}.json")) for k in ("mp4", "flv", "hls", "llhls")}
p = {k: v["latency_ms_p50"] for k, v in d.items()}
if all(p.values()):
    print(f"p50 ratio fMP4 / HTTP-FLV: {p['mp4'] / p['flv']:.2f}   HLS / fMP4: {p['hls'] / p['mp4']:.1f}   LL-HLS by parts / whole segments: {p['llhls'] / p['hls']:.2f} (LL-HLS goal p50 <= 1000 ms)")
PY
if [ -f "$W/ll.html" ]; then
  sleep 3
  python3 - "$W/chrome.log" <<'PY'
import re, statistics, sys
lat = sorted(float(m) for m in re.findall(r"ONAIR latency=([0-9.]+)", open(sys.argv[1], errors="replace").read()))
if lat:
    print(f"LL-HLS in hls.js (low-latency mode): latency p50 {statistics.median(lat)*1000:.0f} ms, p95 {lat[min(len(lat) - 1, int(len(lat) * 0.95))]*1000:.0f} ms over {len(lat)} samples (goal p50 <= 1000 ms)")
else:
    tail = [l for l in open(sys.argv[1], errors="replace").read().splitlines() if "dbus" not in l][-4:]
    print("LL-HLS in hls.js: no latency figure; chromium said:", *tail, sep="\n  ")
PY
fi

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
        except OSError: d = b""
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

echo "== quality ladder: a ${LSIZE} source, rungs ${LRUNGS// /p, }p all watched, ${LSECS}s: relay CPU against the FFmpeg CLI encoding the same ladder =="
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=$LSIZE:rate=30" -f lavfi -i sine=frequency=440 \
  -c:v libx264 -preset veryfast -g 30 -b:v 5M -c:a aac -t $((LSECS * 2 + 12)) "$W/ladder-src.mp4"
LADDER="source$(printf ',%sp' $LRUNGS)"
LJSON=$("$B" room create Ladder --ladder "$LADDER" --json)
LID=$(echo "$LJSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
LURL=$(echo "$LJSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rtmp_url"])')
ffmpeg -nostdin -v error -re -i "$W/ladder-src.mp4" -c copy -f flv "$LURL" 2>/dev/null & pids+=($!)
RPID=${pids[0]}
cpu() { python3 -c 'import sys; f=open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")",1)[1].split(); print((int(f[11])+int(f[12]))/100)' "$1"; }
for _ in $(seq 100); do curl -sf "http://$HP/live/$LID/ll.m3u8" >/dev/null && break; sleep 0.2; done
sleep 1
c0=$(cpu "$RPID"); sleep "$LSECS"; c1=$(cpu "$RPID")
TOP=${LRUNGS%% *}
for r in ${LRUNGS#"$TOP"}; do
  python3 "$W/viewers.py" 127.0.0.1 "${HP##*:}" "/live/$LID/${r}p/live.mp4" 1 $((LSECS + 4)) >/dev/null & pids+=($!)
done
# The top rung is decoded, so a relay that fell behind (and dropped) shows.
"$B" watch "$LID" --quality "${TOP}p" --low-latency --duration $((LSECS + 3)) --stats-json "$W/rung.json" >/dev/null 2>"$W/rung.log" & rp=$!
sleep 3   # each rung starts at the source's next keyframe
c2=$(cpu "$RPID"); sleep "$LSECS"; c3=$(cpu "$RPID")
wait $rp || true
python3 - "$W/rung.json" "$TOP" "$W/rung.log" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    n, t = d["video_frames_decoded"], d["seconds"]
    print(f"the {sys.argv[2]}p rung decoded {n} frames in {t:.1f} s ({n / max(t, 1):.1f} fps; the source is 30)")
except (OSError, ValueError, KeyError):
    print(f"(the {sys.argv[2]}p rung's viewer reported nothing:)", *open(sys.argv[3]).readlines()[-3:], sep="\n")
PY
# The same ladder with the FFmpeg CLI: one decode, the same scaler, x264
# settings and bitrates as the relay's rungs (crates/relay/src/live/ladder.rs).
declare -A KBPS=([1080]=4500 [720]=2500 [480]=1200 [360]=700)
graph="[0:v]split=$(echo $LRUNGS | wc -w)"; maps=()
i=0; for r in $LRUNGS; do graph+="[s$i]"; i=$((i + 1)); done; graph+=";"
i=0; for r in $LRUNGS; do
  graph+="[s$i]scale=-2:$r:flags=bilinear[o$i];"
  maps+=(-map "[o$i]" -c:v:$i libx264 -preset veryfast -tune zerolatency -x264-params scenecut=0 -b:v:$i "${KBPS[$r]}k" -maxrate:v:$i "$((KBPS[$r] * 3 / 2))k" -bufsize:v:$i "$((KBPS[$r] * 3))k")
  i=$((i + 1))
done
FF=$(python3 - "$LSECS" "$W/ladder-src.mp4" "${graph%;}" "${maps[@]}" <<'PY'
import resource, subprocess, sys
secs, src, graph, maps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-re", "-t", secs, "-i", src, "-filter_complex", graph, *maps, "-f", "null", "-"], check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.2f}")
PY
)
python3 - "$c0" "$c1" "$c2" "$c3" "$FF" "$LSECS" <<'PY'
import sys
c0, c1, c2, c3, ff, secs = map(float, sys.argv[1:])
base, busy = c1 - c0, c3 - c2
ladder = busy - base
print(f"relay CPU over {secs:.0f} s: passing the source through {base:.2f} s, with every rung watched {busy:.2f} s, so the ladder costs {ladder:.2f} s")
print(f"FFmpeg CLI, the same ladder from the same file: {ff:.2f} s")
if ff > 0:
    print(f"ladder CPU ratio relay / FFmpeg CLI: {ladder / ff:.2f} (goal <= 1.0)")
PY
