#!/usr/bin/env bash
# Sizing figures for docs/scaling.md, measured on 127.0.0.1 with the built
# binary, wrk and Debian's nginx (apt-get install wrk nginx):
#   1. memory per namespace: RSS before and after N namespaces each take a
#      small CI job's traffic (a Centili token and gift, a Netfinity send);
#   2. requests/s with the traffic spread over those N namespaces, direct;
#   3. the same through nginx with deploy/nginx.conf in front of that one
#      instance (what the proxy costs), and in front of three instances.
# Usage: scripts/load-scaling.sh [seconds per run] [connections] [namespaces]
#        (defaults 8 s, 32 connections, 200 namespaces). Every run is bounded
# in time and everything started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}
conns=${2:-32}
spaces=${3:-200}
nginx=${SANDBOX_NGINX:-/usr/sbin/nginx}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
[ -x "$nginx" ] || { echo "needs nginx (apt-get install nginx, or SANDBOX_NGINX)"; exit 1; }

tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
bin=$tmp/sandbox
CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/sandbox

start() { # port → starts a sandbox there
  "$bin" --addr 127.0.0.1:"$1" --log-level error --access-log=false --max-namespaces $((spaces + 10)) >"$tmp/sandbox-$1.log" 2>&1 &
  pids+=($!)
  until curl -fs -o /dev/null "http://127.0.0.1:$1/__sandbox/health"; do sleep 0.01; done
}
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }
# heap in use after a collection would be exact; the metrics' figure (the
# Go collector's, at scrape time) is close enough once the jobs are done.
heap() { curl -fs "$1/__sandbox/metrics" | awk '/^go_memstats_heap_inuse_bytes / {print int($2/1024)}'; }

# The template for new namespaces: the default scenario with a Netfinity
# token whose rate limit a load run does not reach (the demo one allows 60
# a minute).
template() { # base URL
  curl -fs -XPATCH "$1/__sandbox/scenario" -H 'Content-Type: application/merge-patch+yaml' --data-binary @- >/dev/null <<'YAML'
netfinity:
  tokens:
    - {token: sandbox-netfinity-token, name: load, capabilities: [sms.notification], rateLimit: 100000000}
YAML
}

# A small CI job's traffic in namespace $2 of $1.
job() {
  local b=$1/ns/$2 tok
  tok=$(curl -s "$b/centili/realms/api/protocol/openid-connect/token" -d grant_type=password -d client_id=datagifting \
    -d username=merchant@sandbox.test -d password=sandbox-password | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  curl -s -o /dev/null "$b/centili/datagifting/v1/service/transaction" -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/json' -d '{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"job","amount":100}'
  curl -s -o /dev/null "$b/netfinity/v2/sms/notification/send" -H 'Accept: application/json' -H 'Content-Type: application/json' \
    -H 'Authorization: Bearer sandbox-netfinity-token' -d '{"msisdn":"359881234567","text":"job"}'
}

cat > "$tmp/spread.lua" <<LUA
-- Netfinity sends, each to a namespace drawn from the $spaces the jobs made.
counter = 0
request = function()
  counter = counter + 1
  local ns = math.random(0, $spaces - 1)
  local body = string.format('{"msisdn":"359881234567","text":"load %d %d"}', math.random(1, 1e9), counter)
  return wrk.format("POST", "/ns/job-" .. ns .. "/netfinity/v2/sms/notification/send",
    {["Content-Type"]="application/json", ["Accept"]="application/json", ["Authorization"]="Bearer sandbox-netfinity-token"}, body)
end
LUA
run() { # name, URL
  printf '%-58s ' "$1"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$tmp/spread.lua" "$2" |
    awk '/Requests\/sec/ {rps=$2} /50%/ {p50=$2} /99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%10s req/s   p50 %8s   p99 %8s   non-2xx %s\n", rps, p50, p99, bad+0}'
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
start 18870
pid1=${pids[0]}
B=http://127.0.0.1:18870
template $B
before=$(rss "$pid1"); hbefore=$(heap $B)
t0=$(date +%s%N)
for i in $(seq 0 $((spaces - 1))); do job $B "job-$i"; done
t1=$(date +%s%N)
after=$(rss "$pid1"); hafter=$(heap $B)
echo "RSS: $before MiB at start, $after MiB with $spaces namespaces: $(( (after - before) * 1024 / spaces )) KiB per namespace"
echo "heap in use: $((hbefore / 1024)) MiB at start, $((hafter / 1024)) MiB with $spaces namespaces: $(( (hafter - hbefore) / spaces )) KiB per namespace"
echo "one job (create the namespace, token, gift, send; curl one at a time): $(( (t1 - t0) / spaces / 1000000 )) ms"

run "direct, $spaces namespaces" $B

nginxrun() { # name, upstream addresses...
  local name=$1; shift
  local prefix=$tmp/nginx-$#
  mkdir -p "$prefix"
  local conf
  conf=$(sed -e 's/listen 8080;/listen 127.0.0.1:18880;/' deploy/nginx.conf)
  local servers="" a
  for a in "$@"; do servers+="        server $a max_fails=0;\n"; done
  # Replace the three upstream lines with the given ones.
  printf '%s\n' "$conf" | awk -v s="$servers" '
    /^[ \t]*server sandbox-1:8080/ { printf "%s", s; next }
    /^[ \t]*server sandbox-[23]:8080/ { next }
    { print }' >"$prefix/nginx.conf"
  "$nginx" -p "$prefix/" -c "$prefix/nginx.conf" -g 'daemon off;' 2>"$prefix/error.log" &
  local np=$!
  until curl -fs -o /dev/null http://127.0.0.1:18880/__sandbox/health; do
    kill -0 "$np" 2>/dev/null || { echo "nginx did not start:"; cat "$prefix/error.log"; exit 1; }
    sleep 0.01
  done
  run "$name" http://127.0.0.1:18880
  kill "$np"; wait "$np" 2>/dev/null || true
}
nginxrun "through nginx, one instance" 127.0.0.1:18870

start 18871
start 18872
for p in 18871 18872; do template http://127.0.0.1:$p; done
nginxrun "through nginx, three instances (same 2 cores)" 127.0.0.1:18870 127.0.0.1:18871 127.0.0.1:18872
echo "RSS of the first instance at the end: $(rss "$pid1") MiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
