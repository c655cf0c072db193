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

func TestIDsSurviveSaveAndRestore(t *testing.T) {
	s := NewIDs()
	for i := 0; i < 1000; i++ {
		s.Add(fmt.Sprintf("id-%d", i))
	}
	saved := s.Save()
	r, err := RestoreIDs(saved)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1000 || !r.Has("id-0") || !r.Has("id-999") || r.Has("id-1000") {
		t.Errorf("restored: len %d, has id-0 %v, id-999 %v, id-1000 %v", r.Len(), r.Has("id-0"), r.Has("id-999"), r.Has("id-1000"))
	}
	if r.Add("id-500") {
		t.Error("a restored id was taken for new")
	}
	if again := r.Save(); again != (SavedIDs{Key: saved.Key, Fingerprints: saved.Fingerprints}) {
		t.Error("saving the restored set gives other bytes")
	}
	for _, bad := range []struct {
		v    SavedIDs
		want string
	}{
		{SavedIDs{Key: "zz", Fingerprints: ""}, `key "zz" is not a 64-bit hex number`},
		{SavedIDs{Key: "1", Fingerprints: "%%"}, "fingerprints are not base64"},
		{SavedIDs{Key: "1", Fingerprints: "AAAA"}, "fingerprints hold 3 bytes, not a multiple of 8"},
	} {
		if _, err := RestoreIDs(bad.v); err == nil || err.Error() != bad.want {
			t.Errorf("RestoreIDs(%+v) = %v, want %q", bad.v, err, bad.want)
		}
	}
}

func TestLogRestoresOldestFirstWithItsEvictions(t *testing.T) {
	l := NewLog[int](3)
	for i := 1; i <= 5; i++ {
		l.Add(i)
	}
	items, evicted := l.Records()
	if !slices.Equal(items, []int{3, 4, 5}) || evicted != 2 {
		t.Fatalf("records %v evicted %d", items, evicted)
	}
	r := RestoreLog(3, items, evicted)
	r.Add(6)
	if got := slices.Collect(r.All()); !slices.Equal(got, []int{4, 5, 6}) {
		t.Errorf("after restore and add: %v", got)
	}
	if u := r.Usage(); u != (Usage{Count: 3, Limit: 3, Evicted: 3}) {
		t.Errorf("usage %+v", u)
	}
	// A smaller limit drops the oldest as Add would and counts them.
	if u := RestoreLog(2, items, evicted).Usage(); u != (Usage{Count: 2, Limit: 2, Evicted: 3}) {
		t.Errorf("usage under a smaller limit %+v", u)
	}
}
