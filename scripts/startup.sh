#!/usr/bin/env bash
# Measures start-up time to the first healthy answer and idle RSS of the
# built binary: the time from spawning the process until
# GET /__sandbox/health first answers 200 (curl polls every 2 ms, so the
# figure includes process spawn and curl's own start-up).
# Usage: scripts/startup.sh [runs]   (Linux; needs curl)
#   BIN=/path/to/sandbox scripts/startup.sh 20   measures that binary instead
#   of building this tree (to compare two versions on the same machine).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
bin=${BIN:-}
if [ -z "$bin" ]; then
  bin=$(mktemp -d)/sandbox
  CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/sandbox
fi
port=18765
times=()
for i in $(seq "$runs"); do
  t0=$(date +%s%N)
  "$bin" --addr 127.0.0.1:$port >/dev/null 2>&1 &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$port/__sandbox/health"; do sleep 0.002; done
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  if [ "$i" -eq "$runs" ]; then
    sleep 1
    rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    echo "idle RSS after first answer + 1s: $((rss / 1024)) MiB ($rss kB)"
  fi
  kill -TERM $pid; wait $pid || true
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
n=${#sorted[@]}
if [ $((n % 2)) -eq 1 ]; then median=${sorted[$((n / 2))]}; else median=$(( (sorted[n / 2 - 1] + sorted[n / 2]) / 2 )); fi
total=0; for v in "${times[@]}"; do total=$((total + v)); done
echo "start-up to first healthy answer over $runs runs: median $median ms, mean $((total / n)) ms, min ${sorted[0]} ms, max ${sorted[$((n - 1))]} ms"
echo "load average before the last run: $(cut -d' ' -f1-3 /proc/loadavg)"
