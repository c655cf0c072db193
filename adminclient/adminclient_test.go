package adminclient_test

import (
	"net/http"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
)

// New puts the admin API under the sandbox's or the namespace's root,
// whichever form of it the caller has.
func TestNewFindsTheAdminAPI(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":                    "http://127.0.0.1:8080/__sandbox/",
		"http://127.0.0.1:8080/":                   "http://127.0.0.1:8080/__sandbox/",
		"http://127.0.0.1:8080/ns/ci-42":           "http://127.0.0.1:8080/ns/ci-42/__sandbox/",
		"http://127.0.0.1:8080/ns/ci-42/":          "http://127.0.0.1:8080/ns/ci-42/__sandbox/",
		"http://127.0.0.1:8080/ns/ci-42/__sandbox": "http://127.0.0.1:8080/ns/ci-42/__sandbox/",
		"https://sandbox.example/proxy/":           "https://sandbox.example/proxy/__sandbox/",
	} {
		c, err := adminclient.New(in)
		if err != nil {
			t.Errorf("New(%q): %v", in, err)
			continue
		}
		if got := c.ClientInterface.(*adminclient.Client).Server; got != want {
			t.Errorf("New(%q) talks to %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"127.0.0.1:8080":          `adminclient: base URL "127.0.0.1:8080" is not an http(s) URL such as http://127.0.0.1:8080`,
		"ftp://127.0.0.1":         `adminclient: base URL "ftp://127.0.0.1" is not an http(s) URL such as http://127.0.0.1:8080`,
		"http://127.0.0.1/?ns=a":  `adminclient: base URL "http://127.0.0.1/?ns=a" has a query or fragment; give the sandbox's or namespace's root`,
		"http://127.0.0.1/#about": `adminclient: base URL "http://127.0.0.1/#about" has a query or fragment; give the sandbox's or namespace's root`,
	} {
		if _, err := adminclient.New(in); err == nil || err.Error() != want {
			t.Errorf("New(%q) = %v, want %s", in, err, want)
		}
	}
}

func TestProblemOf(t *testing.T) {
	t.Parallel()
	answer := func(ct string) *http.Response { return &http.Response{Header: http.Header{"Content-Type": {ct}}} }
	body := []byte(`{"type":"about:blank","title":"Invalid scenario","status":400,"detail":"the scenario has 2 problem(s); nothing was changed",
		"problems":[{"file":"a.yaml","line":3,"path":"centili.pools[0].totalAmount","message":"must be positive","hint":"MB, e.g. 1000"},{"message":"no name"}]}`)
	p := adminclient.ProblemOf(answer("application/problem+json"), body)
	if p == nil {
		t.Fatal("no problem read")
	}
	const want = "400 Invalid scenario: the scenario has 2 problem(s); nothing was changed\n" +
		"  a.yaml:3: centili.pools[0].totalAmount: must be positive (MB, e.g. 1000)\n" +
		"  no name"
	if p.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", p.Error(), want)
	}
	for _, tc := range []struct {
		resp *http.Response
		body string
	}{
		{nil, string(body)},
		{answer("application/json"), string(body)},
		{answer("application/problem+json"), `{"title":"no status"}`},
		{answer("application/problem+json"), `not json`},
	} {
		if p := adminclient.ProblemOf(tc.resp, []byte(tc.body)); p != nil {
			t.Errorf("ProblemOf(%v, %s) = %v, want nil", tc.resp, tc.body, p)
		}
	}
}
