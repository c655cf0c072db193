#!/usr/bin/env bash
# Resident memory of the built binary while provider state grows: a bounded
# flood (scripts/flood) of Centili gifts and then Netfinity messages, each
# one new, in namespace "flood" on 127.0.0.1, printing VmRSS every 50,000
# requests. Nothing else is running in the sandbox; it is stopped at the end.
# Usage: scripts/load-state.sh [gifts] [messages]   (defaults 300000 276000)
#        scripts/load-state.sh -journal 300000 [other flood flags]: the
#        journal flood instead (see scripts/flood -h)
#   ARGS="--data-dir /tmp/d" scripts/load-state.sh   passes flags to the sandbox
#   BIN=/path/to/sandbox scripts/load-state.sh   measures that binary instead
#   of building this tree (to compare two versions on the same machine).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "${1#-}" ]; then
  args=("$@")
else
  args=(-centili "${1:-300000}" -netfinity "${2:-276000}")
fi
port=18768
dir=$(mktemp -d)
bin=${BIN:-}
if [ -z "$bin" ]; then
  bin=$dir/sandbox
  CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/sandbox
fi
go build -o "$dir/flood" ./scripts/flood
"$bin" --addr 127.0.0.1:$port --log-level error --access-log=false ${ARGS:-} >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
until curl -fs -o /dev/null "http://127.0.0.1:$port/__sandbox/health"; do sleep 0.01; done
"$dir/flood" -base "http://127.0.0.1:$port" -pid $pid "${args[@]}"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
