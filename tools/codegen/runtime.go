// Package codegen is a module of its own so that the client generator
// scripts/codegen-check.sh and `go generate ./adminclient` run never enters
// the sandbox's go.mod: the sandbox binary keeps exactly the dependencies it
// needs, and `go mod download` at the root fetches only those. The root
// go.mod requires only the runtime the generated code imports, because the
// repository ships one generated client (adminclient); keep its version the
// same as here.
//
// The generator is pinned by the tool directive in this directory's go.mod.
// The import below pins the runtime the generated clients build against and
// keeps it there through `go mod tidy`; the script builds the clients inside
// this module, so it needs no network beyond the Go module proxy and never
// edits a go.mod.
package codegen

import (
	_ "github.com/oapi-codegen/runtime"
	_ "github.com/oapi-codegen/runtime/types"
)
