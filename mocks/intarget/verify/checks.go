package verify

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
)

// entityRun holds what the checks of one entity share.
type entityRun struct {
	e           *contract.Entity
	key, cursor int
	created     int
	main        []*pulled
	lastCursor  map[string]time.Time
	lastTotals  map[string][4]float64
	missingCols map[string]bool
	games       bool
}

func (rn *runner) checkAuth(e *contract.Entity, w window) {
	if rn.o.AuthBasic == "" && rn.o.AuthHeader == "" {
		rn.rep.skip(checkAuth, e.Name, "no credentials given (--auth or --header)")
		return
	}
	req, err := rn.request(e, w, "%20", false)
	if err != nil {
		return
	}
	x := rn.do(req)
	switch {
	case x.err != "":
		rn.rep.add(Finding{Check: checkAuth, Entity: e.Name, Request: req.URL.String(), Message: "request without credentials: " + x.err})
	case x.status == http.StatusUnauthorized || x.status == http.StatusForbidden:
		rn.rep.pass(checkAuth, e.Name)
	default:
		rn.rep.add(Finding{Check: checkAuth, Entity: e.Name, Request: req.URL.String(),
			Message: fmt.Sprintf("a request without credentials answered %d, expected 401 or 403", x.status)})
	}
}

// pullAs pulls a window and reports transport problems under check; quiet
// pulls do not repeat format findings already made on the main pulls.
func (rn *runner) pullAs(e *contract.Entity, w window, space, check string, quiet bool) *pulled {
	req, err := rn.request(e, w, space, true)
	p := &pulled{w: w}
	if err != nil {
		rn.rep.add(Finding{Check: check, Entity: e.Name, Message: err.Error()})
		return p
	}
	p.url = req.URL.String()
	x := rn.do(req)
	p.status, p.ctype = x.status, x.ctype
	switch {
	case x.err != "":
		rn.rep.add(Finding{Check: check, Entity: e.Name, Request: p.url, Message: x.err})
		return p
	case x.status == http.StatusUnauthorized || x.status == http.StatusForbidden:
		msg := fmt.Sprintf("the configured credentials were refused with %d", x.status)
		if rn.o.AuthBasic == "" && rn.o.AuthHeader == "" {
			msg = fmt.Sprintf("answered %d and no credentials were given (--auth or --header)", x.status)
		}
		rn.rep.add(Finding{Check: checkAuth, Entity: e.Name, Request: p.url, Message: msg})
		return p
	case x.status != http.StatusOK:
		rn.rep.add(Finding{Check: check, Entity: e.Name, Request: p.url, Message: fmt.Sprintf("answered %d instead of 200: %s", x.status, snippet(x.body))})
		return p
	}
	if quiet {
		if rn.o.Format == "json" {
			p.table, _ = ParseJSON(x.body)
		} else {
			p.table, _, _ = ParseCSV(x.body)
		}
	} else {
		p.table, _ = rn.parse(e, p.url, x)
	}
	return p
}

func (er *entityRun) describe(t *Table, i int, extra ...int) string {
	row := t.Rows[i]
	parts := []string{fmt.Sprintf("#%d", t.Lines[i])}
	add := func(c int) {
		if c >= 0 && c < len(row) {
			parts = append(parts, t.Columns[c]+"="+row[c])
		}
	}
	add(er.key)
	add(er.cursor)
	for _, c := range extra {
		if c != er.key && c != er.cursor {
			add(c)
		}
	}
	return strings.Join(parts, " ")
}

// bind finds the entity's key, cursor and creation columns in a table.
func (er *entityRun) bind(t *Table) {
	er.key, er.cursor, er.created = t.Col(er.e.Key), t.Col(er.e.Cursor), -1
	if er.e.Created != "" {
		er.created = t.Col(er.e.Created)
	}
}

