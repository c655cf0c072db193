package sandbox

import (
	"net/url"
	"reflect"
	"testing"
)

// FuzzQueryCheck reads arbitrary query strings as GET /requests and GET
// /callbacks do: nothing panics, a query Go's own parser cannot read is
// never taken silently (it is a problem), and one it can read gives the
// same values.
func FuzzQueryCheck(f *testing.F) {
	for _, seed := range []string{
		"", "provider=centili&status=5xx&status=401", "provider=nope;x", "status=%zz", "pro%zzvider=a",
		"since=2026-01-02T03:04:05+01:00", "limit=99999999999999999999", "limit=-1&cursor=0", "cursor=18446744073709551616",
		"path=/a&path=%2Fns%2Fx%2Fa&method=post&method=GeT", "&&=&a", "state=failed&state=pending&provider=netfinity",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, params := range [][]string{requestsParams, callbacksParams} {
			c := newQueryCheck(raw, params)
			c.known("provider", "provider", []string{"centili", "netfinity"})
			c.status("status")
			c.providerPaths("path")
			c.time("since")
			if n := c.limit("limit", maxRequestsLimit); n < 1 || n > maxRequestsLimit {
				t.Fatalf("limit %d", n)
			}
			c.cursor("cursor")
			want, err := url.ParseQuery(raw)
			if err != nil {
				if len(c.probs) == 0 {
					t.Fatalf("%q: Go refuses it (%v), the check found nothing", raw, err)
				}
				continue
			}
			if len(want) == 0 {
				want = url.Values{}
			}
			if !reflect.DeepEqual(c.q, want) {
				t.Fatalf("%q: read %v, Go reads %v", raw, c.q, want)
			}
		}
	})
}
