package main

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// Every subcommand answers --help on stdout with exit 0 and nothing on stderr.
func TestSubcommandHelp(t *testing.T) {
	t.Parallel()
	scenarioHelp := `usage: sandbox scenario COMMAND

Commands:
  validate FILE...  check scenario files offline: every problem as
                    file:line: field.path: message (hint: ...); exit 1 if any is invalid
`
	healthHelp := `usage: sandbox health [--url URL] [--timeout DURATION]

Probes a running sandbox's GET /__sandbox/health; prints "healthy" and exits 0
on a 200, otherwise prints why and exits 1 (2: usage error). The Docker
image's HEALTHCHECK runs it. URL may be the base URL (http://127.0.0.1:8080),
a namespace's (http://127.0.0.1:8080/ns/ci-42) or the health endpoint itself.
When SANDBOX_ADMIN_TOKEN is set it is sent as the bearer token.

Flags:
  -timeout duration
    	give up after this long (default 3s)
  -url string
    	sandbox base URL, or its /__sandbox/health URL (default from env SANDBOX_ADDR) (default "http://127.0.0.1:8080")
`
	validateHelp := `usage: sandbox scenario validate FILE...

Checks each scenario file (YAML or JSON) the way the sandbox does at start-up
and prints every problem as file:line: field.path: message (hint: ...).
Prints "FILE: ok" for a valid file. Exit status: 0 all valid, 1 a file is
invalid or unreadable, 2 usage error. No flags.
`
	intargetHelp := `usage: sandbox intarget COMMAND [flags]

Commands:
  verify  check an operator's product API against InTarget's requirements

Run "sandbox intarget COMMAND --help" for a command's flags.
`
	caHelp := `usage: sandbox ca [--data-dir DIR]

Prints the certificate of the local CA that signs the sandbox's HTTPS
certificates (--https-addr without --tls-cert), in PEM, on stdout; on stderr
where it is kept and how to make clients trust it. Makes the CA when there is
none yet, so it can be trusted before the sandbox first starts. Exit status:
0 printed, 1 the CA cannot be read or made, 2 usage error.

Flags:
  -data-dir DIR
    	DIR the sandbox keeps files in: the local CA in DIR/ca (env SANDBOX_DATA_DIR; default: the user's config directory, ~/.config/provider-sandbox on Linux)
`
	versionHelp := `usage: sandbox version

Prints the version the binary was built with (also: sandbox --version).
`
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"scenario", "--help"}, scenarioHelp},
		{[]string{"scenario", "-h"}, scenarioHelp},
		{[]string{"help", "scenario"}, scenarioHelp},
		{[]string{"scenario", "validate", "--help"}, validateHelp},
		{[]string{"help", "scenario", "validate"}, validateHelp},
		{[]string{"health", "--help"}, healthHelp},
		{[]string{"health", "-h"}, healthHelp},
		{[]string{"help", "health"}, healthHelp},
		{[]string{"intarget", "--help"}, intargetHelp},
		{[]string{"intarget", "help"}, intargetHelp},
		{[]string{"help", "intarget"}, intargetHelp},
		{[]string{"ca", "--help"}, caHelp},
		{[]string{"help", "ca"}, caHelp},
		{[]string{"version", "--help"}, versionHelp},
		{[]string{"--version"}, "dev\n"},
		{[]string{"-version"}, "dev\n"},
		{[]string{"version"}, "dev\n"},
		{[]string{"serve", "--version"}, "dev\n"},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != 0 || out.String() != tc.want || errb.Len() != 0 {
			t.Errorf("sandbox %s: exit %d, stderr %q, stdout:\n%s\nwant:\n%s", strings.Join(tc.args, " "), code, errb.String(), out.String(), tc.want)
		}
	}
	// The InTarget verifier's own --help belongs to it; it must exit 0.
	if code := run([]string{"intarget", "verify", "--help"}, io.Discard, io.Discard); code != 0 {
		t.Errorf("sandbox intarget verify --help: exit %d", code)
	}
}

