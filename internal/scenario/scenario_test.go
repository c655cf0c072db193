package scenario

import (
	"strings"
	"testing"
)

type poolCfg struct {
	Operator string `yaml:"operator"`
	Total    int    `yaml:"totalAmount"`
}

type sectionCfg struct {
	Realm string    `yaml:"realm"`
	Pools []poolCfg `yaml:"pools"`
	Flags struct {
		Strict bool `yaml:"strict"`
	} `yaml:"flags"`
}

func (s *sectionCfg) Validate() []Problem {
	var out []Problem
	for i, p := range s.Pools {
		if p.Total < 0 {
			out = append(out, Problemf("pools["+itoa(i)+"].totalAmount", "use a positive number of MB", "totalAmount must not be negative"))
		}
	}
	return out
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestParseReportsLocatedProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		want    []Problem // File is always "s.yaml"; compared on Line, Path and a Message fragment
		section bool
	}{
		{name: "valid", src: "version: 1\nname: x\n"},
		{name: "missing version", src: "name: x\n",
			want: []Problem{{Line: 1, Path: "version", Message: "version is missing"}}},
		{name: "wrong version", src: "version: 2\n",
			want: []Problem{{Line: 1, Path: "version", Message: "unsupported version 2"}}},
		{name: "unknown key with suggestion", src: "version: 1\nclock:\n  frozn: true\n",
			want: []Problem{{Line: 3, Path: "clock.frozn", Message: `unknown key "frozn"`, Hint: `did you mean "frozen"?`}}},
		{name: "wrong type", src: "version: 1\nseed: many\n",
			want: []Problem{{Line: 2, Path: "seed", Message: "is a string, expected a whole number"}}},
		{name: "bad clock", src: "version: 1\nclock:\n  start: tomorrow\n",
			want: []Problem{{Line: 3, Path: "clock.start", Message: "not an RFC 3339 time"}}},
		{name: "syntax error", src: "version: 1\n  bad: [\n",
			want: []Problem{{Line: 2, Message: "not valid YAML or JSON"}}},
		{name: "a second document is refused, not dropped", src: "version: 1\nname: one\n---\nversion: 1\nname: two\n",
			want: []Problem{{Line: 3, Message: "a second YAML document starts at this `---` line; only one document is accepted",
				Hint: "a scenario is one YAML document; remove the `---` line and what follows it, or merge the two"}}},
		{name: "text after a JSON scenario", src: `{"version": 1, "name": "j"} x`,
			want: []Problem{{Message: "unexpected content after the end of the first document", Hint: "a scenario is one YAML document"}}},
		{name: "json accepted", src: `{"version": 1, "name": "j", "clock": {"frozen": true}}`},
		{name: "json unknown key", src: "{\"version\": 1,\n \"clok\": {}}",
			want: []Problem{}}, // top-level unknown keys are judged by the core (inline map)
		{name: "section unknown nested key", section: true,
			src:  "version: 1\nmine:\n  realm: api\n  pools:\n    - operator: FR\n      totl: 5\n",
			want: []Problem{{Line: 6, Path: "mine.pools[0].totl", Message: `unknown key "totl"`, Hint: `did you mean "totalAmount"?`}}},
		{name: "section type error in list", section: true,
			src:  "version: 1\nmine:\n  pools:\n    - operator: FR\n      totalAmount: lots\n",
			want: []Problem{{Line: 5, Path: "mine.pools[0].totalAmount", Message: "expected a whole number"}}},
		{name: "section validator", section: true,
			src:  "version: 1\nmine:\n  pools:\n    - operator: FR\n      totalAmount: -5\n",
			want: []Problem{{Line: 5, Path: "mine.pools[0].totalAmount", Message: "must not be negative", Hint: "use a positive number of MB"}}},
		{name: "section list given a scalar", section: true,
			src:  "version: 1\nmine:\n  pools: 7\n",
			want: []Problem{{Line: 3, Path: "mine.pools", Message: "expected a list"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, probs := Parse("s.yaml", []byte(tc.src))
			if f != nil && tc.section {
				probs = append(probs, f.DecodeSection("mine", &sectionCfg{})...)
			}
			if len(probs) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(probs), len(tc.want), probs.Error())
			}
			for i, w := range tc.want {
				p := probs[i]
				if p.File != "s.yaml" || p.Line != w.Line || p.Path != w.Path || !strings.Contains(p.Message, w.Message) || (w.Hint != "" && p.Hint != w.Hint) {
					t.Errorf("problem %d = %+v\nwant %+v", i, p, w)
				}
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	t.Parallel()
	p := Problem{File: "a.yaml", Line: 3, Path: "clock.frozn", Message: `unknown key "frozn"`, Hint: `did you mean "frozen"?`}
	want := `a.yaml:3: clock.frozn: unknown key "frozn" (hint: did you mean "frozen"?)`
	if p.String() != want {
		t.Errorf("got %s", p.String())
	}
}

func TestSectionDefaultsSurviveAbsentSection(t *testing.T) {
	t.Parallel()
	f, probs := Parse("s.yaml", []byte("version: 1\n"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	cfg := &sectionCfg{Realm: "default-realm"}
	if probs := f.DecodeSection("mine", cfg); len(probs) > 0 {
		t.Fatal(probs)
	}
	if cfg.Realm != "default-realm" {
		t.Errorf("defaults lost: %q", cfg.Realm)
	}
	f, _ = Parse("s.yaml", []byte("version: 1\nmine:\n  flags:\n    strict: true\n"))
	cfg = &sectionCfg{Realm: "default-realm"}
	f.DecodeSection("mine", cfg)
	if cfg.Realm != "default-realm" || !cfg.Flags.Strict {
		t.Errorf("partial section overrode defaults: %+v", cfg)
	}
}

// FuzzParse feeds arbitrary bytes to the scenario decoder: it must never
// panic, and every problem it reports must carry the file name.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"version: 1\nname: x\nseed: 3\nclock:\n  start: \"2026-01-01T00:00:00Z\"\n  frozen: true\n",
		"version: 1\nmine:\n  pools:\n    - operator: FR\n      totalAmount: 5\n",
		`{"version":1,"mine":{"pools":[{"operator":"x","totalAmount":-1}]}}`,
		"a: &x [1, *x]\n",
		"version: 1\nmine: !!binary aGVsbG8=\n",
		"- 1\n- 2\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, probs := Parse("fuzz.yaml", data)
		for _, p := range probs {
			if p.File != "fuzz.yaml" {
				t.Fatalf("problem without file: %+v", p)
			}
			_ = p.String()
		}
		if file != nil {
			for _, p := range file.DecodeSection("mine", &sectionCfg{}) {
				if p.File != "fuzz.yaml" {
					t.Fatalf("section problem without file: %+v", p)
				}
			}
			_ = file.Line("mine.pools[0].totalAmount")
		}
	})
}

// reconciled records what Reconcile was told, and when (before Validate).
type reconciled struct {
	Table   []string `yaml:"table"`
	Entries []string `yaml:"entries"`
	wrote   map[string]bool
	order   []string
}

func (r *reconciled) Reconcile(written func(string) bool) {
	r.wrote = map[string]bool{}
	for _, k := range []string{"table", "entries", "absent"} {
		r.wrote[k] = written(k)
	}
	r.order = append(r.order, "reconcile")
}

func (r *reconciled) Validate() []Problem {
	r.order = append(r.order, "validate")
	return nil
}

// TestReconcileIsToldWhatTheSectionWrote: DecodeSection tells a Reconciler
// which top-level keys the section wrote, after decoding and before
// validation; an absent section wrote none.
func TestReconcileIsToldWhatTheSectionWrote(t *testing.T) {
	f, probs := Parse("r.yaml", []byte("version: 1\nsec:\n  table: [a]\n"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var r reconciled
	if probs := f.DecodeSection("sec", &r); len(probs) > 0 {
		t.Fatal(probs)
	}
	if !r.wrote["table"] || r.wrote["entries"] || r.wrote["absent"] || strings.Join(r.order, ",") != "reconcile,validate" || len(r.Table) != 1 {
		t.Errorf("wrote %v, calls %v, table %v", r.wrote, r.order, r.Table)
	}
	var none reconciled
	f.DecodeSection("other", &none)
	if none.wrote["table"] || none.wrote["entries"] || strings.Join(none.order, ",") != "reconcile,validate" {
		t.Errorf("absent section: wrote %v, calls %v", none.wrote, none.order)
	}
}
