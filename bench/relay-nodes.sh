#!/usr/bin/env bash
# Scale-out benchmark (issue 14): the same group chat load against the
# single-node relay (SQLite, no bus) and against N relay nodes sharing a
# private PostgreSQL and a private Redis, all on this machine, in one run:
# delivered messages per second, p50/p99 for copies that crossed nodes and
# for those that did not, and relay CPU per delivered message (ratio).
#   bench/relay-nodes.sh [NODES=3] [RATE=1000] [CLIENTS=1000] [SECS=10]
# Needs a release build (cargo build --release), PostgreSQL 15 and
# redis-server (scripts/deps.sh test).
# QUICK=1 (CI, scripts/test.sh): 40 clients for 1 s on the debug build, to
# prove the benchmark still runs; its figures mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${QUICK:-}" ]; then
  NODES=${1:-3}; RATE=${2:-200}; CLIENTS=${3:-40}; SECS=${4:-1}
  B=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/debug/onair}
else
  NODES=${1:-3}; RATE=${2:-1000}; CLIENTS=${3:-1000}; SECS=${4:-10}
  B=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/release/onair}
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL is not installed: run scripts/deps.sh test" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
W=$(mktemp -d /tmp/onair-bench-nodes.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$W"; as_pg=(runuser -u postgres --); fi
PGPORT=$(free_port); RPORT=$(free_port)
cleanup() {
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$W/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
"${as_pg[@]}" "$PGBIN/initdb" -D "$W/pg" --auth=trust -U postgres --no-sync -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/pg.log" -w -o "-p $PGPORT -k $W -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no --dir "$W" >/dev/null 2>&1 & rpid=$!
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true
"$B" bench relay --nodes "$NODES" --rate "$RATE" --clients "$CLIENTS" --duration "$SECS" \
  --store "postgres://postgres@127.0.0.1:$PGPORT/postgres" --bus "redis://127.0.0.1:$RPORT"
