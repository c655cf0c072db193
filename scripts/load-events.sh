#!/usr/bin/env bash
# What open dashboards cost the provider path: a bounded wrk run of one provider request
# (Centili balance) against the built binary on 127.0.0.1, alternately with no event stream
# and with ten open on the namespace (curl reading GET /__sandbox/events as fast as it can,
# as ten browser tabs would), so that a busy machine's drift hits both alike.
# Usage: scripts/load-events.sh [seconds per run] [rounds] [connections]  (defaults 8 s, 3, 32)
# Needs wrk (Debian: apt-get install wrk) and jq. Everything is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
rounds=${2:-3}
conns=${3:-32}
port=18767
B=http://127.0.0.1:$port
dir=$(mktemp -d)
bin=$dir/sandbox
CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/sandbox
"$bin" --addr 127.0.0.1:$port --log-level error >/dev/null &
pid=$!
subs=()
stop_subs() {
  for s in "${subs[@]}"; do kill "$s" 2>/dev/null || true; done
  for s in "${subs[@]}"; do wait "$s" 2>/dev/null || true; done
  subs=()
}
trap 'stop_subs; kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
until curl -fs -o /dev/null $B/__sandbox/health; do sleep 0.01; done

CT=$(curl -s $B/centili/realms/api/protocol/openid-connect/token -d grant_type=password -d client_id=datagifting \
  -d username=merchant@sandbox.test -d password=sandbox-password | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
URL="$B/centili/datagifting/v1/services/balance?serviceKey=3586a2363bcd51a2b3c4d5f34918263a&operator=AT_A1"

cpu() { awk '{print $14 + $15}' /proc/$pid/stat; } # the sandbox's user+system CPU, in clock ticks
run() { # prints req/s and the sandbox's CPU microseconds per request
  local c0 out c1
  c0=$(cpu)
  out=$(wrk -t2 -c"$conns" -d"${secs}s" -H "Authorization: Bearer $CT" "$URL")
  c1=$(cpu)
  echo "$out" | awk -v ticks=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v secs="$secs" \
    '/requests in/ {n=$1} /Requests\/sec/ {rps=$2} END {printf "%s %.1f", rps, ticks / hz * 1e6 / n}'
}

for r in $(seq "$rounds"); do
  curl -fs -XPOST -o /dev/null $B/__sandbox/reset
  read -r base basecpu <<<"$(run)"
  curl -fs -XPOST -o /dev/null $B/__sandbox/reset
  for i in $(seq 10); do
    curl -sN -o "$dir/stream$i" $B/__sandbox/events &
    subs+=($!)
  done
  until [ "$(curl -fs $B/__sandbox/stats | jq .subscribers)" = 10 ]; do sleep 0.01; done
  d0=$(curl -fs $B/__sandbox/stats | jq .droppedEvents)
  read -r with withcpu <<<"$(run)"
  dropped=$(( $(curl -fs $B/__sandbox/stats | jq .droppedEvents) - d0 ))
  stop_subs
  got=$(cat "$dir"/stream* | grep -c '^event: request' || true)
  printf 'round %d: no streams %9s req/s %5s µs CPU/req   ten streams %9s req/s %5s µs CPU/req   (%s req/s)   events streamed %s, dropped %s\n' \
    "$r" "$base" "$basecpu" "$with" "$withcpu" "$(awk -v a="$base" -v b="$with" 'BEGIN {printf "%+.1f%%", (b-a)/a*100}')" "$got" "$dropped"
  rm -f "$dir"/stream*
done
