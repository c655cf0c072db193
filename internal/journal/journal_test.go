package journal

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func entry(i int, provider string, status int) *Entry {
	return &Entry{ID: fmt.Sprint(i), Provider: provider, Operation: "op" + provider,
		Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Response: Message{Status: status}}
}

// listed is j.List without the cursor.
func listed(j *Journal, f Filter) []*Entry {
	page, _ := j.List(f)
	return page
}

func ids(es []*Entry) string {
	s := ""
	for _, e := range es {
		s += e.ID + ","
	}
	return s
}

func TestRingKeepsNewestFirst(t *testing.T) {
	t.Parallel()
	j := New(3, nil)
	if got := ids(listed(j, Filter{})); got != "" {
		t.Fatalf("empty journal lists %q", got)
	}
	for i := 1; i <= 2; i++ {
		j.Add(entry(i, "a", 200))
	}
	if got := ids(listed(j, Filter{})); got != "2,1," {
		t.Fatalf("partial ring: %q", got)
	}
	for i := 3; i <= 7; i++ {
		j.Add(entry(i, "a", 200))
	}
	if got := ids(listed(j, Filter{})); got != "7,6,5," {
		t.Fatalf("full ring: %q", got)
	}
	if j.Len() != 3 || j.Total() != 7 {
		t.Fatalf("len %d total %d", j.Len(), j.Total())
	}
	if _, ok := j.Get("4"); ok {
		t.Fatal("evicted entry still found")
	}
	if e, ok := j.Get("6"); !ok || e.ID != "6" {
		t.Fatal("held entry not found")
	}
	j.Clear()
	if j.Len() != 0 || ids(listed(j, Filter{})) != "" {
		t.Fatal("clear kept entries")
	}
	j.Add(entry(9, "a", 200))
	if got := ids(listed(j, Filter{})); got != "9," {
		t.Fatalf("after clear: %q", got)
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	j := New(100, nil)
	j.Add(entry(1, "netrefer", 200))
	j.Add(entry(2, "centili", 401))
	j.Add(entry(3, "centili", 200))
	j.Add(entry(4, "netrefer", 401))
	tests := []struct {
		f    Filter
		want string
	}{
		{Filter{Provider: []string{"centili"}}, "3,2,"},
		{Filter{Status: []int{401}}, "4,2,"},
		{Filter{Provider: []string{"centili"}, Status: []int{401}}, "2,"},
		{Filter{Operation: []string{"opnetrefer"}}, "4,1,"},
		{Filter{Since: time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC)}, "4,3,"},
		{Filter{Limit: 1}, "4,"},
		{Filter{Provider: []string{"nobody"}}, ""},
		// Several values of one field: any of them.
		{Filter{Provider: []string{"centili", "netrefer"}, Status: []int{200}}, "3,1,"},
		{Filter{Status: []int{401}, StatusClass: []int{2}}, "4,3,2,1,"},
	}
	for _, tc := range tests {
		if got := ids(listed(j, tc.f)); got != tc.want {
			t.Errorf("%+v: got %q want %q", tc.f, got, tc.want)
		}
	}
}

func TestConcurrentAddAndList(t *testing.T) {
	t.Parallel()
	j := New(50, nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				j.Add(entry(i, "p", 200))
				if i%20 == 0 {
					_, _ = j.List(Filter{Status: []int{200}})
				}
			}
		}(g)
	}
	wg.Wait()
	if j.Len() != 50 || j.Total() != 1600 {
		t.Fatalf("len %d total %d", j.Len(), j.Total())
	}
}

func BenchmarkAdd(b *testing.B) {
	j := New(10000, nil)
	e := entry(1, "p", 200)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		j.Add(e)
	}
}

func TestFiltersOnMethodPathAndStatusClass(t *testing.T) {
	t.Parallel()
	j := New(10, nil)
	add := func(id, ns, provider, method, path string, status int) {
		j.Add(&Entry{ID: id, Namespace: ns, Provider: provider,
			Request: Message{Method: method, Path: path}, Response: Message{Status: status}})
	}
	add("1", "default", "centili", "POST", "/centili/datagifting/v1/service/transaction", 200)
	add("2", "ci", "centili", "GET", "/ns/ci/centili/datagifting/v1/services", 503)
	add("3", "ci", "centili", "POST", "/ns/ci/centili/realms/api/protocol/openid-connect/token", 401)
	add("4", "default", "netfinity", "POST", "/ns/default/netfinity/v2/sms/notification/send", 502)
	tests := []struct {
		f    Filter
		want string
	}{
		{Filter{PathPrefix: []string{"/datagifting/v1/"}}, "2,1,"},
		{Filter{PathPrefix: []string{"/datagifting/v1/services"}}, "2,"},
		{Filter{PathPrefix: []string{"/v2/"}}, "4,"},
		{Filter{PathPrefix: []string{"/centili"}}, ""}, // the mount is not part of the path
		{Filter{PathPrefix: []string{"/"}}, "4,3,2,1,"},
		{Filter{Method: []string{"POST"}}, "4,3,1,"},
		{Filter{StatusClass: []int{5}}, "4,2,"},
		{Filter{StatusClass: []int{4}, Method: []string{"POST"}}, "3,"},
		{Filter{StatusClass: []int{2}, PathPrefix: []string{"/realms/"}}, ""},
	}
	for _, tc := range tests {
		if got := ids(listed(j, tc.f)); got != tc.want {
			t.Errorf("%+v: got %q want %q", tc.f, got, tc.want)
		}
	}
	for path, want := range map[string]string{
		"/ns/ci/centili/datagifting/v1/services": "/datagifting/v1/services",
		"/centili/datagifting/v1/services":       "/datagifting/v1/services",
		"/ns/ci/centili":                         "/",
		"/ns/cix/centili/a":                      "/ns/cix/centili/a", // another namespace's prefix is not stripped
		"/centilix/a":                            "/centilix/a",
	} {
		e := &Entry{Namespace: "ci", Provider: "centili", Request: Message{Path: path}}
		if got := e.ProviderPath(); got != want {
			t.Errorf("ProviderPath(%s) = %s, want %s", path, got, want)
		}
	}
}
