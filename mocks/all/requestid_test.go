package all_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestRequestIDsIdentifyExchanges sends many concurrent requests over real
// sockets, to every provider and the admin API in several namespaces, and
// checks that every response carries its own request id and that
// GET /requests/{id} returns exactly that exchange.
func TestRequestIDsIdentifyExchanges(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	paths := []string{
		"/netrefer/login/0e0b50ac-5253-4347-b528-251b2f17cfc6/v2.0/.well-known/openid-configuration",
		"/centili/auth/realms/api/.well-known/openid-configuration",
		"/netfinity/v2/no-such-path",
		"/intarget/api/users",
		"/__sandbox/health",
	}
	namespaces := []string{"default", "ids-a", "ids-b", "ids-c"}
	const workers, perWorker = 8, 40
	type sent struct{ ns, path, query, id string }
	var (
		mu   sync.Mutex
		all  []sent
		wg   sync.WaitGroup
		idRe = regexp.MustCompile(`^req_[0-9a-f]{8,}$`)
	)
	// Made first: a request whose path routes nowhere (the Netfinity one)
	// does not create a namespace, so its entry would be kept nowhere if it
	// came first (docs/admin.md, "Counting").
	for _, ns := range namespaces[1:] {
		if st := h.Admin("GET", ns, "/clock", nil, nil); st != 200 {
			t.Fatalf("GET /clock in %s: %d", ns, st)
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				ns := namespaces[(w+i)%len(namespaces)]
				path := paths[(w*perWorker+i)%len(paths)]
				query := fmt.Sprintf("probe=%d-%d", w, i)
				url := h.URL + path + "?" + query
				if ns != "default" {
					url = h.URL + "/ns/" + ns + path + "?" + query
				}
				resp, err := http.Get(url)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				id := resp.Header.Get(sandbox.HeaderRequestID)
				if !idRe.MatchString(id) {
					t.Errorf("GET %s: request id %q", url, id)
				}
				mu.Lock()
				all = append(all, sent{ns, path, query, id})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	seen := map[string]sent{}
	for _, s := range all {
		if prev, dup := seen[s.id]; dup {
			t.Fatalf("request id %s given to both %+v and %+v", s.id, prev, s)
		}
		seen[s.id] = s
	}
	if len(seen) != workers*perWorker {
		t.Fatalf("%d distinct ids for %d requests", len(seen), workers*perWorker)
	}
	for _, s := range all {
		if s.path == "/__sandbox/health" {
			continue // the admin API is not journaled, but its ids are unique too
		}
		var e struct {
			ID        string `json:"id"`
			Namespace string `json:"namespace"`
			Request   struct {
				Path  string `json:"path"`
				Query string `json:"query"`
			} `json:"request"`
		}
		if st := h.Admin("GET", s.ns, "/requests/"+s.id, nil, &e); st != 200 {
			t.Fatalf("GET /requests/%s in %s (%s): status %d", s.id, s.ns, s.path, st)
		}
		if e.ID != s.id || e.Namespace != s.ns || e.Request.Query != s.query {
			t.Errorf("GET /requests/%s = id %s ns %s path %s query %s, want the exchange %+v",
				s.id, e.ID, e.Namespace, e.Request.Path, e.Request.Query, s)
		}
	}
}
