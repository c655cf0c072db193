package intarget

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
)

// flushEvery is how many rows are written between pushes to the network, so
// a million-row window streams instead of piling up in a buffer.
const flushEvery = 2048

// queryValues reads the query string. The contract says '+' and '%20' both
// mean a space, which url.ParseQuery does; the plusNotDecoded fault reads it
// like a framework that only percent-decodes.
func queryValues(raw string, plusLiteral bool) (url.Values, error) {
	if !plusLiteral {
		return url.ParseQuery(raw)
	}
	v := url.Values{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, val, _ := strings.Cut(part, "=")
		k, err := url.PathUnescape(k)
		if err != nil {
			return nil, err
		}
		val, err = url.PathUnescape(val)
		if err != nil {
			return nil, err
		}
		v.Add(k, val)
	}
	return v, nil
}

// requiredMsg answers a request without from or to, whether the spec
// validation or the handler notices first.
const requiredMsg = "query parameter %q is required (YYYY-MM-DD HH:MM:SS, UTC)"

// parseWindow validates from/to as the reference requires: both present,
// YYYY-MM-DD HH:MM:SS, from < to, at most the configured maximum apart.
func parseWindow(v url.Values, maxWindow time.Duration, offset int) (from, to time.Time, msg string) {
	get := func(name string) (time.Time, string) {
		s := v.Get(name)
		if s == "" {
			return time.Time{}, fmt.Sprintf(requiredMsg, name)
		}
		t, ok := contract.ParseTimestamp(s)
		if !ok {
			return time.Time{}, fmt.Sprintf("query parameter %q must be YYYY-MM-DD HH:MM:SS (UTC), got %q", name, s)
		}
		return t.Add(-time.Duration(offset) * time.Second), ""
	}
	if from, msg = get("from"); msg != "" {
		return
	}
	if to, msg = get("to"); msg != "" {
		return
	}
	if !from.Before(to) {
		return from, to, fmt.Sprintf("from (%s) must be before to (%s)", v.Get("from"), v.Get("to"))
	}
	if to.Sub(from) > maxWindow {
		return from, to, fmt.Sprintf("the window is %s long; at most %s is allowed", to.Sub(from), maxWindow)
	}
	return from, to, ""
}

// windowProblem is the handler's answer about a request's window ("" when
// the window is fine), for writeError: the spec validator checks from and to
// before the handler and must refuse them in the same words.
func windowProblem(c *sandbox.Call) string {
	st, ok := c.State.(*state)
	if !ok {
		return ""
	}
	v, err := queryValues(c.R.URL.RawQuery, st.cfg.Faults.PlusNotDecoded)
	if err != nil {
		return ""
	}
	_, _, msg := parseWindow(v, st.cfg.maxWindow(), st.cfg.Faults.localOffset())
	return msg
}

// wantsJSON picks the format: ?format wins, then Accept; CSV by default.
func wantsJSON(v url.Values, accept string) bool {
	switch v.Get("format") {
	case "json":
		return true
	case "csv":
		return false
	}
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/csv")
}