func (rn *runner) entity(e *contract.Entity, windows []window) {
	er := &entityRun{e: e, lastCursor: map[string]time.Time{}, lastTotals: map[string][4]float64{},
		missingCols: map[string]bool{}, games: e.Name == contract.GameSessions}
	for _, c := range []string{checkHTTP, checkRequired, checkTimestamps, checkValues, checkBounds, checkDuplicates, checkMonotonic} {
		rn.rep.pass(c, e.Name)
	}
	if rn.o.Format == "json" {
		rn.rep.pass(checkJSON, e.Name)
	} else {
		rn.rep.pass(checkCSV, e.Name)
	}
	if er.games {
		rn.rep.pass(checkGameTotals, e.Name)
		rn.rep.pass(checkGameSpan, e.Name)
		rn.rep.pass(checkGameOpen, e.Name)
	}
	for _, w := range windows {
		p := rn.pullAs(e, w, "%20", checkHTTP, false)
		er.main = append(er.main, p)
		rn.mains[e.Name] = append(rn.mains[e.Name], p)
		if p.table == nil {
			continue
		}
		rn.rep.Rows += len(p.table.Rows)
		er.bind(p.table)
		rn.formatChecks(er, p)
		rn.boundsCheck(er, p, true)
		rn.duplicates(er, p)
		rn.monotonic(er, p)
		if er.games {
			rn.gameChecks(er, p)
		}
		rn.collect(er, p)
	}
	if er.games {
		rn.sessionsInTheirWindows(er)
	}
	if f, _ := e.Field(e.Cursor); f.Added && er.missingCols[e.Cursor] {
		for _, c := range []string{checkBounds, checkMonotonic} {
			rn.rep.skip(c, e.Name, "no "+e.Cursor+" column (InTarget's list for this feed names none)")
		}
	}
	readable := 0
	for _, p := range er.main {
		if p.table != nil {
			readable++
		}
	}
	if readable > 0 {
		rn.badWindows(e, windows[0])
	} else {
		// a 4xx to a bad window proves nothing when good windows get one too
		rn.rep.skip(checkBadWindow, e.Name, "no window could be read, so a 4xx to a bad window says nothing")
	}
	rn.futureWindow(er)
	if readable == 0 {
		for _, c := range []string{checkRequired, checkTimestamps, checkValues, checkBounds, checkDuplicates, checkMonotonic, checkGameTotals, checkGameSpan, checkGameOpen} {
			if c != checkGameTotals && c != checkGameSpan && c != checkGameOpen || er.games {
				rn.rep.skip(c, e.Name, "no window could be read")
			}
		}
	}
	best := -1
	for i, p := range er.main {
		if p.table != nil && (best < 0 || len(p.table.Rows) > len(er.main[best].table.Rows)) {
			best = i
		}
	}
	if best < 0 {
		for _, c := range []string{checkPlusSpace, checkRepeatable, checkPartition} {
			rn.rep.skip(c, e.Name, "no window could be read")
		}
		return
	}
	rn.plusSpace(er, er.main[best])
	rn.repeatable(er, er.main[best])
	rn.partition(er, windows)
	rn.probe(er)
}

