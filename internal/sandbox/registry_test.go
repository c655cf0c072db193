package sandbox_test

import (
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// registered joins the names of the registered providers, in the order the
// sandbox lists them, each with prefix. Besides this package's echo
// provider, the four real ones are registered too: the harness
// (internal/sandboxtest) is built on the public sandboxtest package, which
// brings them in. Messages that list providers or mounts are held to this
// list instead of a fixed one.
func registered(prefix, sep string) string {
	var names []string
	for _, p := range sandbox.Providers() {
		names = append(names, prefix+p.Name)
	}
	return strings.Join(names, sep)
}
