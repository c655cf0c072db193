package postman_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	ipostman "github.com/provider-sandbox/provider-sandbox/internal/postman"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/postman"
)

func TestCommittedFilesAreCurrent(t *testing.T) {
	col, env, err := postman.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]byte{postman.CollectionFile: col, postman.EnvironmentFile: env} {
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("postman/%s is stale: run `go generate ./postman` and commit the result", file)
		}
	}
}

func committed(t *testing.T) (col *ipostman.Collection, raw []byte) {
	t.Helper()
	raw, err := os.ReadFile(postman.CollectionFile)
	if err != nil {
		t.Fatal(err)
	}
	col = new(ipostman.Collection)
	if err := json.Unmarshal(raw, col); err != nil {
		t.Fatal(err)
	}
	return col, raw
}

// The route answers the committed collection with the URL the request came
// in on as baseUrl, and the environment of the namespace it was asked in.
func TestServedCollectionFollowsTheRequestURL(t *testing.T) {
	h := sandboxtest.New(t, "")
	_, raw := committed(t)
	res := h.Do("GET", "/__sandbox/postman", nil).WantStatus(http.StatusOK)
	if want := bytes.ReplaceAll(raw, []byte(`"`+postman.BaseURL+`"`), []byte(`"`+h.URL+`"`)); !bytes.Equal(res.Body, want) {
		t.Errorf("GET /__sandbox/postman differs from the committed collection with baseUrl %s", h.URL)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}

	var env ipostman.Environment
	h.Do("GET", "/ns/team-a/__sandbox/postman/environment", nil).WantStatus(http.StatusOK).JSON(&env)
	if env.Name != "provider-sandbox "+h.URL+"/ns/team-a" || env.Values[0].Key != "baseUrl" || env.Values[0].Value != h.URL+"/ns/team-a" {
		t.Errorf("namespace environment: name %q, first value %+v", env.Name, env.Values[0])
	}

	req, _ := http.NewRequest("GET", h.URL+"/__sandbox/postman/environment", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	h.Send(req).WantStatus(http.StatusOK).JSON(&env)
	if want := "https://" + strings.TrimPrefix(h.URL, "http://"); env.Values[0].Value != want {
		t.Errorf("behind a TLS proxy: baseUrl = %q, want %q", env.Values[0].Value, want)
	}
}

// The credentials are those of the namespace's scenario, not the default's.
func TestServedCollectionHasTheNamespacesCredentials(t *testing.T) {
	h := sandboxtest.New(t, "")
	patch := map[string]any{"netfinity": map[string]any{"tokens": []any{
		map[string]any{"token": "team-token", "name": "team", "capabilities": []string{"sms.notification"}, "rateLimit": 60},
	}}}
	if st := h.Admin("PATCH", "team-b", "/scenario", patch, nil); st != http.StatusOK {
		t.Fatalf("PATCH /scenario: %d", st)
	}
	var env ipostman.Environment
	h.Do("GET", "/ns/team-b/__sandbox/postman/environment", nil).WantStatus(http.StatusOK).JSON(&env)
	got := map[string]string{}
	for _, v := range env.Values {
		got[v.Key] = v.Value
	}
	if got["netfinityToken"] != "team-token" || got["centiliUsername"] != "merchant@sandbox.test" {
		t.Errorf("environment of team-b: netfinityToken %q, centiliUsername %q", got["netfinityToken"], got["centiliUsername"])
	}
}

var (
	varRef    = regexp.MustCompile(`\{\{(\w+)\}\}`)
	wantsCode = regexp.MustCompile(`pm\.response\.to\.have\.status\((\d+)\);`)
	storesVar = regexp.MustCompile(`pm\.collectionVariables\.set\("(\w+)", pm\.response\.json\(\)\["(\w+)"\]\);`)
)

// TestCollectionRunsGreen sends every request of the committed collection,
// in order, to an in-process sandbox the way newman does (.ci/run runs
// newman itself against the built binary): variables expanded, the token
// each token request's script stores sent by the calls after it, and each
// answer held to the status its test expects and to the provider's spec.
// It runs in a namespace, as the collection is meant to be run.
func TestCollectionRunsGreen(t *testing.T) {
	h := sandboxtest.New(t, "")
	col, _ := committed(t)
	vars := map[string]string{}
	for _, v := range col.Variable {
		vars[v.Key] = v.Value
	}
	vars[ipostman.BaseURLVar] = h.URL + "/ns/newman"
	expand := func(s string) string {
		return varRef.ReplaceAllStringFunc(s, func(ref string) string { return vars[ref[2:len(ref)-2]] })
	}
	ran := 0
	for _, folder := range col.Item {
		for _, it := range folder.Item {
			req := buildRequest(t, it.Request, expand)
			script := strings.Join(it.Event[0].Script.Exec, "\n")
			m := wantsCode.FindStringSubmatch(script)
			if m == nil {
				t.Fatalf("%s / %s: no status test in %q", folder.Name, it.Name, script)
			}
			want, _ := strconv.Atoi(m[1])
			res := h.Send(req)
			if res.Status != want {
				t.Errorf("%s / %s: %s %s answered %d, its test wants %d: %s", folder.Name, it.Name, req.Method, req.URL, res.Status, want, res.Body)
				continue
			}
			for _, m := range storesVar.FindAllStringSubmatch(script, -1) {
				var body map[string]any
				res.JSON(&body)
				token, _ := body[m[2]].(string)
				if token == "" {
					t.Fatalf("%s / %s: no %s in the answer", folder.Name, it.Name, m[2])
				}
				vars[m[1]] = token
			}
			ran++
		}
	}
	if ran < 30 {
		t.Errorf("only %d requests ran", ran)
	}
}

func buildRequest(t *testing.T, r *ipostman.Request, expand func(string) string) *http.Request {
	t.Helper()
	segs := make([]string, 0, len(r.URL.Path))
	for _, seg := range r.URL.Path {
		if name, ok := strings.CutPrefix(seg, ":"); ok {
			for _, v := range r.URL.Variable {
				if v.Key == name {
					seg = url.PathEscape(expand(v.Value))
				}
			}
		}
		segs = append(segs, seg)
	}
	u := expand(strings.Join(r.URL.Host, "")) + "/" + strings.Join(segs, "/")
	q := url.Values{}
	for _, kv := range r.URL.Query {
		if !kv.Disabled {
			q.Add(expand(kv.Key), expand(kv.Value))
		}
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body []byte
	if b := r.Body; b != nil {
		switch b.Mode {
		case "raw":
			body = []byte(expand(b.Raw))
		case "urlencoded":
			form := url.Values{}
			for _, kv := range b.URLEncoded {
				form.Add(kv.Key, expand(kv.Value))
			}
			body = []byte(form.Encode())
		default:
			t.Fatalf("body mode %q", b.Mode)
		}
	}
	req, err := http.NewRequest(r.Method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range r.Header {
		if !kv.Disabled {
			req.Header.Set(kv.Key, expand(kv.Value))
		}
	}
	if a := r.Auth; a != nil {
		attr := func(list []ipostman.AuthAttr, key string) string {
			for _, x := range list {
				if x.Key == key {
					return expand(x.Value)
				}
			}
			return ""
		}
		switch a.Type {
		case "bearer":
			req.Header.Set("Authorization", "Bearer "+attr(a.Bearer, "token"))
		case "basic":
			req.SetBasicAuth(attr(a.Basic, "username"), attr(a.Basic, "password"))
		default:
			t.Fatalf("auth type %q", a.Type)
		}
	}
	return req
}