func serveEntity(c *sandbox.Call, ent *contract.Entity) {
	st := c.State.(*state)
	fl := &st.cfg.Faults
	v, err := queryValues(c.R.URL.RawQuery, fl.PlusNotDecoded)
	if err != nil {
		fail(c, http.StatusBadRequest, "invalid_window", "the query string cannot be decoded: "+err.Error())
		return
	}
	offset := fl.localOffset()
	from, to, msg := parseWindow(v, st.cfg.maxWindow(), offset)
	if msg != "" {
		fail(c, http.StatusBadRequest, "invalid_window", msg)
		return
	}
	layout := contract.TimeLayout
	if fl.ISOTimestamps {
		layout = "2006-01-02T15:04:05Z"
	}
	shift := time.Duration(offset) * time.Second
	q := &query{from: from, to: to, vis: c.Now().Add(-fl.lateBy()), closed: fl.ClosedInterval,
		ts: func(t time.Time) string { return t.UTC().Add(shift).Format(layout) }}

	cols := ent.Columns()
	drop := -1
	if e, col, _ := strings.Cut(fl.MissingColumn, "."); e == ent.Name {
		for i, n := range cols {
			if n == col {
				drop = i
			}
		}
	}
	created, key := -1, -1
	for i, n := range cols {
		if n == ent.Created && fl.DecreasingTimestamps && ent.Name != contract.GameSessions {
			created = i
		}
		if n == ent.Key {
			key = i
		}
	}
	asJSON := wantsJSON(v, c.R.Header.Get("Accept"))
	if asJSON {
		c.W.Header().Set("Content-Type", "application/json")
	} else {
		c.W.Header().Set("Content-Type", "text/csv; charset=utf-8")
	}
	c.W.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(c.W, 64<<10)
	out := newRowWriter(bw, ent, drop, asJSON)
	out.header()
	rows := 0
	st.world.scan(ent, q, func(vals []string, version int, cursor time.Time) bool {
		if created >= 0 && version > 0 {
			vals[created] = q.ts(cursor.Add(time.Hour))
		}
		n := 1
		if fl.DuplicateRows && dupHash(vals[key]) {
			n = 2
		}
		for ; n > 0; n-- {
			out.row(vals)
			rows++
		}
		if rows%flushEvery == 0 {
			if bw.Flush() != nil {
				return false
			}
			if f, ok := c.W.(http.Flusher); ok {
				f.Flush()
			}
		}
		return out.err() == nil
	})
	out.end()
	_ = bw.Flush()
}

func dupHash(key string) bool {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return h.Sum32()%7 == 0
}

// rowWriter renders rows as RFC 4180 CSV (header always, CRLF, quotes only
// when needed) or as a JSON array of flat objects.
type rowWriter struct {
	bw    *bufio.Writer
	csv   *csv.Writer
	ent   *contract.Entity
	drop  int
	first bool
	buf   []byte
	cells []string
}

func newRowWriter(bw *bufio.Writer, ent *contract.Entity, drop int, asJSON bool) *rowWriter {
	w := &rowWriter{bw: bw, ent: ent, drop: drop, first: true}
	if !asJSON {
		w.csv = csv.NewWriter(bw)
		w.csv.UseCRLF = true
	}
	return w
}

func (w *rowWriter) keep(vals []string) []string {
	w.cells = w.cells[:0]
	for i, s := range vals {
		if i != w.drop {
			w.cells = append(w.cells, s)
		}
	}
	return w.cells
}

func (w *rowWriter) header() {
	if w.csv != nil {
		_ = w.csv.Write(w.keep(w.ent.Columns()))
		return
	}
	_ = w.bw.WriteByte('[')
}

func (w *rowWriter) row(vals []string) {
	if w.csv != nil {
		_ = w.csv.Write(w.keep(vals))
		return
	}
	b := w.buf[:0]
	if !w.first {
		b = append(b, ',')
	}
	w.first = false
	b = append(b, '{')
	n := 0
	for i, s := range vals {
		if i == w.drop {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		f := w.ent.Fields[i]
		b = appendJSONString(b, f.Name)
		b = append(b, ':')
		switch {
		case s == "":
			b = append(b, "null"...)
		case f.Kind == contract.Bool:
			b = append(b, map[bool]string{true: "true", false: "false"}[s == "1"]...)
		case (f.Kind == contract.ID || f.Kind == contract.Integer) && contract.ValidInteger(s),
			f.Kind == contract.Decimal && contract.ValidDecimal(s):
			b = append(b, s...)
		default:
			b = appendJSONString(b, s)
		}
	}
	b = append(b, '}')
	w.buf = b
	_, _ = w.bw.Write(b)
}

func (w *rowWriter) end() {
	if w.csv != nil {
		w.csv.Flush()
		return
	}
	_, _ = w.bw.WriteString("]")
}

func (w *rowWriter) err() error {
	if w.csv != nil {
		return w.csv.Error()
	}
	_, err := w.bw.Write(nil)
	return err
}

// appendJSONString quotes s as a JSON string (UTF-8 kept as is).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' || ch == '\\':
			b = append(b, '\\', ch)
		case ch == '\n':
			b = append(b, '\\', 'n')
		case ch == '\r':
			b = append(b, '\\', 'r')
		case ch == '\t':
			b = append(b, '\\', 't')
		case ch < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xf])
		default:
			b = append(b, ch)
		}
	}
	return append(b, '"')
}
