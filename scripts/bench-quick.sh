#!/usr/bin/env bash
# Every benchmark command the README lists, in a short form (seconds each),
# so CI notices when one stops running. The figures printed here mean
# nothing: the machine is busy and the runs are short. Run by scripts/test.sh
# after `cargo test`, whose debug build of `onair` they use.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUICK=1
bin=${ONAIR_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/debug/onair}
[ -x "$bin" ] || cargo build --bin onair
export ONAIR_BIN=$bin

step() {
  local t0=$SECONDS
  echo "== bench (quick): $*"
  "$@"
  echo "== $1 ${2:-}: ok in $((SECONDS - t0)) s"
}

for b in bench/*.sh; do
  step bash "$b"
done
step "$bin" bench beauty --frames 2
step "$bin" bench chat-cache --messages 5000 --convs 20 --runs 5
step "$bin" bench relay --clients 40 --rate 200 --duration 1
step "$bin" bench relay --tls --clients 40 --rate 200 --duration 1