func (rn *runner) formatChecks(er *entityRun, p *pulled) {
	t := p.table
	for _, f := range er.e.Fields {
		if !f.Required && !f.Added || t.Col(f.Name) >= 0 || er.missingCols[f.Name] || len(t.Rows) == 0 && rn.o.Format != "csv" {
			continue
		}
		er.missingCols[f.Name] = true
		if f.Added {
			rn.rep.add(Finding{Check: checkRequired, Entity: er.e.Name, Request: p.url, Severity: SevWarning,
				Message: fmt.Sprintf("column %q is missing: InTarget's list for %s names no modification timestamp, so this is allowed, "+
					"but then neither InTarget nor the verifier can tell when a row changed (window.bounds and window.monotonic are skipped)", f.Name, er.e.Name)})
			continue
		}
		rn.rep.add(Finding{Check: checkRequired, Entity: er.e.Name, Request: p.url, Message: fmt.Sprintf("required column %q is missing", f.Name)})
	}
	for i, row := range t.Rows {
		for _, f := range er.e.Fields {
			c := t.Col(f.Name)
			if c < 0 {
				continue
			}
			v := row[c]
			if v == "" {
				switch {
				case f.Required:
					rn.rep.add(Finding{Check: checkRequired, Entity: er.e.Name, Request: p.url,
						Message: fmt.Sprintf("required field %q is empty", f.Name), Rows: []string{er.describe(t, i, c)}})
				case f.Added:
					// served but empty: as unhelpful as a missing column, and
					// the window checks cannot see this row's change time
					rn.rep.add(Finding{Check: checkRequired, Entity: er.e.Name, Request: p.url, Severity: SevWarning,
						Message: fmt.Sprintf("field %q is empty: InTarget's list for %s names no modification timestamp, but an empty one "+
							"tells neither InTarget nor the verifier when the row changed (window.bounds and window.monotonic cannot check it)", f.Name, er.e.Name),
						Rows: []string{er.describe(t, i, c)}})
				}
				continue
			}
			check, msg := "", ""
			switch f.Kind {
			case contract.Timestamp:
				if _, ok := contract.ParseTimestamp(v); !ok {
					check, msg = checkTimestamps, fmt.Sprintf("%s %q is not YYYY-MM-DD HH:MM:SS (UTC)", f.Name, v)
				}
			case contract.Date:
				if !contract.ValidDate(v) {
					check, msg = checkTimestamps, fmt.Sprintf("%s %q is not YYYY-MM-DD", f.Name, v)
				}
			case contract.Decimal:
				if !contract.ValidDecimal(v) {
					check, msg = checkValues, fmt.Sprintf("%s %q is not a decimal with '.'", f.Name, v)
				}
			case contract.Integer:
				if !contract.ValidInteger(v) {
					check, msg = checkValues, fmt.Sprintf("%s %q is not an integer", f.Name, v)
				}
			case contract.Bool:
				if v == "true" || v == "false" {
					rn.rep.add(Finding{Check: checkValues, Entity: er.e.Name, Request: p.url, Severity: SevWarning,
						Message: fmt.Sprintf("%s is %q; the reference writes booleans as 1/0", f.Name, v), Rows: []string{er.describe(t, i, c)}})
				} else if v != "1" && v != "0" {
					check, msg = checkValues, fmt.Sprintf("%s %q is not 1 or 0", f.Name, v)
				}
			case contract.Enum:
				if !contains(f.Values, v) {
					check, msg = checkValues, fmt.Sprintf("%s %q is not one of %s", f.Name, v, strings.Join(f.Values, ", "))
				}
			}
			if check != "" {
				rn.rep.add(Finding{Check: check, Entity: er.e.Name, Request: p.url, Message: msg, Rows: []string{er.describe(t, i, c)}})
			}
		}
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// readTime reads a timestamp for the window checks: besides the required
// format it accepts RFC 3339 (reported by format.timestamps), so one wrong
// format does not hide every window problem behind it.
func readTime(s string) (time.Time, bool) {
	if t, ok := contract.ParseTimestamp(s); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err == nil
}

func (er *entityRun) cursorAt(t *Table, i int) (time.Time, bool) {
	if er.cursor < 0 {
		return time.Time{}, false
	}
	return readTime(t.Rows[i][er.cursor])
}

func (er *entityRun) timeAt(t *Table, i int, col string) (time.Time, bool) {
	c := t.Col(col)
	if c < 0 {
		return time.Time{}, false
	}
	return readTime(t.Rows[i][c])
}

// boundsCheck: every cursor in [from, to). A game session is in a window
// when one of its actions is: its first action is before to and its last
// at or after from; a last action at or after to is legal and reported as
// information (main pulls only).
func (rn *runner) boundsCheck(er *entityRun, p *pulled, main bool) {
	t := p.table
	for i := range t.Rows {
		if er.games {
			first, ok1 := er.timeAt(t, i, "created_at")
			last, ok2 := er.timeAt(t, i, "updated_at")
			if !ok1 || !ok2 {
				continue
			}
			if !first.Before(p.w.to) || last.Before(p.w.from) {
				rn.rep.add(Finding{Check: checkBounds, Entity: er.e.Name, Request: p.url,
					Message: fmt.Sprintf("session has no action in %s (first %s, last %s)", p.w, contract.FormatTime(first), contract.FormatTime(last)),
					Rows:    []string{er.describe(t, i, t.Col("created_at"))}})
			} else if main && !last.Before(p.w.to) {
				rn.rep.add(Finding{Check: checkGameOpen, Entity: er.e.Name, Request: p.url, Severity: SevInfo,
					Message: fmt.Sprintf("session has actions after the window's end %s (aggregated regardless of time)", contract.FormatTime(p.w.to)),
					Rows:    []string{er.describe(t, i)}})
			}
			continue
		}
		c, ok := er.cursorAt(t, i)
		if !ok {
			continue
		}
		if c.Before(p.w.from) || !c.Before(p.w.to) {
			msg := fmt.Sprintf("%s %s is outside %s", er.e.Cursor, contract.FormatTime(c), p.w)
			if c.Equal(p.w.to) {
				msg += ": a row exactly at `to` belongs to the next window (from <= t < to, not <= to)"
			}
			rn.rep.add(Finding{Check: checkBounds, Entity: er.e.Name, Request: p.url, Message: msg, Rows: []string{er.describe(t, i)}})
		}
	}
}

func (rn *runner) duplicates(er *entityRun, p *pulled) {
	if er.key < 0 {
		return
	}
	seen := map[string]int{}
	for i, row := range p.table.Rows {
		k := row[er.key]
		if j, dup := seen[k]; dup {
			rn.rep.add(Finding{Check: checkDuplicates, Entity: er.e.Name, Request: p.url,
				Message: fmt.Sprintf("%s %s appears more than once in one response", er.e.Key, k),
				Rows:    []string{er.describe(p.table, j), er.describe(p.table, i)}})
			continue
		}
		seen[k] = i
	}
}

func (rn *runner) monotonic(er *entityRun, p *pulled) {
	t := p.table
	for i, row := range t.Rows {
		c, ok := er.cursorAt(t, i)
		if !ok || er.key < 0 {
			continue
		}
		if er.created >= 0 && !er.games {
			if cr, ok := readTime(row[er.created]); ok && c.Before(cr) {
				rn.rep.add(Finding{Check: checkMonotonic, Entity: er.e.Name, Request: p.url,
					Message: fmt.Sprintf("%s %s is before %s %s", er.e.Cursor, contract.FormatTime(c), er.e.Created, contract.FormatTime(cr)),
					Rows:    []string{er.describe(t, i, er.created)}})
			}
		}
		k := row[er.key]
		if prev, seen := er.lastCursor[k]; seen && c.Before(prev) {
			rn.rep.add(Finding{Check: checkMonotonic, Entity: er.e.Name, Request: p.url,
				Message: fmt.Sprintf("%s went back from %s (earlier window) to %s", er.e.Cursor, contract.FormatTime(prev), contract.FormatTime(c)),
				Rows:    []string{er.describe(t, i)}})
		}
		er.lastCursor[k] = c
	}
}

func num(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && contract.ValidDecimal(s)
}

func (rn *runner) gameChecks(er *entityRun, p *pulled) {
	t := p.table
	cols := []int{t.Col("bet_count"), t.Col("win_count"), t.Col("bet_amount"), t.Col("win_amount")}
	for _, c := range cols {
		if c < 0 {
			return
		}
	}
	for i, row := range t.Rows {
		var v [4]float64
		ok := true
		for j, c := range cols {
			var good bool
			v[j], good = num(row[c])
			ok = ok && good
		}
		if !ok {
			continue
		}
		var bad []string
		if v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 {
			bad = append(bad, "negative count or amount")
		}
		if v[0] == 0 && v[2] != 0 {
			bad = append(bad, "bet_amount without bets")
		}
		if v[1] == 0 && v[3] != 0 {
			bad = append(bad, "win_amount without wins")
		}
		if v[0]+v[1] == 0 {
			bad = append(bad, "a session without actions")
		}
		first, ok1 := er.timeAt(t, i, "created_at")
		last, ok2 := er.timeAt(t, i, "updated_at")
		if ok1 && ok2 && last.Before(first) {
			bad = append(bad, "updated_at (last action) before created_at (first action)")
		}
		if len(bad) > 0 {
			rn.rep.add(Finding{Check: checkGameTotals, Entity: er.e.Name, Request: p.url, Message: strings.Join(bad, "; "),
				Rows: []string{er.describe(t, i, cols...)}})
		}
		if er.key < 0 {
			continue
		}
		k := row[er.key]
		if prev, seen := er.lastTotals[k]; seen {
			for j := range v {
				if v[j] < prev[j] {
					rn.rep.add(Finding{Check: checkGameSpan, Entity: er.e.Name, Request: p.url,
						Message: fmt.Sprintf("%s fell from %g in an earlier window to %g", t.Columns[cols[j]], prev[j], v[j]),
						Rows:    []string{er.describe(t, i, cols...)}})
					break
				}
			}
		}
		er.lastTotals[k] = v
	}
}

// sessionsInTheirWindows: a session's first and last actions are actions,
// so the closed windows holding them must list the session too (InTarget's
// rule selects every session with an action in the window); a session
// spanning windows is thereby in each window of its first and last action.
func (rn *runner) sessionsInTheirWindows(er *entityRun) {
	keys := make([]map[string]bool, len(er.main))
	for i, p := range er.main {
		erx := *er
		if p.table == nil {
			continue
		}
		if erx.bind(p.table); erx.key < 0 {
			return
		}
		keys[i] = map[string]bool{}
		for _, row := range p.table.Rows {
			keys[i][row[erx.key]] = true
		}
	}
	reported := map[string]bool{}
	for _, p := range er.main {
		if p.table == nil {
			continue
		}
		erx := *er
		erx.bind(p.table)
		for i, row := range p.table.Rows {
			for _, col := range []string{"created_at", "updated_at"} {
				at, ok := erx.timeAt(p.table, i, col)
				if !ok {
					continue
				}
				for j, q := range er.main {
					if keys[j] == nil || at.Before(q.w.from) || !at.Before(q.w.to) || q.w.to.After(rn.o.Now) {
						continue
					}
					k := row[erx.key]
					if !keys[j][k] && !reported[k] {
						reported[k] = true
						rn.rep.add(Finding{Check: checkGameSpan, Entity: er.e.Name, Request: q.url, Rows: []string{erx.describe(p.table, i, p.table.Col(col))},
							Message: fmt.Sprintf("session %s has an action at %s (%s, seen in %s) but is missing from %s", k, contract.FormatTime(at), col, p.w, q.w)})
					}
				}
			}
		}
	}
}

// collect records ids and references for the cross-feed check.
func (rn *runner) collect(er *entityRun, p *pulled) {
	t := p.table
	if er.key >= 0 {
		if rn.known[er.e.Name] == nil {
			rn.known[er.e.Name] = map[string]bool{}
		}
		for _, row := range t.Rows {
			rn.known[er.e.Name][row[er.key]] = true
		}
	}
	for _, ref := range contract.References {
		c := t.Col(ref.Column)
		if ref.Entity != er.e.Name || c < 0 {
			continue
		}
		k := ref.Entity + "." + ref.Column
		if rn.refs[k] == nil {
			rn.refs[k] = map[string]refSample{}
		}
		for i, row := range t.Rows {
			if row[c] == "" {
				continue
			}
			if _, ok := rn.refs[k][row[c]]; !ok {
				rn.refs[k][row[c]] = refSample{url: p.url, row: er.describe(t, i, c)}
			}
		}
	}
}

func (rn *runner) badWindows(e *contract.Entity, w window) {
	from, to := enc(w.from, "%20"), enc(w.to, "%20")
	cases := []struct{ what, query string }{
		{"without from", "to=" + to},
		{"without to", "from=" + from},
		{"with a malformed from", "from=yesterday&to=" + to},
		{"with from after to", "from=" + to + "&to=" + from},
	}
	rn.rep.pass(checkBadWindow, e.Name)
	for _, c := range cases {
		req, err := rn.rawRequest(e, c.query, true)
		if err != nil {
			continue
		}
		x := rn.do(req)
		switch {
		case x.err != "":
			rn.rep.add(Finding{Check: checkBadWindow, Entity: e.Name, Request: req.URL.String(), Message: "a request " + c.what + ": " + x.err})
		case x.status < 400 || x.status > 499:
			rn.rep.add(Finding{Check: checkBadWindow, Entity: e.Name, Request: req.URL.String(),
				Message: fmt.Sprintf("a request %s answered %d, expected a 4xx", c.what, x.status)})
		}
	}
}

func (rn *runner) futureWindow(er *entityRun) {
	e := er.e
	w := window{rn.o.Now.Add(time.Minute).Truncate(time.Second), rn.o.Now.Add(time.Minute + rn.o.Window).Truncate(time.Second)}
	rn.rep.pass(checkEmptyWindow, e.Name)
	rn.rep.pass(checkFuture, e.Name)
	req, err := rn.request(e, w, "%20", true)
	if err != nil {
		return
	}
	x := rn.do(req)
	u := req.URL.String()
	if x.err != "" || x.status != http.StatusOK {
		msg := x.err
		if msg == "" {
			msg = fmt.Sprintf("answered %d: %s", x.status, snippet(x.body))
		}
		rn.rep.add(Finding{Check: checkEmptyWindow, Entity: e.Name, Request: u, Message: "an empty window " + w.String() + ": " + msg})
		return
	}
	var t *Table
	var probs []string
	if rn.o.Format == "json" {
		t, probs = ParseJSON(x.body)
	} else {
		t, probs, _ = ParseCSV(x.body)
	}
	if len(probs) > 0 {
		rn.rep.add(Finding{Check: checkEmptyWindow, Entity: e.Name, Request: u, Message: "an empty window " + w.String() + ": " + probs[0]})
		return
	}
	if len(t.Rows) > 0 {
		er2 := *er
		er2.bind(t)
		var rows []string
		for i := range t.Rows {
			if i == maxSamples {
				break
			}
			rows = append(rows, er2.describe(t, i))
		}
		rn.rep.add(Finding{Check: checkFuture, Entity: e.Name, Request: u, Rows: rows,
			Message: fmt.Sprintf("a window after the API's clock (%s) returned %d rows", contract.FormatTime(rn.o.Now), len(t.Rows))})
	}
}

// rowSet is the multiset of a table's rows, column order normalised.
func rowSet(t *Table) map[string]int {
	cols := append([]string{}, t.Columns...)
	sort.Strings(cols)
	out := map[string]int{}
	for _, row := range t.Rows {
		var b strings.Builder
		for _, c := range cols {
			b.WriteString(c + "=" + row[t.Col(c)] + "\x1f")
		}
		out[b.String()]++
	}
	return out
}

func diffSets(a, b map[string]int) (onlyA, onlyB []string) {
	for k, n := range a {
		if b[k] < n {
			onlyA = append(onlyA, strings.ReplaceAll(k, "\x1f", " "))
		}
	}
	for k, n := range b {
		if a[k] < n {
			onlyB = append(onlyB, strings.ReplaceAll(k, "\x1f", " "))
		}
	}
	sort.Strings(onlyA)
	sort.Strings(onlyB)
	return firstN(onlyA), firstN(onlyB)
}

func firstN(s []string) []string {
	if len(s) > maxSamples {
		return s[:maxSamples]
	}
	return s
}

// compare reports rows that differ between two pulls of the same window.
// With vanishOK, rows only in the first pull are a warning: on a live API a
// row changed between the pulls has moved to a later window, which is
// correct; rows that appear in the second pull are always an error.
func (rn *runner) compare(check string, er *entityRun, a, b *pulled, what string, vanishOK bool) {
	if a.table == nil || b.table == nil {
		return
	}
	onlyA, onlyB := diffSets(rowSet(a.table), rowSet(b.table))
	if len(onlyB) > 0 || len(onlyA) > 0 && !vanishOK {
		rows := append(prefix("only in the first: ", onlyA), prefix("only in the second: ", onlyB)...)
		rn.rep.add(Finding{Check: check, Entity: er.e.Name, Request: b.url, Rows: firstN(rows),
			Message: fmt.Sprintf("%s differ (%s)", what, a.w)})
		return
	}
	if len(onlyA) > 0 {
		rn.rep.add(Finding{Check: check, Entity: er.e.Name, Request: b.url, Rows: onlyA, Severity: SevWarning,
			Message: fmt.Sprintf("%s: %d rows vanished in the second pull (changed since, so moved to a later window?) (%s)", what, len(onlyA), a.w)})
	}
}

func prefix(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}

func (rn *runner) plusSpace(er *entityRun, p *pulled) {
	rn.rep.pass(checkPlusSpace, er.e.Name)
	q := rn.pullAs(er.e, p.w, "+", checkPlusSpace, true)
	rn.compare(checkPlusSpace, er, p, q, "the rows for from/to with %20 and with +", false)
}

func (rn *runner) repeatable(er *entityRun, p *pulled) {
	rn.rep.pass(checkRepeatable, er.e.Name)
	q := rn.pullAs(er.e, p.w, "%20", checkRepeatable, true)
	rn.compare(checkRepeatable, er, p, q, "two pulls of the same window", true)
}

// partition pulls up to three pairs of adjacent windows as one window and
// compares ids. Rows whose cursor is exactly the split point are left to the
// bounds check.
func (rn *runner) partition(er *entityRun, windows []window) {
	rn.rep.pass(checkPartition, er.e.Name)
	pairs := 0
	for i := 0; i+1 < len(er.main) && pairs < 3; i += 2 {
		a, b := er.main[i], er.main[i+1]
		if a.table == nil || b.table == nil {
			continue
		}
		pairs++
		full := rn.pullAs(er.e, window{a.w.from, b.w.to}, "%20", checkPartition, true)
		if full.table == nil {
			continue
		}
		keys := func(p *pulled) map[string]string {
			out := map[string]string{}
			erx := *er
			erx.bind(p.table)
			for j, row := range p.table.Rows {
				if erx.key < 0 {
					return nil
				}
				if c, ok := erx.cursorAt(p.table, j); ok && c.Equal(a.w.to) && !er.games {
					continue
				}
				out[row[erx.key]] = erx.describe(p.table, j)
			}
			return out
		}
		ka, kb, kf := keys(a), keys(b), keys(full)
		if ka == nil || kb == nil || kf == nil {
			rn.rep.skip(checkPartition, er.e.Name, "no "+er.e.Key+" column")
			return
		}
		var both, lost, extra []string
		for k, d := range ka {
			if _, ok := kb[k]; ok && !er.games {
				both = append(both, d)
			}
			if _, ok := kf[k]; !ok {
				lost = append(lost, d)
			}
		}
		for k, d := range kb {
			if _, ok := kf[k]; !ok {
				lost = append(lost, d)
			}
		}
		for k, d := range kf {
			_, inA := ka[k]
			_, inB := kb[k]
			if !inA && !inB {
				extra = append(extra, d)
			}
		}
		span := window{a.w.from, b.w.to}
		if len(both) > 0 {
			sort.Strings(both)
			rn.rep.add(Finding{Check: checkPartition, Entity: er.e.Name, Request: b.url, Rows: firstN(both),
				Message: fmt.Sprintf("%d ids are in both %s and %s", len(both), a.w, b.w)})
		}
		if len(lost) > 0 {
			sort.Strings(lost)
			rn.rep.add(Finding{Check: checkPartition, Entity: er.e.Name, Request: full.url, Rows: firstN(lost), Severity: SevWarning,
				Message: fmt.Sprintf("%d rows of the halves are missing from %s (changed since, so moved to a later window?)", len(lost), span)})
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			rn.rep.add(Finding{Check: checkPartition, Entity: er.e.Name, Request: full.url, Rows: firstN(extra),
				Message: fmt.Sprintf("%d rows of %s are in neither half", len(extra), span)})
		}
	}
}

// probe places a window boundary exactly on an observed row: the row must
// be absent from [from, c) and present in [c, to).
func (rn *runner) probe(er *entityRun) {
	col := er.e.Cursor
	if er.games {
		col = "created_at"
	}
	for _, p := range er.main {
		if p.table == nil {
			continue
		}
		erx := *er
		erx.bind(p.table)
		for i, row := range p.table.Rows {
			c, ok := erx.timeAt(p.table, i, col)
			if !ok || !c.After(p.w.from) || !c.Before(p.w.to) || erx.key < 0 {
				continue
			}
			key := row[erx.key]
			before := rn.pullAs(er.e, window{p.w.from, c}, "%20", checkBounds, true)
			if before.table != nil {
				rn.boundsCheck(&erx, before, false)
			}
			after := rn.pullAs(er.e, window{c, p.w.to}, "%20", checkBounds, true)
			if after.table != nil {
				erA := *er
				erA.bind(after.table)
				found := false
				for _, r := range after.table.Rows {
					if erA.key >= 0 && r[erA.key] == key {
						found = true
					}
				}
				if !found {
					rn.rep.add(Finding{Check: checkBounds, Entity: er.e.Name, Request: after.url, Rows: []string{erx.describe(p.table, i)},
						Message: fmt.Sprintf("a row at exactly from (%s %s) is missing from %s", col, contract.FormatTime(c), after.w)})
				}
			}
			return
		}
	}
}

// crossFeed resolves references, looking before and after the range when
// the pulled windows do not hold the referenced row.
func (rn *runner) crossFeed() {
	for _, ref := range contract.References {
		_, from := rn.paths[ref.Entity]
		_, to := rn.paths[ref.Target]
		if !from || !to {
			continue
		}
		rn.rep.pass(checkXref, ref.Entity)
		k := ref.Entity + "." + ref.Column
		missing := rn.missing(k, ref.Target)
		if len(missing) > 0 && rn.o.Lookback > 0 {
			rn.lookback(ref.Target)
			missing = rn.missing(k, ref.Target)
		}
		if len(missing) == 0 {
			continue
		}
		var rows []string
		for _, id := range firstN(missing) {
			rows = append(rows, rn.refs[k][id].row)
		}
		rn.rep.add(Finding{Check: checkXref, Entity: ref.Entity, Request: rn.refs[k][missing[0]].url, Rows: rows,
			Message: fmt.Sprintf("%d %s values have no row in %s between %s and %s", len(missing), ref.Column, ref.Target,
				contract.FormatTime(rn.o.From.Add(-max(rn.o.Lookback, 0))), contract.FormatTime(rn.searchEnd()))})
	}
}

func (rn *runner) missing(k, target string) []string {
	var out []string
	for id := range rn.refs[k] {
		if !rn.known[target][id] {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// searchEnd is where the search for referenced rows after the range stops:
// a day past the API's clock (a row changed since shows there), but no
// further than the look-back after the range, so verifying a range years
// in the past does not pull every day since.
func (rn *runner) searchEnd() time.Time {
	end := rn.o.Now.Add(24 * time.Hour)
	if after := rn.o.To.Add(rn.o.Lookback); rn.o.Lookback > 0 && after.Before(end) {
		end = after
	}
	return end.Truncate(time.Second)
}

// lookback searches for the target's rows that references need outside the
// pulled range, one chunk at a time, nearest first (alternating before
// From and after To), and stops as soon as no reference to the target is
// missing: a player registered an hour before the range is found in the
// first chunk instead of after a fortnight of pulls. A finding still
// needs the whole look-back searched.
func (rn *runner) lookback(target string) {
	if rn.known[target+"\x00looked"] != nil {
		return
	}
	rn.known[target+"\x00looked"] = map[string]bool{}
	e, _ := contract.Lookup(target)
	chunk := 24 * time.Hour
	if rn.o.Window > chunk {
		chunk = rn.o.Window
	}
	var back []window
	for start, end := rn.o.From.Add(-rn.o.Lookback), rn.o.From; end.After(start); end = end.Add(-chunk) {
		back = append(back, window{from: maxTime(end.Add(-chunk), start), to: end})
	}
	fwd := split(rn.o.To, rn.searchEnd(), chunk)
	for i := 0; i < len(back) || i < len(fwd); i++ {
		for _, ws := range [][]window{back, fwd} {
			if i >= len(ws) || !rn.anyMissing(target) {
				continue
			}
			p := rn.pullAs(e, ws[i], "%20", checkXref, true)
			if p.table == nil {
				continue
			}
			er := &entityRun{e: e}
			er.bind(p.table)
			if er.key < 0 {
				continue
			}
			if rn.known[target] == nil {
				rn.known[target] = map[string]bool{}
			}
			for _, row := range p.table.Rows {
				rn.known[target][row[er.key]] = true
			}
		}
	}
}

// anyMissing tells whether a reference to target from a verified feed
// names an id not seen yet.
func (rn *runner) anyMissing(target string) bool {
	for _, ref := range contract.References {
		if ref.Target != target {
			continue
		}
		for id := range rn.refs[ref.Entity+"."+ref.Column] {
			if !rn.known[target][id] {
				return true
			}
		}
	}
	return false
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// lateRows re-pulls the last closed windows after Settle and reports rows
// that were not there the first time although their cursor is inside.
func (rn *runner) lateRows(first []*pulled) {
	wait := rn.o.Wait
	if wait == nil {
		wait = func(ctx context.Context, d time.Duration) error {
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if err := wait(rn.ctx, rn.o.Settle); err != nil {
		for _, e := range rn.ents {
			rn.rep.skip(checkLateRows, e.Name, "waiting failed: "+err.Error())
		}
		return
	}
	for i, e := range rn.ents {
		rn.rep.pass(checkLateRows, e.Name)
		a := first[i]
		if a.table == nil {
			continue
		}
		b := rn.pullAs(e, a.w, "%20", checkLateRows, true)
		if b.table == nil {
			continue
		}
		er := &entityRun{e: e}
		er.bind(a.table)
		if er.key < 0 {
			continue
		}
		had := map[string]bool{}
		for _, row := range a.table.Rows {
			had[row[er.key]] = true
		}
		er.bind(b.table)
		var late []string
		for j, row := range b.table.Rows {
			if er.key >= 0 && !had[row[er.key]] {
				late = append(late, er.describe(b.table, j))
			}
		}
		if len(late) > 0 {
			rn.rep.add(Finding{Check: checkLateRows, Entity: e.Name, Request: b.url, Rows: firstN(late),
				Message: fmt.Sprintf("%d rows appeared in %s %s after it had been pulled", len(late), a.w, rn.o.Settle)})
		}
	}
}
