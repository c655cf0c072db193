package sandbox

import (
	"fmt"
	"strings"
)

// RootAlias serves a path outside every mount as a path of the provider's
// own. Some client libraries build a URL from the host alone, whatever
// path the user configured: MSAL asks https://{host}/common/userrealm/{user}
// before a username/password grant, even when its authority is
// https://{host}/netrefer/login/{tenant}. A provider that emulates such a
// service declares the paths, and the core hands the request to it
// rewritten, namespace prefix kept (/ns/ci-1/common/... goes to namespace
// ci-1). Everything else about the request is as for the mount: routing by
// the spec, guard, faults, journal (which records the path as sent).
type RootAlias struct {
	// Prefix is matched against the path below any /ns/{name} prefix, e.g.
	// "/common/userrealm/". Its first segment must be no provider's name.
	Prefix string
	// Target replaces Prefix, as a path below the provider's mount, e.g.
	// "/login/common/userrealm/".
	Target string
}

// rootAlias is a registered alias and the provider that declared it.
type rootAlias struct {
	RootAlias
	provider string
}

// rootAliases lists every provider's aliases, guarded by registryMu.
var rootAliases []rootAlias

// checkRootAliases reports why p's aliases (or p's name) would clash with
// what is registered; registryMu is held.
func checkRootAliases(p *Provider) error {
	for _, a := range rootAliases {
		if first(a.Prefix) == p.Name {
			return fmt.Errorf("provider %q is named like the root alias %q of %q", p.Name, a.Prefix, a.provider)
		}
	}
	for _, a := range p.RootAliases {
		if !strings.HasPrefix(a.Prefix, "/") || !strings.HasPrefix(a.Target, "/") {
			return fmt.Errorf("root alias %q → %q of %q: both must start with /", a.Prefix, a.Target, p.Name)
		}
		seg := first(a.Prefix)
		if _, taken := registry[seg]; taken || seg == adminMountName || seg == "ns" || seg == "" {
			return fmt.Errorf("root alias %q of %q: /%s is taken", a.Prefix, p.Name, seg)
		}
		for _, b := range rootAliases {
			if strings.HasPrefix(a.Prefix, b.Prefix) || strings.HasPrefix(b.Prefix, a.Prefix) {
				return fmt.Errorf("root alias %q of %q overlaps %q of %q", a.Prefix, p.Name, b.Prefix, b.provider)
			}
		}
	}
	return nil
}

// first returns the first segment of a path ("common" for "/common/x").
func first(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return seg
}

// resolveAlias points a target whose first segment is no mount at the
// provider whose root alias claims its path, and reports whether one did.
func (t *target) resolveAlias() bool {
	path := "/" + t.mount + t.rel
	registryMu.RLock()
	defer registryMu.RUnlock()
	for _, a := range rootAliases {
		if rest, ok := strings.CutPrefix(path, a.Prefix); ok {
			t.mount, t.rel = a.provider, a.Target+rest
			return true
		}
	}
	return false
}
