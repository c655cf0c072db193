package verify

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Table is a parsed response: the columns and the rows aligned with them.
// A JSON row that lacks a key has "" in that cell, like an empty CSV cell.
type Table struct {
	Columns []string
	Rows    [][]string
	// Lines holds the line (CSV) or element index (JSON) of each row, for findings.
	Lines []int
	index map[string]int
}

// Col returns the index of a column, or -1.
func (t *Table) Col(name string) int {
	if t.index == nil {
		t.index = make(map[string]int, len(t.Columns))
		for i, c := range t.Columns {
			t.index[c] = i
		}
	}
	if i, ok := t.index[name]; ok {
		return i
	}
	return -1
}

// maxProblems bounds the problems one body can report.
const maxProblems = 20

// ParseCSV reads an RFC 4180 body. Problems are what breaks the format
// (bad quoting, ragged rows, invalid UTF-8); warnings are tolerable
// deviations (LF instead of CRLF, a byte-order mark). A body that cannot be
// read at all still yields the rows read before the first fatal problem.
func ParseCSV(data []byte) (t *Table, problems, warnings []string) {
	t = &Table{}
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		warnings = append(warnings, "the body starts with a UTF-8 byte-order mark")
		data = data[3:]
	}
	if len(data) == 0 {
		return t, []string{"the body is empty: a CSV answer needs its header row even when there are no rows"}, warnings
	}
	if !utf8.Valid(data) {
		problems = append(problems, "the body is not valid UTF-8")
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 && (i == 0 || data[i-1] != '\r') {
		warnings = append(warnings, "records end with LF, not CRLF as RFC 4180 says")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return t, append(problems, "the header row cannot be read: "+err.Error()), warnings
	}
	if len(header) == 1 && bytes.Count(data[:min(len(data), 4096)], []byte(";")) > 0 {
		warnings = append(warnings, "the header has one column and contains ';': the delimiter must be ','")
	}
	t.Columns = header
	for {
		// encoding/csv skips empty lines; RFC 4180 has none (an empty line
		// is a record with one empty field, not as many as the header)
		if off := r.InputOffset(); len(header) > 1 && len(problems) < maxProblems && off < int64(len(data)) &&
			(data[off] == '\n' || bytes.HasPrefix(data[off:], []byte("\r\n"))) {
			problems = append(problems, fmt.Sprintf("line %d is empty; every record needs the header's %d fields",
				bytes.Count(data[:off], []byte("\n"))+1, len(header)))
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				problems = appendCapped(problems, fmt.Sprintf("line %d has %d fields, the header has %d", pe.StartLine, len(rec), len(header)))
				continue
			}
			return t, appendCapped(problems, "the body is not valid CSV: "+err.Error()), warnings
		}
		l, _ := r.FieldPos(0)
		t.Rows = append(t.Rows, rec)
		t.Lines = append(t.Lines, l)
	}
	return t, problems, warnings
}

func appendCapped(list []string, s string) []string {
	if len(list) < maxProblems {
		return append(list, s)
	}
	return list
}

// ParseJSON reads a JSON array of flat objects. Numbers keep their text,
// booleans become 1/0 and null becomes an empty cell. A well formed body of
// flat objects (what a conformant API sends) is read by scanFlat, several
// times faster than encoding/json's token stream; anything else goes
// through the stream, which says what is wrong.
func ParseJSON(data []byte) (t *Table, problems []string) {
	t = &Table{}
	if !utf8.Valid(data) {
		problems = append(problems, "the body is not valid UTF-8")
	} else if json.Valid(data) {
		if ok := scanFlat(t, data); ok {
			return t, nil
		}
		t = &Table{}
	}
	return parseJSONStream(t, data, problems)
}

// parseJSONStream is ParseJSON for any body: it reports what is wrong and
// keeps the rows read before a syntax error.
func parseJSONStream(t *Table, data []byte, problems []string) (*Table, []string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return t, append(problems, "the body is not JSON: "+err.Error())
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return t, append(problems, fmt.Sprintf("the body must be a JSON array of objects, it starts with %v", tok))
	}
	var objs []map[string]any
	var order []string
	seen := map[string]bool{}
	for i := 0; dec.More(); i++ {
		keys, obj, bad, err := decodeFlat(dec)
		if err != nil {
			return finish(t, objs, order), append(problems, fmt.Sprintf("element %d is not valid JSON: %v", i, err))
		}
		if bad != "" {
			problems = appendCapped(problems, fmt.Sprintf("element %d: %s", i, bad))
			continue
		}
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
		}
		obj["\x00line"] = i
		objs = append(objs, obj)
	}
	if _, err := dec.Token(); err != nil {
		problems = append(problems, "the JSON array is not closed: "+err.Error())
	} else if dec.More() {
		problems = append(problems, "there is data after the JSON array")
	}
	return finish(t, objs, order), problems
}

