#!/usr/bin/env bash
# Resident memory of the built binary before and after a flood of requests
# with a 1 MB header (issue: the journal kept header values whole).
# Usage: scripts/journal-memory.sh [git revision]   (default: the work tree)
# With a revision, that commit is built from `git archive` in a temporary
# folder, so a before/after pair is two runs. Bounded: 1,200 GETs, 4 at a
# time, on 127.0.0.1; the sandbox is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-}
port=18767
B=http://127.0.0.1:$port
tmp=$(mktemp -d)
src=.
if [ -n "$rev" ]; then
  git archive "$rev" | tar -x -C "$tmp" && src=$tmp
fi
(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$tmp/sandbox" ./cmd/sandbox)
"$tmp/sandbox" --addr 127.0.0.1:$port --log-level error >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
until curl -fs -o /dev/null $B/__sandbox/health; do sleep 0.01; done
rss() { awk '/^VmRSS/ {printf "%.0f MiB", $2/1024}' /proc/$pid/status; }
echo "rss at start:          $(rss)"
# curl reads a header from a file with -H @file.
printf 'X-Big: %s\r\n' "$(head -c 1000000 /dev/zero | tr '\0' a)" > "$tmp/header"
seq 1200 | xargs -P 4 -n 100 sh -c 'for i; do curl -s -o /dev/null -H @"$0" '$B'/centili/datagifting/v1/services; done' "$tmp/header"
echo "rss after 1,200 GETs:  $(rss)"
echo "journal entries:       $(curl -s "$B/__sandbox/requests?limit=1000" | grep -c '"id"') (of at most 1000 on a page)"
