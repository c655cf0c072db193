#!/usr/bin/env bash
# Runs every fuzz target of the project for a while (default 30s each).
# Usage: scripts/fuzz.sh [seconds]
# The seed corpora also run as ordinary tests in `go test ./...`; this script
# is the longer, coverage-guided pass. A crash leaves its input under
# testdata/fuzz/<FuzzName>/ in the package, which then replays as a test.
# Targets are found by name, among them the journal's recording
# (internal/journal FuzzRecord: any header or body through the caps and the
# secret redaction) and the admin filters (internal/sandbox FuzzQueryCheck:
# any query string of GET /requests and GET /callbacks).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg=./$(dirname "${file#./}")
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "== $pkg $name (${secs}s)"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" "$pkg"
  done
done
