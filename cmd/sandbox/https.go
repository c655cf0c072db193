package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/provider-sandbox/provider-sandbox/internal/tlsca"
)

// listenUsage says what is wrong with the listener flags, or "".
// --addr "" is allowed with --https-addr: an HTTPS-only sandbox, for
// clients that must never see a plain http URL.
func listenUsage(o *serveOptions) string {
	switch {
	case o.addr == "" && o.httpsAddr == "":
		return `--addr "" needs --https-addr ADDR: the sandbox would listen nowhere`
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return "--tls-cert and --tls-key go together"
	case o.tlsCert != "" && o.httpsAddr == "":
		return "--tls-cert is for the HTTPS listener: add --https-addr ADDR"
	}
	return ""
}

// listeners are the open sockets: plain HTTP, HTTPS, or both.
type listeners struct {
	plain, tls net.Listener
	tlsConfig  *tls.Config
}

// listen opens the listeners the flags ask for and loads the HTTPS
// certificate; on an error nothing stays open.
func listen(o *serveOptions, certs *certSource, log *slog.Logger) (*listeners, error) {
	ls := &listeners{}
	if o.httpsAddr != "" {
		cfg, ca, err := certs.config()
		if err != nil {
			return nil, err
		}
		ls.tlsConfig = cfg
		if ca != nil {
			log.Info("HTTPS certificates come from the local CA; clients must trust it: run \""+caCommand(o.dataDir)+"\" for its PEM and how", "ca", ca.CertPath())
		}
	}
	var err error
	if o.addr != "" {
		if ls.plain, err = net.Listen("tcp", o.addr); err != nil {
			return nil, err
		}
	}
	if o.httpsAddr != "" {
		if ls.tls, err = net.Listen("tcp", o.httpsAddr); err != nil {
			if ls.plain != nil {
				ls.plain.Close()
			}
			return nil, err
		}
	}
	return ls, nil
}

// urls are the banner's URLs: the first listener's, and the HTTPS one when
// it is the second.
func (ls *listeners) urls() (base, httpsBase string) {
	if ls.tls != nil {
		httpsBase = "https://" + displayAddr(ls.tls.Addr().String())
	}
	if ls.plain == nil {
		return httpsBase, ""
	}
	return "http://" + displayAddr(ls.plain.Addr().String()), httpsBase
}

// certSource is where the sandbox's TLS certificates come from, for the
// HTTPS listener and for CONNECT tunnels to provider hosts alike: the
// --tls-cert pair, or the local CA (made on first use) for certHosts and,
// per connection, for whichever provider host the client names. It is
// loaded once, when first needed: a sandbox that never serves TLS never
// touches the CA.
type certSource struct {
	o *serveOptions
	// providerHosts are the provider hosts served at start-up (with host
	// routing on), put in the CA's default certificate.
	providerHosts []string
	// isProviderHost says whether a TLS server name is a provider host
	// now (the scenario may change them while the sandbox runs).
	isProviderHost func(name string) bool

	once sync.Once
	cfg  *tls.Config
	ca   *tlsca.CA
	err  error
}

func (cs *certSource) config() (*tls.Config, *tlsca.CA, error) {
	cs.once.Do(func() { cs.cfg, cs.ca, cs.err = cs.load() })
	return cs.cfg, cs.ca, cs.err
}

// tunnelConfig is sandbox.Config.TunnelTLS.
func (cs *certSource) tunnelConfig() (*tls.Config, error) {
	cfg, _, err := cs.config()
	return cfg, err
}

func (cs *certSource) load() (*tls.Config, *tlsca.CA, error) {
	o := cs.o
	if o.tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}, Certificates: []tls.Certificate{pair}}, nil, nil
	}
	ca, err := loadCA(o.dataDir)
	if err != nil {
		return nil, nil, err
	}
	cfg := ca.TLSConfig(certHosts(o, cs.providerHosts))
	if get := cfg.GetCertificate; cs.isProviderHost != nil {
		cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if name := strings.ToLower(strings.TrimSuffix(hello.ServerName, ".")); name != "" && cs.isProviderHost(name) {
				return ca.Leaf(name)
			}
			return get(hello)
		}
	}
	return cfg, ca, nil
}

