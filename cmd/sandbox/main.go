// Command sandbox runs provider-sandbox: one HTTP listener emulating the
// NetRefer, Centili, Netfinity and InTarget APIs. main only parses flags and
// wires packages together; behaviour lives in internal/ and mocks/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches subcommands and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "serve":
			return serve(args[1:], stdout, stderr)
		case "scenario":
			return scenarioCmd(args[1:], stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, version)
			return 0
		case "health":
			return healthCmd(args[1:], stdout, stderr)
		case "help":
			usage(stdout)
			return 0
		}
		if p, ok := sandbox.Lookup(args[0]); ok {
			return providerCmd(p, args[1:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "sandbox: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return serve(args, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `provider-sandbox emulates NetRefer, Centili, Netfinity and InTarget on one listener.

Usage:
  sandbox [flags]                       run the sandbox (same as "sandbox serve")
  sandbox scenario validate FILE...     check scenario files offline
  sandbox health [--url URL]            probe a running sandbox (for container health checks)
  sandbox version                       print the version
`)
	for _, p := range sandbox.Providers() {
		names := make([]string, 0, len(p.Commands))
		for n := range p.Commands {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  sandbox %s %-27s %s\n", p.Name, n+" ...", p.Commands[n].Summary)
		}
	}
	fmt.Fprint(w, "\nFlags of sandbox / sandbox serve:\n")
	fs, _ := serveFlags(io.Discard)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

type serveOptions struct {
	addr             string
	scenarioFile     string
	logFormat        string
	logLevel         string
	journalSize      int
	journalBodyBytes int
	maxNamespaces    int
	namespaceIdle    time.Duration
	shutdownTimeout  time.Duration
	watch            bool
	watchInterval    time.Duration
}

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveOptions) {
	o := &serveOptions{}
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", envOr("SANDBOX_ADDR", "127.0.0.1:8080"), "listen address (env SANDBOX_ADDR); use 0.0.0.0:8080 to accept other hosts, :0 for a free port")
	fs.StringVar(&o.scenarioFile, "scenario", envOr("SANDBOX_SCENARIO", ""), "scenario file (YAML or JSON) replacing the embedded default (env SANDBOX_SCENARIO)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.IntVar(&o.journalSize, "journal-size", 10000, "request journal entries kept per namespace (ring buffer)")
	fs.IntVar(&o.journalBodyBytes, "journal-body-bytes", 4096, "bytes of each request and response body kept in the journal")
	fs.IntVar(&o.maxNamespaces, "max-namespaces", 256, "most namespaces users create under /ns/ (default is not counted); idle ones are evicted to make room")
	fs.DurationVar(&o.namespaceIdle, "namespace-idle", 30*time.Minute, "a namespace unused this long is evicted")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGINT/SIGTERM, how long in-flight requests may take to finish")
	fs.BoolVar(&o.watch, "watch", false, "reload --scenario when the file changes (invalid edits are logged and ignored)")
	fs.DurationVar(&o.watchInterval, "watch-interval", 500*time.Millisecond, "how often --watch checks the file")
	return fs, o
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

// loadScenario reads the --scenario file, or the embedded default.
func loadScenario(file string) (*sandbox.Scenario, scenario.Problems, error) {
	name, data := "scenarios/"+scenarios.DefaultName+" (embedded)", scenarios.Default()
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, err
		}
		name, data = file, b
	}
	sc, probs := sandbox.LoadScenario(name, data)
	return sc, probs, nil
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs, o := serveFlags(stderr)
	fs.Usage = func() { usage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sandbox: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if o.watch && o.scenarioFile == "" {
		fmt.Fprintln(stderr, "sandbox: --watch needs --scenario FILE (the embedded default cannot change)")
		return 2
	}
	log, err := newLogger(o.logFormat, o.logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 2
	}
	sc, probs, err := loadScenario(o.scenarioFile)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 1
	}
	if len(probs) > 0 {
		fmt.Fprintln(stderr, probs.Error())
		return 1
	}
	srv, err := sandbox.New(sandbox.Config{
		Scenario: sc, JournalSize: o.journalSize, JournalBodyBytes: o.journalBodyBytes,
		MaxNamespaces: o.maxNamespaces, NamespaceIdle: o.namespaceIdle, Version: version, Logger: log,
	})
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 1
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		srv.Close()
		return 1
	}
	// Catch signals before announcing the address: whoever reads the
	// banner may signal at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	base := "http://" + displayAddr(ln.Addr().String())
	printBanner(stdout, base, sc)

	if o.watch {
		srv.Watch(ctx, o.scenarioFile, o.watchInterval)
		log.Info("watching scenario file", "file", o.scenarioFile)
	}

	// ReadTimeout bounds a client that trickles its body; there is no
	// WriteTimeout because InTarget windows stream for as long as they take.
	hs := &http.Server{
		Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		srv.Close()
		fmt.Fprintln(stderr, "sandbox:", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests", "timeout", o.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx, hs); err != nil {
		log.Warn("shutdown did not finish cleanly", "err", err)
	}
	log.Info("stopped")
	return 0
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func printBanner(w io.Writer, base string, sc *sandbox.Scenario) {
	fmt.Fprintf(w, "provider-sandbox %s listening on %s (scenario %q)\n", version, base, sc.Common().Name)
	for _, p := range sandbox.Providers() {
		fmt.Fprintf(w, "  %-10s %s/%s\n", p.Name, base, p.Name)
	}
	fmt.Fprintf(w, "  %-10s %s/__sandbox/health  (namespaces: %s/ns/{name}/...)\n", "admin", base, base)
	for _, p := range sandbox.Providers() {
		if p.Banner == nil {
			continue
		}
		lines := p.Banner(sc.Configs[p.Name], base+"/"+p.Name)
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s demo credentials:\n", p.Title)
		for _, l := range lines {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

func scenarioCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "validate" {
		fmt.Fprintln(stderr, "usage: sandbox scenario validate FILE...")
		return 2
	}
	status := 0
	for _, file := range args[1:] {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", file, err)
			status = 1
			continue
		}
		if _, probs := sandbox.LoadScenario(file, data); len(probs) > 0 {
			for _, p := range probs {
				fmt.Fprintln(stderr, p.String())
			}
			fmt.Fprintf(stderr, "%s: invalid (%d problem(s))\n", file, len(probs))
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", file)
	}
	return status
}

func providerCmd(p *sandbox.Provider, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: sandbox %s COMMAND ...\n", p.Name)
		return 2
	}
	c, ok := p.Commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sandbox: %s has no command %q\n", p.Name, args[0])
		return 2
	}
	return c.Run(args[1:], stdout, stderr)
}

// healthCmd probes /__sandbox/health; the Docker image's HEALTHCHECK uses it
// because the image has no shell or curl.
func healthCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://"+displayAddr(envOr("SANDBOX_ADDR", "127.0.0.1:8080"))+"/__sandbox/health", "health endpoint to probe")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Get(*url)
	if err != nil {
		fmt.Fprintln(stderr, "unhealthy:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "unhealthy: status", resp.StatusCode)
		return 1
	}
	fmt.Fprintln(stdout, "healthy")
	return 0
}
