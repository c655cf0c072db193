package scenarios_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
)

// TestEveryShippedScenario loads each file of the library (one sub-test per
// file, in the manner of Caddy's golden-file loop), checks its header
// comment, answers a health check, and drives at least one request through
// every fault rule it contains, proving that the rule fires.
func TestEveryShippedScenario(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte("#")) {
				t.Errorf("%s has no header comment saying what it demonstrates", file)
			}
			sc, probs := sandbox.LoadScenario(file, data)
			if len(probs) > 0 {
				t.Fatalf("invalid:\n%s", probs.Error())
			}
			h := sandboxtest.NewFromFile(t, file)
			if st := h.Admin("GET", "", "/health", nil, nil); st != 200 {
				t.Fatalf("health = %d", st)
			}
			for i, rule := range sc.Faults {
				rule := rule
				if rule.ID == "" {
					t.Errorf("faults[%d] has no id; shipped rules are named so the journal and docs can refer to them", i)
					continue
				}
				t.Run(rule.ID, func(t *testing.T) {
					driveRule(t, h.With(t), fmt.Sprintf("drive-%d", i), rule.ID, rule)
				})
			}
		})
	}
}

// driveRule sends requests built from a rule's match until it fires, in a
// fresh namespace, and checks the namespace's counters and journal.
func driveRule(t *testing.T, h *sandboxtest.Harness, ns, id string, rule faults.Rule) {
	m := rule.Match
	if m.Provider == "" {
		t.Fatalf("shipped rules name their provider so that they can be driven; %s does not", id)
	}
	if m.Namespace != "" {
		ns = example(t, m.Namespace, "namespace")
	}
	method, path, ok := pickOperation(m)
	if !ok {
		t.Fatalf("no operation of %s matches rule %s", m.Provider, id)
	}
	path = regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "api")
	if rule.From != "" {
		h.Admin("POST", ns, "/clock", map[string]string{"set": rule.From}, nil)
	}
	if rule.StartIn != "" {
		h.Admin("POST", ns, "/clock", map[string]string{"advance": rule.StartIn}, nil)
	}
	query := ""
	for k, re := range m.Query {
		query += "&" + k + "=" + example(t, re, "query "+k)
	}
	var body []byte
	if len(m.Body) > 0 {
		obj := map[string]any{}
		for k, re := range m.Body {
			setPath(obj, strings.Split(k, "."), example(t, re, "body "+k))
		}
		body, _ = json.Marshal(obj)
	}
	url := h.URL + "/ns/" + ns + "/" + m.Provider + path
	if query != "" {
		url += "?" + query[1:]
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if rule.Hang {
		client.Timeout = 200 * time.Millisecond
	}
	tries := 1 + rule.After
	if m.Nth > 0 {
		tries = m.Nth
	}
	if m.Probability != nil && *m.Probability < 1 {
		tries = 200
	}
	fired := func() int {
		var views []faults.View
		h.Admin("GET", ns, "/faults", nil, &views)
		for _, v := range views {
			if v.ID == id {
				return v.Fired
			}
		}
		t.Fatalf("rule %s not loaded in namespace %s", id, ns)
		return 0
	}
	for i := 0; i < tries && fired() == 0; i++ {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		for k, re := range m.Headers {
			req.Header.Set(k, example(t, re, "header "+k))
		}
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	if fired() == 0 {
		t.Fatalf("rule %s never fired after %d requests to %s %s", id, tries, method, url)
	}
	// The journal names the rule (the entry may land just after a dropped
	// connection, so allow it a moment).
	deadline := time.Now().Add(3 * time.Second)
	for {
		var es []journal.Entry
		h.Admin("GET", ns, "/requests", nil, &es)
		for _, e := range es {
			for _, f := range e.Faults {
				if f == id {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no journal entry names rule %s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pickOperation finds the operation a rule targets: the named one, or the
// first whose method and path match the rule.
func pickOperation(m faults.Match) (method, path string, ok bool) {
	if m.Operation != "" {
		return sandbox.OperationRoute(m.Provider, m.Operation)
	}
	var pathRE *regexp.Regexp
	if m.Path != "" {
		pathRE = regexp.MustCompile(m.Path)
	}
	for _, op := range sandbox.OperationIDs(m.Provider) {
		method, path, _ := sandbox.OperationRoute(m.Provider, op)
		if (m.Method == "" || strings.EqualFold(m.Method, method)) && (pathRE == nil || pathRE.MatchString(path)) {
			return method, path, true
		}
	}
	return "", "", false
}

// example returns a string matching a simple regex: its literal prefix (so
// shipped rules should use anchored literals such as ^3361 or ^fail$).
func example(t *testing.T, expr, what string) string {
	re := regexp.MustCompile(expr)
	prefix, _ := re.LiteralPrefix()
	for _, cand := range []string{prefix, prefix + "0", strings.Trim(expr, "^$")} {
		if re.MatchString(cand) {
			return cand
		}
	}
	t.Fatalf("%s: cannot build an example for regex %q; use an anchored literal", what, expr)
	return ""
}

func setPath(obj map[string]any, path []string, v string) {
	for _, k := range path[:len(path)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[k] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = v
}