// uncoveredHosts lists the provider hosts a --tls-cert certificate does not
// name: clients will refuse those hosts' answers over TLS.
func uncoveredHosts(certFile, keyFile string, hosts []string) []string {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil || pair.Leaf == nil {
		return nil // reported when the listener loads it
	}
	var out []string
	for _, h := range hosts {
		if pair.Leaf.VerifyHostname(h) != nil {
			out = append(out, h)
		}
	}
	return out
}

func loadCA(dataDir string) (*tlsca.CA, error) {
	dir, err := tlsca.DefaultDir(dataDir)
	if err != nil {
		return nil, err
	}
	// absolute, so that the paths the trust recipes print work anywhere
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	return tlsca.Load(dir)
}

// certHosts are the names the local CA's certificates cover besides
// localhost, 127.0.0.1 and ::1: the --allowed-hosts names (the names the
// sandbox is reached by, such as a Compose service name; ".example.test"
// covers example.test and its subdomains), the provider hosts it serves
// (with --hosts) and the --https-addr IP address when it is a specific one.
func certHosts(o *serveOptions, providerHosts []string) []string {
	hosts := append([]string(nil), providerHosts...)
	for _, h := range splitList(o.allowedHosts) {
		switch {
		case h == "*":
		case strings.HasPrefix(h, "."):
			hosts = append(hosts, h[1:], "*"+h)
		default:
			hosts = append(hosts, h)
		}
	}
	if host, _, err := net.SplitHostPort(o.httpsAddr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() && !ip.IsLoopback() {
			hosts = append(hosts, ip.String())
		}
	}
	return hosts
}

// caCommand is the command that prints the CA a sandbox with this
// --data-dir uses.
func caCommand(dataDir string) string {
	if dataDir == "" {
		return "sandbox ca"
	}
	return "sandbox ca --data-dir " + dataDir
}

const caUsage = `usage: sandbox ca [--data-dir DIR]

Prints the certificate of the local CA that signs the sandbox's HTTPS
certificates (--https-addr without --tls-cert), in PEM, on stdout; on stderr
where it is kept and how to make clients trust it. Makes the CA when there is
none yet, so it can be trusted before the sandbox first starts. Exit status:
0 printed, 1 the CA cannot be read or made, 2 usage error.

Flags:
`

// caCmd prints the local CA certificate (stdout) and trust recipes (stderr),
// so that "sandbox ca > ca.pem" saves just the certificate.
func caCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ca", flag.ContinueOnError)
	dataDir := fs.String("data-dir", os.Getenv(dataDirEnv), caDataDirUsage)
	if code, done := parseCommand(fs, caUsage, args, stdout, stderr); done {
		return code
	}
	ca, err := loadCA(*dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox ca:", err)
		return 1
	}
	if _, err := stdout.Write(ca.CertPEM()); err != nil {
		fmt.Fprintln(stderr, "sandbox ca:", err)
		return 1
	}
	fmt.Fprint(stderr, trustRecipes(ca))
	return 0
}

// trustRecipes tell where the CA is kept and, one line each, how to trust it.
func trustRecipes(ca *tlsca.CA) string {
	pem := ca.CertPath()
	var b strings.Builder
	fmt.Fprintf(&b, "%q is kept in %s (its key %s is beside it; remove both for a new CA).\n", ca.Name(), pem, tlsca.KeyFile)
	b.WriteString("Trust it:\n")
	writeRows(&b, [][2]string{
		{"Go", "SSL_CERT_FILE=" + pem + " go test ./...   (replaces the system roots; or add it to an x509.CertPool in tls.Config.RootCAs)"},
		{"Node", "NODE_EXTRA_CA_CERTS=" + pem + " node app.js"},
		{"Python", "REQUESTS_CA_BUNDLE=" + pem + " python3 app.py   (requests; replaces certifi's roots)"},
		{"curl", "curl --cacert " + pem + " https://localhost:8443/__sandbox/health"},
		{"Debian", "sudo cp " + pem + " /usr/local/share/ca-certificates/provider-sandbox.crt && sudo update-ca-certificates"},
	})
	return b.String()
}
