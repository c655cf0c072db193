package verify

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		rows     int
		problem  string
		warning  string
		firstRow []string
	}{
		{"header only", "id,modified_at\r\n", 0, "", "", nil},
		{"quoted comma, quote and CRLF", "id,comment\r\n1,\"a, \"\"b\"\"\r\nc\"\r\n", 1, "", "", []string{"1", "a, \"b\"\nc"}},
		{"LF only", "id,x\n1,2\n", 1, "", "LF, not CRLF", []string{"1", "2"}},
		{"BOM", "\xEF\xBB\xBFid\r\n1\r\n", 1, "", "byte-order mark", []string{"1"}},
		{"semicolons", "id;x\r\n1;2\r\n", 1, "", "delimiter must be ','", nil},
		{"empty body", "", 0, "the body is empty", "", nil},
		{"ragged", "a,b\r\n1\r\n2,3\r\n", 1, "line 2 has 1 fields, the header has 2", "", []string{"2", "3"}},
		{"bare quote", "a,b\r\n1,x\"y\r\n", 0, "not valid CSV", "", nil},
		{"not UTF-8", "a\r\n\xff\r\n", 1, "not valid UTF-8", "", nil},
		{"empty line", "a,b\r\n1,2\r\n\r\n3,4\r\n", 2, "line 3 is empty", "", []string{"1", "2"}},
		{"empty line at the end", "a,b\r\n1,2\r\n\r\n", 1, "line 3 is empty", "", nil},
		{"empty line in quotes is data", "a,b\r\n1,\"x\r\n\r\ny\"\r\n", 1, "", "", []string{"1", "x\n\ny"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, probs, warns := ParseCSV([]byte(tc.in))
			if len(tb.Rows) != tc.rows {
				t.Errorf("rows = %d, want %d", len(tb.Rows), tc.rows)
			}
			if !hasSub(probs, tc.problem) {
				t.Errorf("problems %q lack %q", probs, tc.problem)
			}
			if tc.problem == "" && len(probs) > 0 {
				t.Errorf("unexpected problems %q", probs)
			}
			if !hasSub(warns, tc.warning) {
				t.Errorf("warnings %q lack %q", warns, tc.warning)
			}
			if tc.firstRow != nil && strings.Join(tb.Rows[0], "|") != strings.Join(tc.firstRow, "|") {
				t.Errorf("first row %q, want %q", tb.Rows[0], tc.firstRow)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		rows    int
		cols    string
		problem string
	}{
		{"empty array", `[]`, 0, "", ""},
		{"values normalised", `[{"id":1,"ok":true,"no":false,"x":null,"amount":12.50,"s":"a"}]`, 1, "id,ok,no,x,amount,s", ""},
		{"union of keys", `[{"id":1},{"id":2,"email":"e"}]`, 2, "id,email", ""},
		{"object not array", `{"data":[]}`, 0, "", "must be a JSON array"},
		{"nested", `[{"id":1,"tags":[1]}]`, 0, "", "is nested"},
		{"truncated", `[{"id":1},`, 1, "id", "not valid JSON"},
		{"trailing data", `[] []`, 0, "", "data after the JSON array"},
		{"not JSON", `id,modified_at`, 0, "", "not JSON"},
		{"element not object", `[1]`, 0, "", "an object is expected"},
		// the rows after a refused element are still read
		{"nested, then a row", `[{"id":1,"tags":{"a":[1,{"b":2}]},"x":2},{"id":2}]`, 1, "id", "is nested"},
		{"array element, then a row", `[[1,[2]],{"id":3}]`, 1, "id", "an object is expected"},
		{"truncated inside a nested field", `[{"id":1},{"id":2,"t":[1,`, 1, "id", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, probs := ParseJSON([]byte(tc.in))
			if len(tb.Rows) != tc.rows || strings.Join(tb.Columns, ",") != tc.cols {
				t.Errorf("rows %d cols %q, want %d %q", len(tb.Rows), tb.Columns, tc.rows, tc.cols)
			}
			if !hasSub(probs, tc.problem) || tc.problem == "" && len(probs) > 0 {
				t.Errorf("problems %q, want %q", probs, tc.problem)
			}
		})
	}
	tb, _ := ParseJSON([]byte(`[{"id":1,"ok":true,"no":false,"x":null,"amount":12.50,"s":"a"}]`))
	if got := strings.Join(tb.Rows[0], "|"); got != "1|1|0||12.50|a" {
		t.Errorf("row = %q", got)
	}
}

func hasSub(list []string, sub string) bool {
	if sub == "" {
		return true
	}
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// The row readers take whatever an operator's API sends: they must never
// panic and must always return rows as wide as the columns.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{"id,modified_at\r\n1,2026-03-10 10:00:00\r\n", "a,\"b\r\n", "\xEF\xBB\xBFa;b\n1;2", "", "\"", "a,b\r\n1,2,3\r\n4\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, probs, _ := ParseCSV(data)
		if len(tb.Rows) != len(tb.Lines) {
			t.Fatalf("%d rows, %d line numbers", len(tb.Rows), len(tb.Lines))
		}
		for _, r := range tb.Rows {
			if len(r) != len(tb.Columns) && len(probs) == 0 {
				t.Fatalf("row of %d cells under %d columns without a problem", len(r), len(tb.Columns))
			}
		}
	})
}

// FuzzParseJSON also holds the fast path (scanFlat) to the token stream:
// both must read any body to the same table and problems.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`[]`, `[{"id":1,"a":"x"}]`, `[{"id":1},{"b":null}]`, `{`, `[1,2]`, `[{"a":{"b":1}}]`, `[{"a":1e999}]`,
		" [ {\"id\" : -1.5E+3 , \"s\":\"a\\\"b\\u00e9\\n\", \"ok\":true,\"no\":false,\"x\":null} ,\r\n{\"id\":2,\"id\":3,\"\\u0069d\":4} ] ",
		`[{"é":"ü","a":""},{},{"a":"x","b":"y"}]`, `[{"a":1},[],{"a":2}]`, `[{"a":1,"n":[]},{"a":2}]`, `"text"`, `[{"a":1}] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, probs := ParseJSON(data)
		st, sprobs := parseJSONStream(&Table{}, data, nil)
		if utf8.Valid(data) && (fmt.Sprintf("%q %q %v %q", tb.Columns, tb.Rows, tb.Lines, probs) != fmt.Sprintf("%q %q %v %q", st.Columns, st.Rows, st.Lines, sprobs)) {
			t.Fatalf("fast and stream readers differ:\n%q %q %v %q\n%q %q %v %q", tb.Columns, tb.Rows, tb.Lines, probs, st.Columns, st.Rows, st.Lines, sprobs)
		}
		if len(tb.Rows) != len(tb.Lines) {
			t.Fatalf("%d rows, %d line numbers", len(tb.Rows), len(tb.Lines))
		}
		for _, r := range tb.Rows {
			if len(r) != len(tb.Columns) {
				t.Fatalf("row of %d cells under %d columns", len(r), len(tb.Columns))
			}
		}
	})
}
