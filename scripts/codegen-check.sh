#!/usr/bin/env bash
# Generates a Go client (oapi-codegen, "types,client") from every OpenAPI
# document in specs/ and builds it, so that a document from which a user's
# generator would emit code that does not compile fails CI. Generic over
# specs/*.yaml: a document or an operation added later is checked without
# touching this script.
#
# The generator and the runtime its clients import live in their own module,
# tools/codegen (its go.mod pins both), so that neither enters the sandbox's
# go.mod. Everything is built inside that module, in a temporary directory
# removed on exit; a fresh machine needs only the Go module proxy.
# Usage: scripts/codegen-check.sh [spec.yaml ...]   (default: specs/*.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(specs/*.yaml)

cd tools/codegen
# Inside the tools module, so the generated code builds against its go.mod;
# a dot directory, so no ./... pattern there sees it.
out=$(mktemp -d ./.gen-XXXXXX)
trap 'rm -rf "$out"' EXIT

pkgs=()
for spec in "${specs[@]}"; do
  case $spec in /*) path=$spec ;; *) path=$root/$spec ;; esac
  name=$(basename "$spec" .yaml)
  pkg=$(printf '%s' "$name" | tr -c 'a-zA-Z0-9' '_')
  mkdir -p "$out/$pkg"
  # `go tool` keeps the built generator in the build cache between runs.
  if ! go tool oapi-codegen -generate types,client -package "$pkg" -o "$out/$pkg/client.go" "$path"; then
    echo "codegen-check: oapi-codegen cannot generate a client from $spec" >&2
    exit 1
  fi
  pkgs+=("$out/$pkg")
done
if ! go build "${pkgs[@]}"; then
  echo "codegen-check: a client generated from ${specs[*]} does not compile (see above)" >&2
  exit 1
fi
echo "codegen-check: clients generated from ${#specs[@]} document(s) compile: ${specs[*]}"
