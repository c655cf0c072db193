package intarget

import (
	"strings"
	"testing"
	"time"
)

func TestQueryValuesPlus(t *testing.T) {
	t.Parallel()
	raw := "from=2020-10-10+07:00:00&to=2020-10-10%2008:00:00"
	v, _ := queryValues(raw, false)
	if v.Get("from") != "2020-10-10 07:00:00" || v.Get("to") != "2020-10-10 08:00:00" {
		t.Errorf("decoded %v", v)
	}
	v, _ = queryValues(raw, true)
	if v.Get("from") != "2020-10-10+07:00:00" || v.Get("to") != "2020-10-10 08:00:00" {
		t.Errorf("plus kept literally: %v", v)
	}
	if _, err := queryValues("from=%zz", true); err == nil {
		t.Error("a broken escape was accepted")
	}
}

// FuzzQueryWindow feeds arbitrary query strings to the reference API's own
// parser: never a panic, and an accepted window is always non-empty and
// within the maximum.
func FuzzQueryWindow(f *testing.F) {
	for _, s := range []string{"from=2020-10-10+07:00:00&to=2020-10-10+08:00:00", "from=&to=", "from=2020-02-30+00:00:00&to=x",
		"to=2020-10-10%2008:00:00&from=2020-10-10%2007:00:00", "from=%zz", "from=9999-12-31+23:59:59&to=0000-01-01+00:00:00", "&&=&"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, plus bool) {
		v, err := queryValues(raw, plus)
		if err != nil {
			return
		}
		from, to, msg := parseWindow(v, 744*time.Hour, 0)
		if msg != "" {
			if !strings.Contains(msg, "from") && !strings.Contains(msg, "to") && !strings.Contains(msg, "window") {
				t.Fatalf("unclear message %q", msg)
			}
			return
		}
		if !from.Before(to) || to.Sub(from) > 744*time.Hour {
			t.Fatalf("accepted window %s – %s", from, to)
		}
	})
}
