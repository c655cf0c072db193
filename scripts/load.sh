#!/usr/bin/env bash
# Bounded load runs of the built binary on 127.0.0.1 with wrk (Debian: apt-get install wrk).
# Usage: scripts/load.sh [seconds per run] [connections]    (defaults 10 s, 32 connections)
# Each run is bounded in time; the sandbox is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
port=18766
B=http://127.0.0.1:$port
bin=$(mktemp -d)/sandbox
CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/sandbox
"$bin" --addr 127.0.0.1:$port --log-level error >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -fs -o /dev/null $B/__sandbox/health; do sleep 0.01; done

lua=$(mktemp -d)
run() { # name, wrk args...
  local name=$1; shift
  printf '%-40s ' "$name"
  wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" | awk '/Requests\/sec/ {rps=$2} /50%/ {p50=$2} /99%/ {p99=$2} END {printf "%10s req/s   p50 %8s   p99 %8s\n", rps, p50, p99}'
}

run "admin health" $B/__sandbox/health

CT=$(curl -s $B/centili/realms/api/protocol/openid-connect/token -d grant_type=password -d client_id=datagifting \
  -d username=merchant@sandbox.test -d password=sandbox-password | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
run "centili balance" -H "Authorization: Bearer $CT" \
  "$B/centili/datagifting/v1/services/balance?serviceKey=3586a2363bcd51a2b3c4d5f34918263a&operator=AT_A1"

cat > "$lua/gift.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"load-%d-%d","amount":100}', math.random(1, 1e9), counter)
  return wrk.format("POST", "/centili/datagifting/v1/service/transaction", {["Content-Type"]="application/json", ["Authorization"]="Bearer " .. os.getenv("CT")}, body)
end
LUA
CT=$CT run "centili gift (one pool, contention)" -s "$lua/gift.lua" $B

cat > "$lua/sms.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"msisdn":"359881234567","text":"load test %d %d"}', math.random(1, 1e9), counter)
  return wrk.format("POST", "/ns/load/netfinity/v2/sms/notification/send", {["Content-Type"]="application/json", ["Accept"]="application/json", ["Authorization"]="Bearer sandbox-netfinity-token"}, body)
end
LUA
# The demo token allows 60 a minute: raise it for the load run.
curl -fs -XPUT "$B/ns/load/__sandbox/scenario" -H 'Content-Type: application/yaml' --data-binary @- >/dev/null <<'YAML'
version: 1
name: load
netfinity:
  tokens:
    - {token: sandbox-netfinity-token, name: load, capabilities: [sms.notification], rateLimit: 100000000}
YAML
run "netfinity send (accepted)" -s "$lua/sms.lua" $B

run "intarget users, 1 h window (CSV)" -H "Authorization: Basic aW50YXJnZXQ6c2FuZGJveC1wYXNzd29yZA==" \
  "$B/intarget/api/users?from=$(date -u -d '-3 hour' '+%Y-%m-%d+%H:00:00')&to=$(date -u -d '-2 hour' '+%Y-%m-%d+%H:00:00')"

echo "RSS after the runs: $(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status) MiB"