// decodeFlat reads one array element, keeping the key order of an object.
// bad says why a well formed element is no row (not an object, a nested
// field); the element has then been read to its end. err is a syntax error:
// the stream cannot be read further.
func decodeFlat(d *json.Decoder) (keys []string, obj map[string]any, bad string, err error) {
	tok, err := d.Token()
	if err != nil {
		return nil, nil, "", err
	}
	if dl, ok := tok.(json.Delim); !ok || dl != '{' {
		if ok {
			err = skipRest(d)
		}
		return nil, nil, fmt.Sprintf("an object is expected, got %v", tok), err
	}
	obj = map[string]any{}
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			return nil, nil, "", err
		}
		k, _ := kt.(string)
		v, err := d.Token()
		if err != nil {
			return nil, nil, "", err
		}
		if _, nested := v.(json.Delim); nested {
			if bad == "" {
				bad = fmt.Sprintf("field %q is nested; rows must be flat", k)
			}
			if err := skipRest(d); err != nil {
				return nil, nil, "", err
			}
			continue
		}
		if _, dup := obj[k]; !dup {
			keys = append(keys, k)
		}
		obj[k] = v
	}
	if _, err := d.Token(); err != nil { // the closing '}'
		return nil, nil, "", err
	}
	if bad != "" {
		return nil, nil, bad, nil
	}
	return keys, obj, "", nil
}

// skipRest reads to the end of the object or array whose opening
// delimiter was just read.
func skipRest(d *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// scanFlat reads a body that json.Valid accepted and that is valid UTF-8
// into t, when it is an array of flat objects; it returns false for
// anything else (another top-level value, an element that is no object, a
// nested field), which parseJSONStream then reports. Cells are what the
// stream gives: a string's value, a number's literal text, 1/0, "" for null.
func scanFlat(t *Table, data []byte) bool {
	i := skipWS(data, 0)
	if data[i] != '[' {
		return false
	}
	col := map[string]int{}
	i = skipWS(data, i+1)
	for n := 0; data[i] != ']'; n++ {
		if data[i] == ',' {
			i = skipWS(data, i+1)
		}
		if data[i] != '{' {
			return false
		}
		row := make([]string, len(t.Columns))
		i = skipWS(data, i+1)
		for data[i] != '}' {
			if data[i] == ',' {
				i = skipWS(data, i+1)
			}
			k, j, ok := scanString(data, i)
			if !ok {
				return false
			}
			i = skipWS(data, skipWS(data, j)+1) // past ':'
			var v string
			switch c := data[i]; {
			case c == '"':
				if v, i, ok = scanString(data, i); !ok {
					return false
				}
			case c == 't':
				v, i = "1", i+4
			case c == 'f':
				v, i = "0", i+5
			case c == 'n':
				v, i = "", i+4
			case c == '-' || c >= '0' && c <= '9':
				j := i + 1
				for j < len(data) && strings.IndexByte("+-.eE0123456789", data[j]) >= 0 {
					j++
				}
				v, i = string(data[i:j]), j
			default: // a nested object or array
				return false
			}
			c, known := col[k]
			if !known {
				c = len(t.Columns)
				col[k] = c
				t.Columns = append(t.Columns, k)
			}
			for len(row) <= c {
				row = append(row, "")
			}
			row[c] = v // a repeated key: the last value wins
			i = skipWS(data, i)
		}
		t.Rows = append(t.Rows, row)
		t.Lines = append(t.Lines, n)
		i = skipWS(data, i+1)
	}
	for k, row := range t.Rows { // columns first seen in later rows
		for len(row) < len(t.Columns) {
			row = append(row, "")
		}
		t.Rows[k] = row
	}
	return true
}

// scanString reads the string literal at data[i] (valid JSON) and returns
// its value and the index after it.
func scanString(data []byte, i int) (string, int, bool) {
	j, plain := i+1, true
	for data[j] != '"' {
		if data[j] == '\\' {
			plain = false
			j++
		}
		j++
	}
	if plain {
		return string(data[i+1 : j]), j + 1, true
	}
	var s string
	if err := json.Unmarshal(data[i:j+1], &s); err != nil {
		return "", 0, false
	}
	return s, j + 1, true
}

func skipWS(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

func finish(t *Table, objs []map[string]any, order []string) *Table {
	t.Columns = order
	for _, o := range objs {
		row := make([]string, len(order))
		for i, k := range order {
			switch v := o[k].(type) {
			case string:
				row[i] = v
			case json.Number:
				row[i] = v.String()
			case bool:
				row[i] = map[bool]string{true: "1", false: "0"}[v]
			}
		}
		t.Rows = append(t.Rows, row)
		t.Lines = append(t.Lines, o["\x00line"].(int))
	}
	return t
}
