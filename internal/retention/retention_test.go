package retention

import (
	"fmt"
	"slices"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/testexit"
)

// TestMain skips the race detector's one-second exit pause: see internal/testexit.
func TestMain(m *testing.M) { testexit.Main(m) }

func TestLogDropsTheOldestBeyondItsLimit(t *testing.T) {
	l := NewLog[int](3)
	var dropped []int
	for i := 1; i <= 7; i++ {
		if old, ok := l.Add(i); ok {
			dropped = append(dropped, old)
		}
		want := make([]int, 0, 3)
		for v := max(1, i-2); v <= i; v++ {
			want = append(want, v)
		}
		if got := slices.Collect(l.All()); !slices.Equal(got, want) {
			t.Fatalf("after adding %d: %v, want %v", i, got, want)
		}
	}
	if !slices.Equal(dropped, []int{1, 2, 3, 4}) {
		t.Errorf("dropped %v, want [1 2 3 4]", dropped)
	}
	if u := l.Usage(); u != (Usage{Count: 3, Limit: 3, Evicted: 4}) {
		t.Errorf("usage %+v", u)
	}
	// Stopping early stops the iteration.
	for v := range l.All() {
		if v != 5 {
			t.Errorf("first record %d, want 5", v)
		}
		break
	}
}

func TestLogBelowItsLimitKeepsEverything(t *testing.T) {
	l := NewLog[string](0) // a limit under 1 keeps one record
	if _, ok := l.Add("a"); ok {
		t.Error("the first record dropped something")
	}
	if old, ok := l.Add("b"); !ok || old != "a" {
		t.Errorf("dropped %q %v, want a", old, ok)
	}
	if u := l.Usage(); u != (Usage{Count: 1, Limit: 1, Evicted: 1}) {
		t.Errorf("usage %+v", u)
	}
}

func TestIDsRememberWhatWasAdded(t *testing.T) {
	s := NewIDs()
	for i := 0; i < 10000; i++ {
		if !s.Add(fmt.Sprintf("client-%d", i)) {
			t.Fatalf("client-%d reported as seen before", i)
		}
	}
	if s.Add("client-42") {
		t.Error("client-42 added twice")
	}
	if !s.Has("client-9999") || s.Has("client-10000") || s.Len() != 10000 {
		t.Errorf("has 9999 %v, has 10000 %v, len %d", s.Has("client-9999"), s.Has("client-10000"), s.Len())
	}
}
