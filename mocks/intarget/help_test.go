package intarget_test

import (
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// verifyHelp is exactly what `sandbox intarget verify --help` prints.
const verifyHelp = `
usage: sandbox intarget verify --base-url URL [flags]

Pulls an operator's product API the way InTarget does and checks it against
InTarget's "Requirements for product API". Exit status: 0 conformant,
1 not conformant, 2 usage or connection error.

Examples:
  sandbox intarget verify --base-url https://api.operator.example --auth basic:USER:PASS
  sandbox intarget verify --base-url http://127.0.0.1:8080/intarget \
      --auth basic:intarget:sandbox-password

Flags:
  -auth string
    	HTTP Basic credentials as basic:USER:PASS
  -base-url string
    	operator API root, e.g. https://api.example.com (paths are appended)
  -format string
    	csv or json (sent as Accept) (default "csv")
  -from string
    	range start, RFC 3339 or YYYY-MM-DD HH:MM:SS UTC (default: to minus 6 windows)
  -header string
    	a header carrying the credentials instead, "Name: value"
  -junit string
    	write JUnit XML to FILE
  -lookback duration
    	how far before --from and after --to (at most to now+24h) referenced rows are searched (negative: not at all) (default 336h0m0s)
  -max-bytes int
    	cap on one response body (default 268435456)
  -no-progress
    	no progress output
  -now string
    	the API's current time (default: this machine's clock); windows after it must be empty
  -paths string
    	entity=path,... (only these entities are verified); entities: users, contacts, wallets, transactions, logins, game-sessions, sport-tournaments, sport-events, bets, bet-selections
  -report-json string
    	write the JSON report to FILE
  -settle duration
    	pull the last window again after this long to catch late rows (0: skip)
  -timeout duration
    	per-request timeout (default 30s)
  -to string
    	range end (default: now, truncated to the window)
  -window duration
    	size of each pull (default 1h0m0s)
`

// TestVerifyHelp: --help and -h print the usage with every flag to stdout
// and exit 0, through the command the CLI dispatches to; a bad flag prints
// the error and the same usage to stderr and exits 2.
func TestVerifyHelp(t *testing.T) {
	t.Parallel()
	p, ok := sandbox.Lookup("intarget")
	if !ok {
		t.Fatal("intarget is not registered")
	}
	cmd, ok := p.Commands["verify"]
	if !ok || cmd.Summary != "check an operator's product API against InTarget's requirements" {
		t.Fatalf("verify command: %v %q", ok, cmd.Summary)
	}
	want := strings.TrimPrefix(verifyHelp, "\n")
	for _, arg := range []string{"--help", "-h", "-help"} {
		var out, errb strings.Builder
		if code := cmd.Run([]string{arg}, &out, &errb); code != 0 || out.String() != want || errb.Len() != 0 {
			t.Errorf("%s: exit %d, stderr %q, stdout:\n%s", arg, code, errb.String(), out.String())
		}
	}
	var out, errb strings.Builder
	if code := cmd.Run([]string{"--nope"}, &out, &errb); code != 2 || out.Len() != 0 ||
		errb.String() != "flag provided but not defined: -nope\n\n"+want {
		t.Errorf("--nope: exit %d, stdout %q, stderr:\n%s", code, out.String(), errb.String())
	}
}
