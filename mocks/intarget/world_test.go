package intarget

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
)

// TestWindowsMatchWholeHistory is the completeness check against ground
// truth: a window must hold exactly the entities whose latest visible
// change falls in it, as found by scanning the whole history at once. It
// guards the bucket pruning (changes at most a span after creation).
func TestWindowsMatchWholeHistory(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	w, history := weekHistory()
	ts := func(t time.Time) string { return contract.FormatTime(t) }
	for _, e := range contract.Entities {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			key, cur := indexOf(e, e.Key), indexOf(e, e.Cursor)
			first := indexOf(e, "created_at")
			all := map[string][]string{}
			for _, v := range history[e.Name] {
				all[v[key]] = v
			}
			if len(all) == 0 {
				t.Fatal("the world is empty")
			}
			for _, win := range [][2]time.Time{
				{now.Add(-time.Hour), now}, {now.Add(-26 * time.Hour), now.Add(-25 * time.Hour)},
				{now.Add(-80 * time.Hour), now.Add(-30 * time.Hour)}, {w.start, w.start.Add(5 * time.Hour)},
			} {
				q := &query{from: win[0], to: win[1], vis: now, ts: ts}
				var got []string
				w.scan(e, q, func(v []string, _ int, _ time.Time) bool {
					got = append(got, v[key])
					if fmt.Sprint(v) != fmt.Sprint(all[v[key]]) {
						t.Errorf("window %v: row %s differs from the whole-history row", win, v[key])
					}
					return true
				})
				var want []string
				for k, v := range all {
					c := v[cur]
					if e.Name == contract.GameSessions {
						// any action in the window: the first and last bound it
						if v[first] < ts(win[1]) && v[cur] >= ts(win[0]) {
							want = append(want, k)
						}
						continue
					}
					if c >= ts(win[0]) && c < ts(win[1]) {
						want = append(want, k)
					}
				}
				sort.Strings(got)
				sort.Strings(want)
				if e.Name == contract.GameSessions {
					// a session spanning the window without an action in it is
					// legitimately absent; every row shown must be a candidate
					cand := map[string]bool{}
					for _, k := range want {
						cand[k] = true
					}
					for _, k := range got {
						if !cand[k] {
							t.Errorf("window %v: session %s has no action in it", win, k)
						}
					}
					continue
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("window %v: got %d ids, want %d\n got %v\nwant %v", win, len(got), len(want), got, want)
				}
			}
		})
	}
}

// weekHistory is every row of weekWorld's whole history (one scan per
// entity from the first hour to the clock), generated once for the tests
// that hold windows and references against it.
var weekHistory = sync.OnceValues(func() (*world, map[string][][]string) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	w := newWorld(42, weekWorld(), now)
	q := &query{from: w.start, to: now.Add(time.Second), vis: now, ts: contract.FormatTime}
	rows := map[string][][]string{}
	for _, e := range contract.Entities {
		w.scan(e, q, func(v []string, _ int, _ time.Time) bool {
			rows[e.Name] = append(rows[e.Name], append([]string{}, v...))
			return true
		})
	}
	return w, rows
})

// weekWorld is the default volumes over seven days before the clock, so a
// test can scan the whole history.
func weekWorld() WorldConfig {
	cfg := newConfig().(*Config).World
	cfg.Days = 7
	return cfg
}

func indexOf(e *contract.Entity, col string) int {
	for i, f := range e.Fields {
		if f.Name == col {
			return i
		}
	}
	return -1
}

// TestReferencesResolve: every player_id, bet_id, event_id and
// tournament_id of the whole history names an entity that exists, from the
// world's first hour on (the verifier's xref.references over the full range).
func TestReferencesResolve(t *testing.T) {
	t.Parallel()
	_, rows := weekHistory()
	keys := map[string]map[string]bool{}
	for _, e := range contract.Entities {
		keys[e.Name] = map[string]bool{}
		k := indexOf(e, e.Key)
		for _, v := range rows[e.Name] {
			keys[e.Name][v[k]] = true
		}
	}
	for _, ref := range contract.References {
		t.Run(ref.Entity+"."+ref.Column, func(t *testing.T) {
			e, _ := contract.Lookup(ref.Entity)
			col := indexOf(e, ref.Column)
			missing := map[string]bool{}
			for _, v := range rows[ref.Entity] {
				if !keys[ref.Target][v[col]] {
					missing[v[col]] = true
				}
			}
			if len(rows[ref.Entity]) == 0 || len(missing) > 0 {
				t.Errorf("%d rows, %s values without a %s row: %v", len(rows[ref.Entity]), ref.Column, ref.Target, missing)
			}
		})
	}
}

// TestEveryFieldFilled: every column of every feed carries a value in some
// row of the default world's history (optional fields are sometimes empty,
// never always).
func TestEveryFieldFilled(t *testing.T) {
	t.Parallel()
	_, rows := weekHistory()
	for _, e := range contract.Entities {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			filled := make([]bool, len(e.Fields))
			for _, v := range rows[e.Name] {
				for i, s := range v {
					filled[i] = filled[i] || s != ""
				}
			}
			for i, f := range e.Fields {
				if !filled[i] {
					t.Errorf("%s.%s is empty in every row", e.Name, f.Name)
				}
			}
		})
	}
}

// TestFarWindowsHaveData: an hour more than 292 years after the world's
// start (the most a time.Duration holds) still answers its own rows, with
// the ids of its bucket; hour counting once saturated there and answered
// header-only feeds for a clock set that far ahead.
func TestFarWindowsHaveData(t *testing.T) {
	t.Parallel()
	cfg := newConfig().(*Config).World
	w := newWorld(42, cfg, time.Time{}) // DefaultWorldStart
	for _, from := range []time.Time{
		time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC),
		time.Date(2330, 3, 10, 10, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 30, 10, 0, 0, 0, time.UTC),
	} {
		to := from.Add(time.Hour)
		bucket := (from.Unix() - w.start.Unix()) / 3600
		e, _ := contract.Lookup(contract.Logins)
		var ids []string
		w.scan(e, &query{from: from, to: to, vis: to, ts: contract.FormatTime}, func(v []string, _ int, at time.Time) bool {
			ids = append(ids, v[0])
			if at.Before(from) || !at.Before(to) {
				t.Errorf("%s: login %s at %s is outside the window", from, v[0], at)
			}
			return true
		})
		sort.Strings(ids)
		if len(ids) != cfg.LoginsPerHour || ids[0] != fmt.Sprint(bucket*maxPerHour+1) {
			t.Errorf("window from %s: login ids %v, want %d of bucket %d", from, ids, cfg.LoginsPerHour, bucket)
		}
	}
}
