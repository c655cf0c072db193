//go:build codegen

// Package codegenkeep is never built: its import keeps the runtime that
// oapi-codegen's clients need in go.mod through `go mod tidy`, so that
// scripts/codegen-check.sh builds the clients it generates against a pinned
// version without touching the network or go.mod.
package codegenkeep

import _ "github.com/oapi-codegen/runtime"
