#!/usr/bin/env bash
# Measures start-up time to the first healthy answer and idle RSS of the
# built binary. Usage: scripts/startup.sh [runs]   (Linux; needs curl)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
bin=$(mktemp -d)/sandbox
CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/sandbox
port=18765
total=0
for i in $(seq "$runs"); do
  t0=$(date +%s%N)
  "$bin" --addr 127.0.0.1:$port >/dev/null 2>&1 &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$port/__sandbox/health"; do sleep 0.002; done
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
  total=$((total + ms))
  if [ "$i" -eq "$runs" ]; then
    sleep 1
    rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    echo "idle RSS after first answer + 1s: $((rss / 1024)) MiB ($rss kB)"
  fi
  kill -TERM $pid; wait $pid || true
done
echo "start-up to first healthy answer: mean $((total / runs)) ms over $runs runs"
