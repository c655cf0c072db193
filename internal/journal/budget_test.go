package journal

import (
	"strings"
	"testing"
)

// sized is an entry of exactly n bytes of Size.
func sized(id string, n int) *Entry {
	e := &Entry{ID: id}
	e.Request.Body = strings.Repeat("x", n-int(e.Size()))
	return e
}

func TestBudgetEvictsOldestAcrossJournals(t *testing.T) {
	t.Parallel()
	b := NewBudget(3000)
	a, c := New(100, b), New(100, b)
	a.Add(sized("a1", 1000))
	c.Add(sized("c1", 1000))
	a.Add(sized("a2", 1000))
	if used, _, ev := b.Usage(); used != 3000 || ev != 0 {
		t.Fatalf("used %d evicted %d, want 3000 0", used, ev)
	}
	// Over the budget: a1, the oldest of both journals, goes.
	c.Add(sized("c2", 1000))
	if got := ids(listed(a, Filter{})) + "|" + ids(listed(c, Filter{})); got != "a2,|c2,c1," {
		t.Fatalf("after one eviction: %s", got)
	}
	// A large entry evicts as many old ones as it needs, from either.
	a.Add(sized("a3", 2500))
	if got := ids(listed(a, Filter{})) + "|" + ids(listed(c, Filter{})); got != "a3,|" {
		t.Fatalf("after a large entry: %s", got)
	}
	if used, limit, ev := b.Usage(); used != 2500 || limit != 3000 || ev != 4 {
		t.Fatalf("used %d limit %d evicted %d", used, limit, ev)
	}
	// The newest entry stays, even alone over the budget.
	c.Add(sized("c3", 5000))
	if got := ids(listed(a, Filter{})) + "|" + ids(listed(c, Filter{})); got != "|c3," {
		t.Fatalf("an entry over the budget: %s", got)
	}
}

func TestBudgetFollowsRingEvictionClearAndClose(t *testing.T) {
	t.Parallel()
	b := NewBudget(0) // no limit: only the counts
	j := New(2, b)
	for _, id := range []string{"1", "2", "3"} {
		j.Add(sized(id, 1000))
	}
	if used, _, _ := b.Usage(); used != 2000 {
		t.Fatalf("the ring dropped one of three, budget holds %d", used)
	}
	other := New(10, b)
	other.Add(sized("o", 700))
	j.Clear()
	if used, _, _ := b.Usage(); used != 700 {
		t.Fatalf("after Clear the budget holds %d, want the other journal's 700", used)
	}
	other.Close()
	other.Add(sized("late", 700)) // a request finishing after its namespace went
	if used, _, _ := b.Usage(); used != 0 || other.Len() != 0 {
		t.Fatalf("a closed journal holds %d entries, budget %d", other.Len(), used)
	}
}

func TestListPagesWithCursor(t *testing.T) {
	t.Parallel()
	j := New(100, nil)
	for i := 1; i <= 7; i++ {
		j.Add(entry(i, "p", 200+i%2)) // odd ids answered 201
	}
	var pages []string
	f := Filter{Status: []int{201}, Limit: 2}
	for {
		page, next := j.List(f)
		pages = append(pages, ids(page))
		if next == 0 {
			break
		}
		f.Before = next
	}
	if got := strings.Join(pages, "|"); got != "7,5,|3,1," {
		t.Fatalf("pages %s", got)
	}
	// A page that ends exactly at the last match has no next.
	if _, next := j.List(Filter{Status: []int{201}, Limit: 4}); next != 0 {
		t.Fatalf("next %d after the last match", next)
	}
	// Entries added between two pages do not shift the second one.
	first, next := j.List(Filter{Limit: 3})
	j.Add(entry(8, "p", 200))
	second, _ := j.List(Filter{Limit: 3, Before: next})
	if got := ids(first) + "|" + ids(second); got != "7,6,5,|4,3,2," {
		t.Fatalf("pages around an add: %s", got)
	}
}

func TestRingGrowsInOrder(t *testing.T) {
	t.Parallel()
	j := New(40, nil)
	want := ""
	for i := 1; i <= 50; i++ {
		j.Add(entry(i, "p", 200))
	}
	for i := 50; i > 10; i-- {
		want += entry(i, "p", 200).ID + ","
	}
	if got := ids(listed(j, Filter{})); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

// Saving a journal while entries are added to it and to another journal of
// the same budget: under -race, a copy that read the age links without the
// budget's lock was reported here. Every save is a consistent prefix count.
func TestSaveWhileAddingAcrossABudget(t *testing.T) {
	t.Parallel()
	b := NewBudget(1 << 20)
	a, other := New(100, b), New(100, b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			a.Add(entry(i, "centili", 200))
			other.Add(entry(i, "netrefer", 200))
		}
	}()
	for {
		select {
		case <-done:
			if got := a.Save(); got.Total != 2000 || len(got.Entries) != 100 || got.Entries[99].ID != "1999" {
				t.Fatalf("after the adds: total %d, %d entries", got.Total, len(got.Entries))
			}
			return
		default:
			s := a.Save()
			if uint64(len(s.Entries)) > s.Total || len(s.Entries) > 100 {
				t.Fatalf("a save holds %d entries of %d added", len(s.Entries), s.Total)
			}
			for _, e := range s.Entries {
				if e.older != nil || e.newer != nil {
					t.Fatal("a saved entry kept its age links")
				}
			}
		}
	}
}
