#!/usr/bin/env bash
# Restart time with a data directory: fills namespace "flood" of a sandbox
# on 127.0.0.1 with N NetRefer registrations (each a new EventID and
# customer: two stored items) through scripts/flood, kills it with SIGKILL,
# and times three restarts on the same directory, from exec until
# /__sandbox/health answers. It also prints the database's size and the
# resident memory after the restart.
# Usage: scripts/restart-time.sh [registrations]   (default 50000)
#   BIN=/path/to/sandbox measures that binary instead of building this tree.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
port=18769
B=http://127.0.0.1:$port
dir=$(mktemp -d)
bin=${BIN:-}
if [ -z "$bin" ]; then
  bin=$dir/sandbox
  CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/sandbox
fi
go build -o "$dir/flood" ./scripts/flood
pid=
trap 'kill -9 $pid 2>/dev/null || true; [ -n "${KEEP:-}" ] && mv "$dir/data" "$KEEP"; rm -rf "$dir"' EXIT
"$bin" --addr 127.0.0.1:$port --log-level error --access-log=false --data-dir "$dir/data" >/dev/null 2>&1 &
pid=$!
until curl -fs -o /dev/null $B/__sandbox/health; do sleep 0.01; done
"$dir/flood" -base $B -pid $pid -centili 0 -netfinity 0 -netrefer "$n" -c 32 -every "$n" | grep -v '^start\|centili\|netfinity'
kill -9 $pid; wait $pid 2>/dev/null || true
echo "state.db: $(du -sh "$dir/data" | cut -f1)"
for i in 1 2 3; do
  t0=$(date +%s%N)
  "$bin" --addr 127.0.0.1:$port --log-level error --access-log=false --data-dir "$dir/data" >/dev/null 2>&1 &
  pid=$!
  until curl -fs -o /dev/null $B/__sandbox/health; do sleep 0.005; done
  t1=$(date +%s%N)
  stored=$(curl -s $B/ns/flood/__sandbox/state/netrefer | grep -o '"processedEvents": *[0-9]*' | grep -o '[0-9]*$')
  echo "restart $i: $(( (t1 - t0) / 1000000 )) ms to health, $stored events back, RSS $(( $(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024 )) MiB"
  kill -9 $pid; wait $pid 2>/dev/null || true
done
