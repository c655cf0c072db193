package verify

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
)

const usage = `usage: sandbox intarget verify --base-url URL [flags]

Pulls an operator's product API the way InTarget does and checks it against
InTarget's "Requirements for product API". Exit status: 0 conformant,
1 not conformant, 2 usage or connection error.

Examples:
  sandbox intarget verify --base-url https://api.operator.example --auth basic:USER:PASS
  sandbox intarget verify --base-url http://127.0.0.1:8080/intarget \
      --auth basic:intarget:sandbox-password

Flags:
`

// Main is `sandbox intarget verify`. --help (or -h) prints the usage to
// stdout and exits 0; a bad flag prints the error and the usage to stderr
// and exits 2.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("intarget verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below, to stdout or stderr
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	var o Options
	var auth, from, to, now, paths, reportJSON, junit string
	var noProgress bool
	fs.StringVar(&o.BaseURL, "base-url", "", "operator API root, e.g. https://api.example.com (paths are appended)")
	fs.StringVar(&auth, "auth", "", "HTTP Basic credentials as basic:USER:PASS")
	fs.StringVar(&o.AuthHeader, "header", "", `a header carrying the credentials instead, "Name: value"`)
	fs.StringVar(&from, "from", "", "range start, RFC 3339 or YYYY-MM-DD HH:MM:SS UTC (default: to minus 6 windows)")
	fs.StringVar(&to, "to", "", "range end (default: now, truncated to the window)")
	fs.DurationVar(&o.Window, "window", DefaultWindow, "size of each pull")
	fs.StringVar(&now, "now", "", "the API's current time (default: this machine's clock); windows after it must be empty")
	fs.StringVar(&paths, "paths", "", "entity=path,... (only these entities are verified); entities: "+strings.Join(EntityNames(), ", "))
	fs.StringVar(&o.Format, "format", "csv", "csv or json (sent as Accept)")
	fs.StringVar(&reportJSON, "report-json", "", "write the JSON report to FILE")
	fs.StringVar(&junit, "junit", "", "write JUnit XML to FILE")
	fs.DurationVar(&o.Timeout, "timeout", DefaultTimeout, "per-request timeout")
	fs.Int64Var(&o.MaxBytes, "max-bytes", DefaultMaxBytes, "cap on one response body")
	fs.DurationVar(&o.Lookback, "lookback", DefaultLookback, "how far before --from and after --to (at most to now+24h) referenced rows are searched (negative: not at all)")
	fs.DurationVar(&o.Settle, "settle", 0, "pull the last window again after this long to catch late rows (0: skip)")
	fs.BoolVar(&noProgress, "no-progress", false, "no progress output")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return 0
		}
		fmt.Fprintln(stderr)
		printUsage(stderr)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if auth != "" {
		rest, ok := strings.CutPrefix(auth, "basic:")
		if !ok {
			fmt.Fprintln(stderr, "--auth must be basic:USER:PASS (use --header for a token)")
			return 2
		}
		o.AuthBasic = rest
	}
	if err := o.SetTimes(from, to, now); err != nil {
		fmt.Fprintln(stderr, "--"+err.Error())
		return 2
	}
	if paths != "" {
		o.Paths = map[string]string{}
		for _, kv := range strings.Split(paths, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || k == "" || !strings.HasPrefix(v, "/") {
				fmt.Fprintf(stderr, "--paths entry %q must be entity=/path\n", kv)
				return 2
			}
			o.Paths[k] = v
		}
	}
	if !noProgress {
		o.Progress = progress(stderr)
	}
	rep, err := Run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if o.Progress != nil {
		fmt.Fprintln(stderr)
	}
	rep.WriteText(stdout)
	if reportJSON != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(reportJSON, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	if junit != "" {
		f, err := os.Create(junit)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		werr := rep.WriteJUnit(f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			fmt.Fprintln(stderr, werr)
			return 2
		}
	}
	if !rep.Conformant {
		return 1
	}
	return 0
}

// SetTimes parses the from, to and now options (RFC 3339 or
// YYYY-MM-DD HH:MM:SS in UTC); empty strings leave the defaults.
func (o *Options) SetTimes(from, to, now string) error {
	for _, tv := range []struct {
		s, name string
		dst     *time.Time
	}{{from, "from", &o.From}, {to, "to", &o.To}, {now, "now", &o.Now}} {
		if tv.s == "" {
			continue
		}
		t, ok := contract.ParseWindowTime(tv.s)
		if !ok {
			return fmt.Errorf("%s %q is neither RFC 3339 nor YYYY-MM-DD HH:MM:SS", tv.name, tv.s)
		}
		*tv.dst = t
	}
	return nil
}

// progress draws a bar on a terminal and plain lines (every 10%) otherwise.
func progress(w io.Writer) func(done, total int, what string) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	lastDecile := -1
	return func(done, total int, what string) {
		if tty {
			const width = 30
			n := done * width / total
			fmt.Fprintf(w, "\r[%s%s] %4d/%-4d %-40.40s", strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total, what)
			return
		}
		if d := done * 10 / total; d != lastDecile {
			lastDecile = d
			fmt.Fprintf(w, "verify: %d/%d requests (%s)\n", done, total, what)
		}
	}
}
