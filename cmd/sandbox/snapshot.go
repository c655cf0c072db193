package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

const snapshotUsage = `usage: sandbox snapshot COMMAND [flags]

Commands:
  save  write a namespace of a running sandbox to a snapshot file
  load  restore a snapshot file into a namespace of a running sandbox

Run "sandbox snapshot COMMAND --help" for a command's flags.
`

const snapshotSaveUsage = `usage: sandbox snapshot save [--url URL] [--namespace NS] [--journal] [-o FILE]

Saves the namespace's whole world (GET /__sandbox/snapshot: scenario, clock,
fault rules, provider state, callbacks; the journal with --journal) to FILE,
or to standard output without -o. A scenario file's "snapshot: FILE" or
"sandbox snapshot load" starts a namespace from it. When SANDBOX_ADMIN_TOKEN
is set it is sent as the bearer token. Exit status: 0 saved, 1 the sandbox
refused or could not be reached, 2 usage error.

Flags:
`

const snapshotLoadUsage = `usage: sandbox snapshot load [--url URL] [--namespace NS] FILE

Restores a snapshot file into the namespace (PUT /__sandbox/snapshot): its
world is replaced at once, as a reset replaces it, and every later reset
returns to the snapshot. "-" reads standard input. Prints what was
restored. Exit status: 0 restored, 1 the snapshot was refused (every
problem is printed) or the sandbox could not be reached, 2 usage error.

Flags:
`

// snapshotCmd serves "sandbox snapshot save|load".
func snapshotCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, snapshotUsage)
		return 0
	}
	if len(args) == 0 || (args[0] != "save" && args[0] != "load") {
		if len(args) > 0 {
			fmt.Fprintf(stderr, "sandbox snapshot: unknown command %q\n", args[0])
		}
		fmt.Fprint(stderr, snapshotUsage)
		return 2
	}
	save := args[0] == "save"
	fs := flag.NewFlagSet("snapshot "+args[0], flag.ContinueOnError)
	base := fs.String("url", "http://"+displayAddr(envOr("SANDBOX_ADDR", "127.0.0.1:8080")), "sandbox base URL (default from env SANDBOX_ADDR)")
	ns := fs.String("namespace", "", "namespace (default: the default namespace)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	withJournal, out := new(bool), new(string)
	usage := snapshotLoadUsage
	if save {
		usage = snapshotSaveUsage
		fs.BoolVar(withJournal, "journal", false, "include the journal's entries")
		fs.StringVar(out, "o", "", "write the snapshot to `FILE` instead of standard output")
	}
	// load takes one argument, which parseCommand refuses: parse here.
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "run \"sandbox %s --help\" for its flags\n", fs.Name())
		return 2
	}
	want := 0
	if !save {
		want = 1
	}
	if fs.NArg() != want {
		if want == 0 {
			fmt.Fprintf(stderr, "sandbox %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		} else {
			fmt.Fprintf(stderr, "sandbox %s: give the snapshot FILE to load (or - for standard input)\n", fs.Name())
		}
		return 2
	}
	root, err := namespaceURL(*base, *ns)
	if err != nil {
		fmt.Fprintf(stderr, "sandbox %s: %v\n", fs.Name(), err)
		return 2
	}
	client, err := adminclient.New(root, adminclient.WithHTTPClient(&http.Client{Timeout: *timeout}), adminclient.WithAdminToken(os.Getenv(adminTokenEnv)))
	if err != nil {
		fmt.Fprintf(stderr, "sandbox %s: %v\n", fs.Name(), err)
		return 2
	}
	ctx := context.Background()
	if save {
		return snapshotSave(ctx, client, *withJournal, *out, stdout, stderr)
	}
	return snapshotLoad(ctx, client, fs.Arg(0), stdout, stderr)
}

// namespaceURL is the base URL of a namespace of the sandbox at raw.
func namespaceURL(raw, ns string) (string, error) {
	u, err := parseBaseURL(raw)
	if err != nil {
		return "", err
	}
	if ns == "" {
		return strings.TrimRight(u.String(), "/"), nil
	}
	if !sandbox.ValidNamespaceName(ns) {
		return "", fmt.Errorf("--namespace %q must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}", ns)
	}
	return strings.TrimRight(u.String(), "/") + "/ns/" + ns, nil
}

func snapshotSave(ctx context.Context, c *adminclient.ClientWithResponses, withJournal bool, out string, stdout, stderr io.Writer) int {
	var params *adminclient.GetSnapshotParams
	if withJournal {
		params = &adminclient.GetSnapshotParams{Journal: &withJournal}
	}
	res, err := c.GetSnapshotWithResponse(ctx, params)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox snapshot save:", err)
		return 1
	}
	if res.StatusCode() != http.StatusOK {
		printProblem(stderr, "sandbox snapshot save", res.HTTPResponse, res.Body)
		return 1
	}
	if out == "" {
		_, _ = stdout.Write(res.Body)
		return 0
	}
	if err := os.WriteFile(out, res.Body, 0o600); err != nil {
		fmt.Fprintln(stderr, "sandbox snapshot save:", err)
		return 1
	}
	fmt.Fprintf(stdout, "saved namespace %s to %s (%d bytes)\n", res.JSON200.Namespace, out, len(res.Body))
	return 0
}

func snapshotLoad(ctx context.Context, c *adminclient.ClientWithResponses, file string, stdout, stderr io.Writer) int {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sandbox snapshot load:", err)
		return 1
	}
	res, err := c.PutSnapshotWithBodyWithResponse(ctx, "application/json", bytes.NewReader(data))
	if err != nil {
		fmt.Fprintln(stderr, "sandbox snapshot load:", err)
		return 1
	}
	if res.StatusCode() != http.StatusOK || res.JSON200 == nil {
		printProblem(stderr, "sandbox snapshot load", res.HTTPResponse, res.Body)
		return 1
	}
	r := res.JSON200
	fmt.Fprintf(stdout, "restored namespace %s from a snapshot of %s taken at %s (scenario %q); sandbox time %s\n",
		r.Restored, r.From, r.CreatedAt.Format(time.RFC3339), r.Scenario, r.Now.Format(time.RFC3339))
	return 0
}

// printProblem prints an admin API refusal: its detail and every problem.
func printProblem(w io.Writer, cmd string, resp *http.Response, body []byte) {
	p := adminclient.ProblemOf(resp, body)
	if p == nil {
		fmt.Fprintf(w, "%s: the sandbox answered %d: %s\n", cmd, resp.StatusCode, strings.TrimSpace(string(body)))
		return
	}
	detail := p.Title
	if p.Detail != nil {
		detail = *p.Detail
	}
	fmt.Fprintf(w, "%s: %d %s: %s\n", cmd, p.Status, p.Title, detail)
	if p.Problems != nil {
		for _, it := range *p.Problems {
			loc := ""
			if it.File != nil {
				loc = *it.File
				if it.Line != nil {
					loc += fmt.Sprintf(":%d", *it.Line)
				}
				loc += ": "
			}
			if it.Path != nil {
				loc += *it.Path + ": "
			}
			fmt.Fprintf(w, "  %s%s\n", loc, it.Message)
		}
	}
}
