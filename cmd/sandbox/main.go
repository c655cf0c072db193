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
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
	"github.com/provider-sandbox/provider-sandbox/internal/store"
	"github.com/provider-sandbox/provider-sandbox/internal/tokens"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// adminTokenEnv holds the admin token for the server and for the commands
// that call a running sandbox (health).
const adminTokenEnv = adminclient.TokenEnv

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
			if len(args) > 1 {
				if isHelp(args[1]) {
					fmt.Fprint(stdout, versionUsage)
					return 0
				}
				fmt.Fprintf(stderr, "sandbox version: unexpected argument %q\n%s", args[1], versionUsage)
				return 2
			}
			fmt.Fprintln(stdout, version)
			return 0
		case "health":
			return healthCmd(args[1:], stdout, stderr)
		case "ca":
			return caCmd(args[1:], stdout, stderr)
		case "snapshot":
			return snapshotCmd(args[1:], stdout, stderr)
		case "help":
			// "sandbox help COMMAND ..." is "sandbox COMMAND ... --help".
			if len(args) > 1 && args[1] != "help" {
				return run(append(append([]string{}, args[1:]...), "--help"), stdout, stderr)
			}
			usage(stdout)
			return 0
		}
		// Only providers with commands are commands: "sandbox netrefer"
		// would otherwise print an empty command list.
		if p, ok := sandbox.Lookup(args[0]); ok && len(p.Commands) > 0 {
			return providerCmd(p, args[1:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "sandbox: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return serve(args, stdout, stderr)
}

// isHelp reports whether an argument asks for help.
func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

// commandRows are the lines of the top-level command list: what to type,
// and what it does.
func commandRows() [][2]string {
	rows := [][2]string{
		{"sandbox [flags]", `run the sandbox (same as "sandbox serve [flags]")`},
		{"sandbox scenario validate FILE...", "check scenario files offline"},
		{"sandbox health [--url URL]", "probe a running sandbox (for container health checks)"},
		{"sandbox ca [--data-dir DIR]", "print the local CA certificate --https-addr uses, and how to trust it"},
		{"sandbox snapshot save|load ...", "save a namespace of a running sandbox to a file, or restore one"},
		{"sandbox version", "print the version (same as sandbox --version)"},
	}
	for _, p := range sandbox.Providers() {
		for _, n := range commandNames(p) {
			rows = append(rows, [2]string{"sandbox " + p.Name + " " + n + " ...", p.Commands[n].Summary})
		}
	}
	return append(rows, [2]string{"sandbox help [COMMAND]", `this help, or a command's (same as "sandbox COMMAND --help")`})
}

func commandNames(p *sandbox.Provider) []string {
	names := make([]string, 0, len(p.Commands))
	for n := range p.Commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// writeRows prints two columns, the second aligned.
func writeRows(w io.Writer, rows [][2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r[0], r[1])
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, "provider-sandbox emulates NetRefer, Centili, Netfinity and InTarget on one listener.\n\nUsage:\n")
	writeRows(w, commandRows())
	fmt.Fprint(w, "\nEvery command takes --help.\n\nFlags of sandbox / sandbox serve:\n")
	fs, _ := serveFlags(io.Discard)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

const versionUsage = `usage: sandbox version

Prints the version the binary was built with (also: sandbox --version).
`

type serveOptions struct {
	addr             string
	httpsAddr        string
	tlsCert          string
	tlsKey           string
	dataDir          string
	scenarioFile     string
	logFormat        string
	logLevel         string
	journalSize      int
	journalBodyBytes int
	journalHeaders   int
	journalMemory    byteSize
	maxNamespaces    int
	namespaceIdle    time.Duration
	shutdownTimeout  time.Duration
	watch            bool
	watchInterval    time.Duration
	accessLog        bool
	version          bool
	adminToken       string
	allowedHosts     string
	hosts            bool
}

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveOptions) {
	o := &serveOptions{}
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", envOr("SANDBOX_ADDR", "127.0.0.1:8080"), "listen address (env SANDBOX_ADDR); use 0.0.0.0:8080 to accept other hosts, :0 for a free port; \"\" for HTTPS only")
	fs.StringVar(&o.httpsAddr, "https-addr", os.Getenv("SANDBOX_HTTPS_ADDR"), "also serve HTTPS (HTTP/2 and HTTP/1.1) on this address, e.g. 127.0.0.1:8443 (env SANDBOX_HTTPS_ADDR); the certificate comes from the local CA (see sandbox ca) unless --tls-cert is given")
	fs.StringVar(&o.tlsCert, "tls-cert", os.Getenv("SANDBOX_TLS_CERT"), "PEM certificate (chain) `FILE` for --https-addr instead of one from the local CA (env SANDBOX_TLS_CERT; needs --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", os.Getenv("SANDBOX_TLS_KEY"), "PEM private key `FILE` of --tls-cert (env SANDBOX_TLS_KEY)")
	fs.StringVar(&o.dataDir, "data-dir", os.Getenv(dataDirEnv), dataDirUsage)
	fs.StringVar(&o.scenarioFile, "scenario", envOr("SANDBOX_SCENARIO", ""), "scenario file (YAML or JSON) replacing the embedded default (env SANDBOX_SCENARIO)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.IntVar(&o.journalSize, "journal-size", 10000, "request journal entries kept per namespace (ring buffer)")
	fs.IntVar(&o.journalBodyBytes, "journal-body-bytes", 4096, "bytes of each request and response body kept in the journal")
	fs.IntVar(&o.journalHeaders, "journal-header-bytes", 16384, "bytes of each request's and response's headers kept in the journal (one value: at most 4096)")
	o.journalMemory = sandbox.DefaultJournalMemory
	fs.Var(&o.journalMemory, "journal-memory", "the `SIZE` all namespaces' journals may hold together, e.g. 256MiB or 1GiB (MB and GB: powers of ten); past it the oldest entries go first")
	fs.IntVar(&o.maxNamespaces, "max-namespaces", 256, "most namespaces users create under /ns/ (default is not counted); idle ones are evicted to make room")
	fs.DurationVar(&o.namespaceIdle, "namespace-idle", 30*time.Minute, "a namespace unused this long is evicted")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGINT/SIGTERM, how long in-flight requests may take to finish")
	fs.BoolVar(&o.watch, "watch", false, "reload --scenario when the file changes (invalid edits are logged and ignored)")
	fs.DurationVar(&o.watchInterval, "watch-interval", 500*time.Millisecond, "how often --watch checks the file")
	fs.BoolVar(&o.accessLog, "access-log", true, "log one line per request at level info (--access-log=false turns it off)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	// No environment default: --help prints defaults, and must not print the token.
	fs.StringVar(&o.adminToken, "admin-token", "", "require this bearer token on /__sandbox/* and the landing page (env "+adminTokenEnv+"); a browser opens /?token=TOKEN once")
	fs.StringVar(&o.allowedHosts, "allowed-hosts", os.Getenv("SANDBOX_ALLOWED_HOSTS"), "comma-separated Host names the admin API answers besides localhost and IP addresses; .example.test allows subdomains, * every host (env SANDBOX_ALLOWED_HOSTS; with --admin-token the default is every host)")
	fs.BoolVar(&o.hosts, "hosts", envBool("SANDBOX_HOSTS"), "route requests by Host to the provider owning the name (login.microsoftonline.com, api.centili.com, ...) and answer proxy requests (HTTPS_PROXY) for those names only, so an application keeps its production URLs (env SANDBOX_HOSTS; see docs/hosts.md)")
	return fs, o
}

// envBool reads a boolean environment variable (1, true, ...); anything
// else, or nothing, is false.
func envBool(key string) bool {
	v, err := strconv.ParseBool(os.Getenv(key))
	return err == nil && v
}

// byteSize is a flag value in bytes written with a unit: 256MiB, 1GiB,
// 500MB (powers of ten), or a plain number of bytes.
type byteSize int64

func (b *byteSize) String() string { return humanize.IBytes(uint64(*b)) }

func (b *byteSize) Set(v string) error {
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > math.MaxInt64 {
		return fmt.Errorf("%q is not a size such as 256MiB or 1GiB", v)
	}
	*b = byteSize(n)
	return nil
}

// dataDirEnv and dataDirUsage describe --data-dir, a flag of serve and ca
// (caDataDirUsage: ca reads only the CA); signingKeyFile is where in it the
// token signing key is kept.
const (
	dataDirEnv     = "SANDBOX_DATA_DIR"
	caDataDirUsage = "`DIR` the sandbox keeps files in: the local CA in DIR/ca (env " + dataDirEnv + "; default: the user's config directory, ~/.config/provider-sandbox on Linux)"
	dataDirUsage   = "`DIR` the sandbox keeps files in: the local CA in DIR/ca, the token signing key in DIR/" + signingKeyFile + " so tokens survive a restart, and every namespace's state, clock, faults, callbacks and journal in DIR/state.db, so that they survive a crash (env " + dataDirEnv + "; default: everything in memory, the CA in the user's config directory, ~/.config/provider-sandbox on Linux)"
	signingKeyFile = "keys/signing-key.pem"
)

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
	if file == "" {
		sc, probs := sandbox.LoadScenario("scenarios/"+scenarios.DefaultName+" (embedded)", scenarios.Default())
		return sc, probs, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	sc, probs := sandbox.LoadScenarioFile(file, data)
	return sc, probs, nil
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs, o := serveFlags(stderr)
	// The flag package calls Usage for -help too; help is printed below,
	// to stdout, so that "sandbox --help | less" works.
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		fmt.Fprintln(stderr, `run "sandbox --help" for every command and flag`)
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, version)
		return 0
	}
	if o.adminToken == "" {
		o.adminToken = os.Getenv(adminTokenEnv)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sandbox: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if o.watch && o.scenarioFile == "" {
		fmt.Fprintln(stderr, "sandbox: --watch needs --scenario FILE (the embedded default cannot change)")
		return 2
	}
	if msg := listenUsage(o); msg != "" {
		fmt.Fprintln(stderr, "sandbox:", msg)
		return 2
	}
	log, err := newLogger(o.logFormat, o.logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 2
	}
	// Parse and validate the providers' OpenAPI documents (most of the
	// start-up time) while the scenario is read; sandbox.New waits for it,
	// so no request is answered before every spec has been checked.
	// Start-up allocates ~20 MB of short-lived parse trees on a ~5 MB live
	// heap; at the default GOGC the collector runs ~7 times on the way and
	// costs about a quarter of start-up's CPU. Collect less often until the
	// sandbox is built, then return to the default.
	gcPercent := debug.SetGCPercent(400)
	// Also on the early returns below (run is called in-process by tests).
	defer debug.SetGCPercent(gcPercent)
	go sandbox.CompileAll()
	jsonLogs := o.logFormat == "json"
	// fail reports a start-up failure: as text, or as a JSON record when
	// every line must be JSON.
	fail := func(msg string, err error) int {
		if jsonLogs {
			log.Error(msg, "err", err.Error())
		} else {
			fmt.Fprintln(stderr, "sandbox:", err)
		}
		return 1
	}
	if o.dataDir != "" {
		// Before the scenario is loaded: loading picks the process-wide
		// issuer for scenarios without keys.signingKeyPEM.
		if err := tokens.KeepShared(filepath.Join(o.dataDir, signingKeyFile)); err != nil {
			return fail("signing key cannot be kept", err)
		}
	}
	var st *store.Store
	if o.dataDir != "" {
		opened, err := store.Open(o.dataDir)
		if err != nil {
			return fail("data directory cannot be opened", err)
		}
		st = opened
		defer func() {
			if err := st.Close(); err != nil {
				log.Error("data directory: the last writes failed", "err", err)
			}
		}()
	}
	sc, probs, err := loadScenario(o.scenarioFile)
	if err != nil {
		return fail("scenario file cannot be read", err)
	}
	if len(probs) > 0 {
		if jsonLogs {
			lines := make([]string, 0, len(probs))
			for _, p := range probs {
				lines = append(lines, p.String())
			}
			log.Error("invalid scenario", "problems", lines)
		} else {
			fmt.Fprintln(stderr, probs.Error())
		}
		return 1
	}
	cfg := sandbox.Config{
		Scenario: sc, JournalSize: o.journalSize, JournalBodyBytes: o.journalBodyBytes,
		JournalHeaderBytes: o.journalHeaders, JournalMemory: int64(o.journalMemory),
		MaxNamespaces: o.maxNamespaces, NamespaceIdle: o.namespaceIdle, Version: version, Logger: log,
		Library: scenarios.FS, AdminToken: o.adminToken, AllowedHosts: splitList(o.allowedHosts), Store: st,
	}
	if o.accessLog {
		cfg.AccessLog = accessLogger(log, jsonLogs)
	}
	hostsOn := o.hosts || sc.HostsEnabled()
	var srv *sandbox.Server
	certs := &certSource{o: o, isProviderHost: func(name string) bool { return srv.IsProviderHost(name) }}
	if hostsOn {
		for _, h := range sc.HostNames() {
			certs.providerHosts = append(certs.providerHosts, h.Host)
		}
	}
	cfg.Hosts, cfg.TunnelTLS = o.hosts, certs.tunnelConfig
	srv, err = sandbox.New(cfg)
	debug.SetGCPercent(gcPercent)
	if err != nil {
		return fail("sandbox cannot start", err)
	}
	if hostsOn && o.tlsCert != "" {
		if missing := uncoveredHosts(o.tlsCert, o.tlsKey, certs.providerHosts); len(missing) > 0 {
			log.Warn("--tls-cert does not cover these provider hosts: HTTPS clients and HTTPS_PROXY tunnels will refuse them; add them to the certificate or drop --tls-cert to use the local CA",
				"hosts", strings.Join(missing, ","))
		}
	}
	ls, err := listen(o, certs, log)
	if err != nil {
		srv.Close()
		return fail("cannot listen", err)
	}
	// Catch signals before announcing the address: whoever reads the
	// banner may signal at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	base, httpsBase := ls.urls()
	for _, ln := range []net.Listener{ls.plain, ls.tls} {
		if ln == nil {
			continue
		}
		if msg := exposureWarning(ln.Addr(), o.adminToken); msg != "" {
			log.Warn(msg, "addr", ln.Addr().String())
		}
	}
	if o.adminToken != "" {
		log.Info("the admin API and the dashboard need the admin token: send Authorization: Bearer TOKEN, or in a browser open " + base + "/?token=TOKEN once")
	}
	if jsonLogs {
		printBannerJSON(stdout, base, httpsBase, sc, hostsOn)
	} else {
		printBanner(stdout, base, httpsBase, sc, hostsOn)
	}

	if o.watch {
		srv.Watch(ctx, o.scenarioFile, o.watchInterval)
		log.Info("watching scenario file", "file", o.scenarioFile)
	}

	// ReadTimeout bounds a client that trickles its body; there is no
	// WriteTimeout because InTarget windows stream for as long as they take.
	hs := &http.Server{
		Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), TLSConfig: ls.tlsConfig,
	}
	// One server for both listeners, so that Shutdown drains both.
	errc := make(chan error, 2)
	if ls.plain != nil {
		go func() { errc <- hs.Serve(ls.plain) }()
	}
	if ls.tls != nil {
		// ServeTLS enables HTTP/2, which the config offers by ALPN.
		go func() { errc <- hs.ServeTLS(ls.tls, "", "") }()
	}
	select {
	case err := <-errc:
		srv.Close()
		return fail("serving failed", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests", "timeout", o.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx, hs); err != nil {
		// The requests still running are cut; a supervisor or CI job must
		// see that the shutdown was not clean.
		hs.Close()
		log.Error("stopped: in-flight requests did not finish within --shutdown-timeout and were cut off", "timeout", o.shutdownTimeout, "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// exposureWarning is the start-up warning for a listener that other hosts
// can reach (0.0.0.0, as in the Docker image, or a network address) while
// no admin token protects the admin API; "" when there is nothing to warn
// about.
func exposureWarning(addr net.Addr, token string) string {
	if tcp, ok := addr.(*net.TCPAddr); token != "" || (ok && tcp.IP.IsLoopback()) {
		return ""
	}
	return "THE ADMIN API IS OPEN TO OTHER HOSTS: anyone who can connect can read every credential and journal entry and change the sandbox; " +
		"set --admin-token (or " + adminTokenEnv + "), or listen on 127.0.0.1 (see docs/security.md)"
}

// accessLogger writes one record per request at level info, message
// "request". Faults are a list in JSON and comma-separated in text, where
// an empty list reads faults="" rather than faults=[].
func accessLogger(log *slog.Logger, jsonLogs bool) func(sandbox.Exchange) {
	return func(e sandbox.Exchange) {
		if !log.Enabled(context.Background(), slog.LevelInfo) {
			return
		}
		var faults slog.Attr
		if jsonLogs {
			faults = slog.Any("faults", e.Faults)
		} else {
			faults = slog.String("faults", strings.Join(e.Faults, ","))
		}
		log.LogAttrs(context.Background(), slog.LevelInfo, "request",
			slog.String("method", e.Method), slog.String("path", e.Path), slog.String("namespace", e.Namespace),
			slog.String("provider", e.Provider), slog.String("operation", e.Operation), slog.Int("status", e.Status),
			slog.Float64("duration_ms", float64(e.Duration.Microseconds())/1000), slog.String("request_id", e.RequestID), faults)
	}
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

// bannerSection is a titled block of the start-up banner.
type bannerSection struct {
	title string
	rows  []sandbox.BannerLine
}

// bannerSections lists what the banner shows: the entry points, then each
// provider's demo credentials from the scenario in force.
func bannerSections(base string, sc *sandbox.Scenario, hostsOn bool) []bannerSection {
	urls := bannerSection{rows: []sandbox.BannerLine{{Label: "home", Value: base + "/  (the dashboard: credentials, live journal, state, controls)"}}}
	for _, p := range sandbox.Providers() {
		urls.rows = append(urls.rows, sandbox.BannerLine{Label: p.Name, Value: base + "/" + p.Name})
	}
	urls.rows = append(urls.rows,
		sandbox.BannerLine{Label: "admin", Value: base + "/__sandbox  (health: " + base + "/__sandbox/health)"},
		sandbox.BannerLine{Label: "namespaces", Value: base + "/ns/{name}/...  (isolated copies, created on first use)"})
	out := []bannerSection{urls}
	if hostsOn {
		hosts := bannerSection{title: "Provider hosts (routed by Host, and served as HTTP(S) proxy; docs/hosts.md):"}
		for _, h := range sc.HostNames() {
			hosts.rows = append(hosts.rows, sandbox.BannerLine{Label: h.Provider, Value: h.Host})
		}
		out = append(out, hosts)
	}
	for _, p := range sandbox.Providers() {
		if p.Banner == nil {
			continue
		}
		if rows := sandbox.SplitBanner(p.Banner(sc.Configs[p.Name], base+"/"+p.Name)); len(rows) > 0 {
			out = append(out, bannerSection{title: p.Title + " demo credentials:", rows: rows})
		}
	}
	return out
}

// printBanner writes the start-up banner with every value in one column.
// base is the first listener's URL, the plain one unless only HTTPS is
// served; httpsBase is the HTTPS listener's beside a plain one, else "".
func printBanner(w io.Writer, base, httpsBase string, sc *sandbox.Scenario, hostsOn bool) {
	secs := bannerSections(base, sc, hostsOn)
	width := 0
	for _, s := range secs {
		for _, r := range s.rows {
			width = max(width, len(r.Label))
		}
	}
	var b strings.Builder
	also := ""
	if httpsBase != "" {
		also = " and " + httpsBase
	}
	fmt.Fprintf(&b, "provider-sandbox %s listening on %s%s (scenario %q)\n", version, base, also, sc.Common().Name)
	for _, s := range secs {
		if s.title != "" {
			b.WriteString(s.title + "\n")
		}
		for _, r := range s.rows {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, r.Label, r.Value)
		}
	}
	_, _ = io.WriteString(w, b.String())
}

// printBannerJSON writes the banner as one JSON record, for --log-format
// json: msg "listening", the base URL (and the HTTPS one beside it), the
// mounts and each provider's credentials as label/value pairs.
func printBannerJSON(w io.Writer, base, httpsBase string, sc *sandbox.Scenario, hostsOn bool) {
	mounts := map[string]string{}
	creds := map[string][]sandbox.BannerLine{}
	for _, p := range sandbox.Providers() {
		mounts[p.Name] = base + "/" + p.Name
		if p.Banner != nil {
			creds[p.Name] = sandbox.SplitBanner(p.Banner(sc.Configs[p.Name], base+"/"+p.Name))
		}
	}
	attrs := []any{"url", base, "version", version, "scenario", sc.Common().Name, "mounts", mounts,
		"admin", base + "/__sandbox", "health", base + "/__sandbox/health", "namespaces", base + "/ns/{name}/",
		"credentials", creds}
	if httpsBase != "" {
		attrs = append(attrs, "https", httpsBase)
	}
	if hostsOn {
		hosts := map[string]string{}
		for _, h := range sc.HostNames() {
			hosts[h.Host] = h.Provider
		}
		attrs = append(attrs, "hosts", hosts)
	}
	slog.New(slog.NewJSONHandler(w, nil)).Info("listening", attrs...)
}

const scenarioUsage = `usage: sandbox scenario COMMAND

Commands:
  validate FILE...  check scenario files offline: every problem as
                    file:line: field.path: message (hint: ...); exit 1 if any is invalid
`

const validateUsage = `usage: sandbox scenario validate FILE...

Checks each scenario file (YAML or JSON) the way the sandbox does at start-up
and prints every problem as file:line: field.path: message (hint: ...).
Prints "FILE: ok" for a valid file. Exit status: 0 all valid, 1 a file is
invalid or unreadable, 2 usage error. No flags.
`

func scenarioCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, scenarioUsage)
		return 0
	}
	if len(args) == 0 || args[0] != "validate" {
		if len(args) > 0 {
			fmt.Fprintf(stderr, "sandbox scenario: unknown command %q\n", args[0])
		}
		fmt.Fprint(stderr, scenarioUsage)
		return 2
	}
	files := args[1:]
	for _, f := range files {
		if isHelp(f) {
			fmt.Fprint(stdout, validateUsage)
			return 0
		}
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, validateUsage)
		return 2
	}
	status := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", file, err)
			status = 1
			continue
		}
		if _, probs := sandbox.LoadScenarioFile(file, data); len(probs) > 0 {
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

// providerUsage lists a provider's subcommands.
func providerUsage(w io.Writer, p *sandbox.Provider) {
	fmt.Fprintf(w, "usage: sandbox %s COMMAND [flags]\n\nCommands:\n", p.Name)
	var rows [][2]string
	for _, n := range commandNames(p) {
		rows = append(rows, [2]string{n, p.Commands[n].Summary})
	}
	writeRows(w, rows)
	fmt.Fprintf(w, "\nRun \"sandbox %s COMMAND --help\" for a command's flags.\n", p.Name)
}

func providerCmd(p *sandbox.Provider, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		providerUsage(stdout, p)
		return 0
	}
	if len(args) == 0 {
		providerUsage(stderr, p)
		return 2
	}
	c, ok := p.Commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sandbox: %s has no command %q\n\n", p.Name, args[0])
		providerUsage(stderr, p)
		return 2
	}
	return c.Run(args[1:], stdout, stderr)
}

