package sandbox

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// The sandbox as HTTP(S) proxy: an application whose HTTPS_PROXY (or
// HTTP_PROXY) points at the sandbox keeps its production URLs unchanged,
// and nothing needs to resolve the providers' names. It is a proxy for the
// provider hosts only and never dials anywhere: a CONNECT to a provider
// host is answered 200 and the tunnel is served by the sandbox itself (TLS
// terminated with a certificate for that host, then the same handler as
// every request); an absolute-form request (GET http://api.centili.com/...)
// is routed by its host like any other. A proxy request for any other host
// is refused with 403, so the sandbox cannot be used as an open proxy.

// tunnelTimeouts bound a tunnel's idle clients: the time for the TLS
// handshake and a request's headers, and how long an idle tunnel stays.
const (
	tunnelHeaderTimeout = 10 * time.Second
	tunnelIdleTimeout   = 2 * time.Minute
)

// refuseProxy answers 403 for a proxy request the sandbox does not serve:
// CONNECT to a host that is no provider host, or an absolute-form request
// for a host that is neither a provider host nor the sandbox itself (a
// loopback name, an IP address or an --allowed-hosts name, which are
// served as without a proxy). It reports whether it answered.
func (s *Server) refuseProxy(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodConnect && (r.URL.Host == "" || s.access.namesSandbox(r.Host)) {
		return false
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "provider-sandbox is no proxy for %s: it answers proxy requests only for the provider hosts it serves (%s) and never connects anywhere else; "+
		"send requests for other hosts without the proxy (list them in NO_PROXY); see docs/hosts.md\n", r.Host, s.proxyHostsText())
	return true
}

// serveConnect opens a tunnel to provider host e: 200, then the TLS
// handshake (or plain HTTP, if the client's first byte is no TLS record)
// and HTTP/1.1 requests on the hijacked connection, served by the sandbox
// until the client closes it or the sandbox stops.
func (s *Server) serveConnect(w http.ResponseWriter, r *http.Request, e *hostEntry) {
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
	}
	if r.ProtoMajor != 1 {
		fail(http.StatusHTTPVersionNotSupported, "CONNECT tunnels need HTTP/1.1 between the client and the sandbox")
		return
	}
	if s.cfg.TunnelTLS == nil {
		fail(http.StatusBadGateway, "this sandbox has no certificates for CONNECT tunnels; start it with --hosts (see docs/hosts.md)")
		return
	}
	base, err := s.cfg.TunnelTLS()
	if err != nil {
		s.log.Error("CONNECT tunnel has no TLS configuration", "host", e.host, "err", err)
		fail(http.StatusBadGateway, "the sandbox cannot serve TLS for "+e.host+": "+err.Error())
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		fail(http.StatusInternalServerError, "the connection cannot be taken over for a tunnel: "+err.Error())
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	bc := &bufferedConn{Conn: conn, r: brw.Reader}
	_ = conn.SetReadDeadline(time.Now().Add(tunnelHeaderTimeout))
	first, err := bc.r.Peek(1)
	_ = conn.SetReadDeadline(time.Time{})
	if err != nil {
		conn.Close()
		return
	}
	ln := newOneConnListener(conn.LocalAddr())
	// The notifying wrapper goes under TLS: http.Server must see the
	// *tls.Conn itself to run the handshake and fill Request.TLS.
	var inner net.Conn = &closeNotifyConn{Conn: bc, onClose: ln.closeDone}
	if first[0] == 0x16 { // a TLS handshake record
		inner = tls.Server(inner, tunnelTLS(base, e.host))
	}
	ln.conn <- inner
	hs := &http.Server{
		Handler:           s.tunnelHandler(e.host),
		ReadHeaderTimeout: tunnelHeaderTimeout,
		IdleTimeout:       tunnelIdleTimeout,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	s.tunnels.serve(hs, ln)
}

// tunnelTLS is the tunnel's server configuration: HTTP/1.1 only (the
// tunnel is served by a server of its own, without HTTP/2), and a client
// that sends no server name gets the certificate of the host it asked
// CONNECT for.
func tunnelTLS(base *tls.Config, host string) *tls.Config {
	cfg := base.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	if get := base.GetCertificate; get != nil {
		cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				hello.ServerName = host
			}
			return get(hello)
		}
	}
	return cfg
}

// tunnelHandler serves a tunnel's requests, which must be for the host the
// tunnel was opened to: a client that sends another Host through it has
// mixed up its connections, and gets 421 rather than an answer from
// another provider.
func (s *Server) tunnelHandler(host string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := bareHost(r.Host); got != host {
			w.Header().Set(HeaderRequestID, s.nextID())
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusMisdirectedRequest)
			fmt.Fprintf(w, "this tunnel was opened to %s; a request for %s needs a CONNECT of its own\n", host, got)
			return
		}
		s.ServeHTTP(w, r)
	})
}

// bufferedConn is a hijacked connection read through the bufio.Reader that
// may already hold the client's first bytes (a ClientHello sent right
// after CONNECT).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// oneConnListener hands http.Server the one connection put in conn, then
// blocks Accept until that connection is closed (or the listener is), so
// that Serve returns when the tunnel ends.
type oneConnListener struct {
	conn chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newOneConnListener(addr net.Addr) *oneConnListener {
	return &oneConnListener{conn: make(chan net.Conn, 1), done: make(chan struct{}), addr: addr}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conn:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *oneConnListener) closeDone() { l.once.Do(func() { close(l.done) }) }

func (l *oneConnListener) Close() error {
	l.closeDone()
	select {
	case c := <-l.conn: // never accepted: close it here
		c.Close()
	default:
	}
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.addr }

// closeNotifyConn tells the listener that its connection is closed.
type closeNotifyConn struct {
	net.Conn
	onClose func()
}

func (c *closeNotifyConn) Close() error {
	err := c.Conn.Close()
	c.onClose()
	return err
}

// tunnelSet holds the servers of the open tunnels, so that Shutdown and
// Close end them too (hijacked connections are no longer the outer
// server's).
type tunnelSet struct {
	mu      sync.Mutex
	servers map[*http.Server]struct{}
	closed  bool
}

// serve runs hs on ln until the tunnel ends; a tunnel opened after Close
// is closed at once.
func (ts *tunnelSet) serve(hs *http.Server, ln net.Listener) {
	ts.mu.Lock()
	if ts.closed {
		ts.mu.Unlock()
		ln.Close()
		return
	}
	if ts.servers == nil {
		ts.servers = map[*http.Server]struct{}{}
	}
	ts.servers[hs] = struct{}{}
	ts.mu.Unlock()
	err := hs.Serve(ln)
	_ = err // net.ErrClosed or http.ErrServerClosed: the tunnel ended
	ts.mu.Lock()
	delete(ts.servers, hs)
	ts.mu.Unlock()
}

func (ts *tunnelSet) list() []*http.Server {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]*http.Server, 0, len(ts.servers))
	for hs := range ts.servers {
		out = append(out, hs)
	}
	return out
}

// shutdown lets the tunnels' requests in flight finish (closing idle
// tunnels at once), within ctx.
func (ts *tunnelSet) shutdown(ctx context.Context) error {
	var errs []error
	for _, hs := range ts.list() {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// close ends every tunnel now, and any opened afterwards.
func (ts *tunnelSet) close() {
	ts.mu.Lock()
	ts.closed = true
	ts.mu.Unlock()
	for _, hs := range ts.list() {
		hs.Close()
	}
}
