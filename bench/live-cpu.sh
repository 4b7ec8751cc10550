#!/usr/bin/env bash
# CPU time of `onair live` (720p30, x264 veryfast, 20 s to a local nginx-rtmp)
# against the FFmpeg CLI doing the same job in the same run, to one destination
# and to three (FFmpeg with its tee muxer). Prints both and the ratios
# onair/ffmpeg (goal: <= 0.9). Run from anywhere.
# Both encode the same pictures and sound: FFmpeg's testsrc2 rendered once to
# a raw I420 clip and a 440 Hz tone to a WAV, which both read and loop
# (x264's cost depends on the content, and onair's test pattern is easier to
# encode than testsrc2). A last line compares each side's own test sources
# (onair's pattern and tone with clicks; lavfi testsrc2 and sine).
# QUICK=1 (CI, scripts/test.sh): 2 s with the debug build `cargo test` made,
# to prove the benchmark still runs; its figures mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  SECS=${SECS:-2}
  bin=${ONAIR_BIN:-${CARGO_TARGET_DIR:-target}/debug/onair}
  [ -x "$bin" ] || cargo build --bin onair
else
  SECS=${SECS:-20}
  bin=${ONAIR_BIN:-${CARGO_TARGET_DIR:-target}/release/onair}
  bash scripts/deps.sh test >/dev/null
  # ONAIR_BIN=PATH measures that binary as it is (e.g. a build kept from before a change).
  if [ -z "${ONAIR_BIN:-}" ]; then
    cargo build --release --bin onair >/dev/null 2>&1 || cargo build --release --bin onair
  fi
fi

dir=$(mktemp -d); chmod 777 "$dir"; mkdir -m 777 "$dir/rec"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port); tlsport=$(free_port)
# The template's RTMPS front (nginx's stream module) needs a certificate.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@TLSPORT@|$tlsport|g" -e 's|record all;|record off;|' \
  tests/nginx/nginx.conf.in > "$dir/nginx.conf"
if grep -q '@[A-Z]*@' "$dir/nginx.conf"; then
  echo "bench/live-cpu.sh: tests/nginx/nginx.conf.in has a placeholder this script does not fill:" >&2
  grep -o '@[A-Z]*@' "$dir/nginx.conf" | sort -u >&2
  exit 1
fi
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" & ngx=$!
trap 'kill $ngx 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
(echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null || { echo "nginx did not start:" >&2; cat "$dir/error.log" >&2; exit 1; }

# CPU seconds (user+sys) of one command, from the kernel's accounting of the child.
cpu() { python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime + r.ru_stime:.2f}")
PY
}

# The shared pictures and sound: 4 s of testsrc2, raw (decoding it is a
# copy), and a 440 Hz tone as 48 kHz float WAV, both looped by both.
clip="$dir/testsrc2.nut"; tone="$dir/tone.wav"; clip_s=$([ -n "${QUICK:-}" ] && echo 1 || echo 4)
ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1280x720:rate=30" -t "$clip_s" -c:v rawvideo -pix_fmt yuv420p "$clip"
ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$clip_s" -ac 2 -c:a pcm_f32le "$tone"
# Written back now, not during the first measured run.
sync "$clip" "$tone"
# x264 exactly as onair sets it (fixed closed GOPs, IDR keyframes): the
# streams' SEI option strings match, line for line.
x264=(-c:v libx264 -preset veryfast -b:v 2500k -maxrate 2500k -bufsize 5000k -g 60 -forced-idr 1
  -x264-params scenecut=0:open-gop=0 -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2)
sine=(-re -f lavfi -i "sine=frequency=440:sample_rate=48000")
files=(-stream_loop -1 -re -i "$clip" -stream_loop -1 -re -i "$tone" -map 0:v -map 1:a)
onair_live() { cpu "$bin" live "$@" --preset 720p30 --x264-preset veryfast --encoder x264 --duration "$SECS"; }

onair=$(onair_live --to "rtmp://127.0.0.1:$port/live/bench-onair" --video "file:$clip" --audio "file:$tone" --loop)
ffmpeg=$(cpu ffmpeg -nostdin "${files[@]}" \
  -t "$SECS" "${x264[@]}" -f flv "rtmp://127.0.0.1:$port/live/bench-ffmpeg")
# Multistreaming: one encode to three destinations; FFmpeg's peer is its
# `tee` muxer (global headers, as FLV over tee needs them).
to3=(); tee=""
for i in 1 2 3; do
  to3+=(--to "rtmp://127.0.0.1:$port/live/bench-onair$i")
  tee+="${tee:+|}[f=flv:onfail=ignore]rtmp://127.0.0.1:$port/live/bench-ffmpeg$i"
done
onair3=$(onair_live "${to3[@]}" --video "file:$clip" --audio "file:$tone" --loop)
ffmpeg3=$(cpu ffmpeg -nostdin "${files[@]}" \
  -t "$SECS" -flags +global_header "${x264[@]}" -f tee "$tee")
# Each side's own test source.
onairt=$(onair_live --to "rtmp://127.0.0.1:$port/live/bench-onair" --video test --audio test)
ffmpegt=$(cpu ffmpeg -nostdin -re -f lavfi -i "testsrc2=size=1280x720:rate=30" "${sine[@]}" \
  -t "$SECS" "${x264[@]}" -f flv "rtmp://127.0.0.1:$port/live/bench-ffmpeg")
python3 - "$onair" "$ffmpeg" "$onair3" "$ffmpeg3" "$onairt" "$ffmpegt" "$SECS" <<'PY'
import os, sys
o, f, o3, f3, ot, ft, s = (float(a) for a in sys.argv[1:8])
print(f"same pictures and sound (testsrc2 raw, a 440 Hz WAV; looped), {s:.0f} s of 720p30:")
print(f"onair live  : {o:6.2f} s CPU ({100*o/s:5.1f}% of a core)")
print(f"ffmpeg CLI  : {f:6.2f} s CPU ({100*f/s:5.1f}% of a core)")
print(f"ratio onair/ffmpeg: {o/f:.2f}  (goal <= 0.9)")
print(f"three destinations: onair {o3:6.2f} s CPU, ffmpeg (tee muxer) {f3:6.2f} s CPU")
print(f"ratio onair/ffmpeg, three destinations: {o3/f3:.2f}  (goal <= 0.9)")
print(f"own test sources (onair's pattern, lavfi testsrc2): onair {ot:6.2f} s, ffmpeg {ft:6.2f} s, ratio {ot/ft:.2f}")
print(f"load average at the end: {os.getloadavg()[0]:.1f}")
PY