// The top-level help is the same however it is asked for, and lists every
// command in one aligned table.
func TestTopLevelHelp(t *testing.T) {
	t.Parallel()
	commands := `Usage:
  sandbox [flags]                    run the sandbox (same as "sandbox serve [flags]")
  sandbox scenario validate FILE...  check scenario files offline
  sandbox health [--url URL]         probe a running sandbox (for container health checks)
  sandbox ca [--data-dir DIR]        print the local CA certificate --https-addr uses, and how to trust it
  sandbox snapshot save|load ...     save a namespace of a running sandbox to a file, or restore one
  sandbox version                    print the version (same as sandbox --version)
  sandbox intarget verify ...        check an operator's product API against InTarget's requirements
  sandbox help [COMMAND]             this help, or a command's (same as "sandbox COMMAND --help")

Every command takes --help.

Flags of sandbox / sandbox serve:
  -access-log
    	log one line per request at level info (--access-log=false turns it off) (default true)
`
	var first string
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"serve", "--help"}, {"help", "serve"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 || errb.Len() != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errb.String())
		}
		if !strings.Contains(out.String(), commands) {
			t.Errorf("%v: help lacks the command table:\n%s", args, out.String())
		}
		if n := strings.Count(out.String(), "Usage:"); n != 1 {
			t.Errorf("%v: the usage is printed %d times", args, n)
		}
		if first == "" {
			first = out.String()
		} else if out.String() != first {
			t.Errorf("%v: help differs from --help", args)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"intarget"}, 2, "usage: sandbox intarget COMMAND [flags]\n\nCommands:\n  verify  check"},
		{[]string{"intarget", "frob"}, 2, "sandbox: intarget has no command \"frob\"\n\nusage: sandbox intarget COMMAND"},
		{[]string{"scenario"}, 2, "usage: sandbox scenario COMMAND\n"},
		{[]string{"scenario", "check"}, 2, "sandbox scenario: unknown command \"check\"\nusage: sandbox scenario COMMAND\n"},
		{[]string{"scenario", "validate"}, 2, "usage: sandbox scenario validate FILE...\n"},
		{[]string{"health", "extra"}, 2, "sandbox health: unexpected argument \"extra\"\n"},
		{[]string{"health", "--url", "ftp://x"}, 2, "sandbox health: --url \"ftp://x\" is not an http(s) URL such as http://127.0.0.1:8080\n"},
		{[]string{"health", "--bogus"}, 2, "flag provided but not defined: -bogus\nrun \"sandbox health --help\" for its flags\n"},
		{[]string{"--bogus"}, 2, "flag provided but not defined: -bogus\nrun \"sandbox --help\" for every command and flag\n"},
		{[]string{"version", "x"}, 2, "sandbox version: unexpected argument \"x\"\nusage: sandbox version\n"},
		{[]string{"netrefer"}, 2, "sandbox: unknown command \"netrefer\"\n"},
		{[]string{"netrefer", "--help"}, 2, "sandbox: unknown command \"netrefer\"\n"},
		{[]string{"health", "--url", ""}, 2, "sandbox health: --url \"\" is not an http(s) URL such as http://127.0.0.1:8080\n"},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.HasPrefix(errb.String(), tc.stderr) || out.Len() != 0 {
			t.Errorf("sandbox %s: exit %d (want %d), stdout %q, stderr:\n%s\nwant it to start with:\n%s", strings.Join(tc.args, " "), code, tc.code, out.String(), errb.String(), tc.stderr)
		}
	}
}

func TestHealthURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":                   "http://127.0.0.1:8080/__sandbox/health",
		"http://127.0.0.1:8080/":                  "http://127.0.0.1:8080/__sandbox/health",
		"127.0.0.1:8080":                          "http://127.0.0.1:8080/__sandbox/health",
		"http://127.0.0.1:8080/ns/ci-42":          "http://127.0.0.1:8080/ns/ci-42/__sandbox/health",
		"http://127.0.0.1:8080/ns/ci-42/":         "http://127.0.0.1:8080/ns/ci-42/__sandbox/health",
		"http://127.0.0.1:8080/__sandbox":         "http://127.0.0.1:8080/__sandbox/health",
		"http://127.0.0.1:8080/__sandbox/health":  "http://127.0.0.1:8080/__sandbox/health",
		"http://127.0.0.1:8080/__sandbox/health/": "http://127.0.0.1:8080/__sandbox/health",
		"https://sandbox.example/proxy":           "https://sandbox.example/proxy/__sandbox/health",
	} {
		if got, err := healthURL(in); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// sandbox health takes the base URL, a namespace's, or the health URL.
func TestHealthAcceptsBaseURL(t *testing.T) {
	t.Parallel()
	p := start(t)
	host := strings.TrimPrefix(p.base, "http://")
	for _, u := range []string{p.base, p.base + "/", host, p.base + "/ns/ci-9", p.base + "/__sandbox", p.base + "/__sandbox/health"} {
		if code, out, errOut := runBin(t, nil, "health", "--url", u); code != 0 || out != "healthy\n" {
			t.Errorf("health --url %s: exit %d, %q %q", u, code, out, errOut)
		}
	}
	// SANDBOX_ADDR is the default target, as for the server.
	if code, out, _ := runBin(t, []string{"SANDBOX_ADDR=" + host}, "health"); code != 0 || out != "healthy\n" {
		t.Errorf("health with SANDBOX_ADDR: exit %d %q", code, out)
	}
	if code, _, errOut := runBin(t, nil, "health", "--url", p.base+"/nowhere/__sandbox/health"); code != 1 ||
		errOut != "unhealthy: "+p.base+"/nowhere/__sandbox/health answered status 404\n" {
		t.Errorf("health of a wrong path: exit %d %q", code, errOut)
	}
	p.stop(t)
}

// defaultScenario is the embedded default scenario, loaded.
func defaultScenario(t *testing.T) *sandbox.Scenario {
	t.Helper()
	sc, probs := sandbox.LoadScenario("default", scenarios.Default())
	if len(probs) > 0 {
		t.Fatal(probs.Error())
	}
	return sc
}

// The banner lists the entry points and every provider's credentials with
// all values in one column.
func TestBannerAligned(t *testing.T) {
	t.Parallel()
	sc := defaultScenario(t)
	var b bytes.Buffer
	printBanner(&b, "http://127.0.0.1:8080", "", sc, false)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	head := `provider-sandbox dev listening on http://127.0.0.1:8080 (scenario "default")
  home         http://127.0.0.1:8080/  (the dashboard: credentials, live journal, state, controls)
  centili      http://127.0.0.1:8080/centili
  intarget     http://127.0.0.1:8080/intarget
  netfinity    http://127.0.0.1:8080/netfinity
  netrefer     http://127.0.0.1:8080/netrefer
  admin        http://127.0.0.1:8080/__sandbox  (health: http://127.0.0.1:8080/__sandbox/health)
  namespaces   http://127.0.0.1:8080/ns/{name}/...  (isolated copies, created on first use)
Centili Data Gifting demo credentials:
  token URL    http://127.0.0.1:8080/centili/realms/api/protocol/openid-connect/token (also http://127.0.0.1:8080/centili/auth/realms/api/...)
  datagifting  http://127.0.0.1:8080/centili/datagifting/v1/...
`
	if !strings.HasPrefix(b.String(), head) {
		t.Errorf("banner starts\n%s\nwant\n%s", b.String(), head)
	}
	col := len("  datagifting  ")
	titles := 0
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "  ") {
			titles++
			if !strings.HasSuffix(l, " demo credentials:") {
				t.Errorf("line is neither a row nor a section title: %q", l)
			}
			continue
		}
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("value not in column %d: %q", col, l)
		}
	}
	if titles != 4 {
		t.Errorf("%d credential sections, want 4:\n%s", titles, b.String())
	}
}

// GET / on the real binary leads a browser to the dashboard, whose home view
// names every mount and every credential the banner prints; as JSON, GET /
// has the same content.
func TestLandingListsEveryProvider(t *testing.T) {
	t.Parallel()
	p := start(t)
	defer p.stop(t)
	sc, _ := sandbox.LoadScenario("default", scenarios.Default())
	resp, err := http.Get(p.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Request.URL.Path != "/__sandbox/ui/" {
		t.Fatalf("GET /: %d %q at %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Request.URL)
	}
	text := html.UnescapeString(string(page)) // html/template writes "+" as &#43;
	n := 0
	for _, prov := range sandbox.Providers() {
		base := p.base + "/" + prov.Name
		if !bytes.Contains(page, []byte(`<code>`+base+`</code> <button type="button" class="copy" data-copy="`+base+`"`)) {
			t.Errorf("page lacks the %s mount", prov.Name)
		}
		for _, l := range sandbox.SplitBanner(prov.Banner(sc.Configs[prov.Name], base)) {
			n++
			if !strings.Contains(text, `<th scope="row">`+l.Label+`</th><td><code>`+l.Value+`</code></td>`) {
				t.Errorf("page lacks %s credential %q %q", prov.Name, l.Label, l.Value)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d credential lines checked", n)
	}
	req, _ := http.NewRequest("GET", p.base+"/", nil)
	req.Header.Set("Accept", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var lp sandbox.LandingPage
	err = json.NewDecoder(resp.Body).Decode(&lp)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || len(lp.Mounts) != 4 {
		t.Fatalf("JSON landing: %d %q %v %+v", resp.StatusCode, resp.Header.Get("Content-Type"), err, lp)
	}
	for _, m := range lp.Mounts {
		if m.BaseURL != p.base+"/"+m.Name || len(m.Credentials) == 0 {
			t.Errorf("JSON mount %+v", m)
		}
	}
	// Every document the page points to is in the repository.
	for _, d := range lp.Docs {
		if _, err := os.Stat(filepath.Join("..", "..", d)); err != nil {
			t.Errorf("the landing page names %s: %v", d, err)
		}
	}
}