const healthUsage = `usage: sandbox health [--url URL] [--timeout DURATION]

Probes a running sandbox's GET /__sandbox/health; prints "healthy" and exits 0
on a 200, otherwise prints why and exits 1 (2: usage error). The Docker
image's HEALTHCHECK runs it. URL may be the base URL (http://127.0.0.1:8080),
a namespace's (http://127.0.0.1:8080/ns/ci-42) or the health endpoint itself.
When SANDBOX_ADMIN_TOKEN is set it is sent as the bearer token.

Flags:
`

// parseCommand parses the flags of "sandbox NAME" (fs is named NAME), which
// takes no arguments. done says the command is over with exit status code:
// --help printed usage and the flags to stdout (0), or a usage error (2).
func parseCommand(fs *flag.FlagSet, usage string, args []string, stdout, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() {} // help goes to stdout, below
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0, true
		}
		fmt.Fprintf(stderr, "run \"sandbox %s --help\" for its flags\n", fs.Name())
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sandbox %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}

// healthCmd probes /__sandbox/health; the Docker image's HEALTHCHECK uses it
// because the image has no shell or curl.
func healthCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	base := fs.String("url", "http://"+displayAddr(envOr("SANDBOX_ADDR", "127.0.0.1:8080")), "sandbox base URL, or its /__sandbox/health URL (default from env SANDBOX_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if code, done := parseCommand(fs, healthUsage, args, stdout, stderr); done {
		return code
	}
	target, err := healthURL(*base)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox health:", err)
		return 2
	}
	// The probe reads only the status, so it uses the client's plain
	// GetHealth: any 200 is healthy, whatever the body.
	client, err := adminclient.New(strings.TrimSuffix(target, adminclient.AdminPath+"/health"),
		adminclient.WithHTTPClient(&http.Client{Timeout: *timeout}), adminclient.WithAdminToken(os.Getenv(adminTokenEnv)))
	if err != nil {
		fmt.Fprintln(stderr, "sandbox health:", err)
		return 2
	}
	resp, err := client.GetHealth(context.Background())
	if err != nil {
		fmt.Fprintln(stderr, "unhealthy:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "unhealthy: %s answered status %d\n", target, resp.StatusCode)
		return 1
	}
	fmt.Fprintln(stdout, "healthy")
	return 0
}

// healthURL turns what a user gives --url into the health endpoint: a base
// URL (with or without a /ns/{name} prefix or a trailing slash) gets
// /__sandbox/health appended, /__sandbox gets /health, and the health URL
// itself is kept. A missing scheme means http.
func healthURL(raw string) (string, error) {
	u, err := parseBaseURL(raw)
	if err != nil {
		return "", err
	}
	p := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(p, "/__sandbox/health"):
	case strings.HasSuffix(p, "/__sandbox"):
		p += "/health"
	default:
		p += "/__sandbox/health"
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = p, "", "", ""
	return u.String(), nil
}

// parseBaseURL reads what a user gives --url: an http(s) URL, http when
// the scheme is left out.
func parseBaseURL(raw string) (*url.URL, error) {
	full := raw
	if !strings.Contains(full, "://") {
		full = "http://" + full
	}
	u, err := url.Parse(full)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--url %q is not an http(s) URL such as http://127.0.0.1:8080", raw)
	}
	return u, nil
}
