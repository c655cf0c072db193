package intarget

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/verify"
)

func runVerify(args []string, stdout, stderr io.Writer) int { return verify.Main(args, stdout, stderr) }

// verifyRequest is the body of POST /__sandbox/intarget/verify. Every field
// is optional: without baseUrl the namespace's own reference API is
// verified with its configured credentials and its clock.
type verifyRequest struct {
	BaseURL string            `json:"baseUrl"`
	Auth    string            `json:"auth"`   // USER:PASS for HTTP Basic
	Header  string            `json:"header"` // "Name: value"
	From    string            `json:"from"`
	To      string            `json:"to"`
	Window  string            `json:"window"`
	Now     string            `json:"now"`
	Paths   map[string]string `json:"paths"`
	Format  string            `json:"format"`
	Settle  string            `json:"settle"`
}

// Bounds of a verification started from the admin API, so a browser click
// cannot keep the server busy for long.
const (
	adminRunLimit    = 2 * time.Minute
	adminMaxWindows  = 48
	adminMaxBytes    = 64 << 20
	adminReqTimeout  = 15 * time.Second
	adminMaxBodySize = 64 << 10
)

func adminVerify(ns *sandbox.Namespace, w http.ResponseWriter, r *http.Request) {
	var in verifyRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, adminMaxBodySize+1))
	if err == nil && len(body) > adminMaxBodySize {
		err = fmt.Errorf("the body is larger than %d bytes", adminMaxBodySize)
	}
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		sandbox.WriteProblem(w, http.StatusBadRequest, "Invalid verify request", err.Error())
		return
	}
	o := verify.Options{BaseURL: in.BaseURL, AuthBasic: in.Auth, AuthHeader: in.Header, Paths: in.Paths, Format: in.Format,
		MaxBytes: adminMaxBytes, Timeout: adminReqTimeout}
	if err := o.SetTimes(in.From, in.To, in.Now); err != nil {
		sandbox.WriteProblem(w, http.StatusBadRequest, "Invalid verify request", err.Error())
		return
	}
	for _, d := range []struct {
		s   string
		dst *time.Duration
		n   string
	}{{in.Window, &o.Window, "window"}, {in.Settle, &o.Settle, "settle"}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v < 0 {
			sandbox.WriteProblem(w, http.StatusBadRequest, "Invalid verify request", fmt.Sprintf("%s %q is not a Go duration such as 1h", d.n, d.s))
			return
		}
		*d.dst = v
	}
	if o.BaseURL == "" {
		selfTarget(ns, r, &o)
	}
	// the bound applies to the range Run will pull, defaults included
	if err := o.Normalize(); err != nil {
		sandbox.WriteProblem(w, http.StatusBadRequest, "Invalid verify request", err.Error())
		return
	}
	if o.To.Sub(o.From) > adminMaxWindows*o.Window {
		sandbox.WriteProblem(w, http.StatusBadRequest, "Invalid verify request", fmt.Sprintf("at most %d windows per run from the admin API; use the CLI for longer runs", adminMaxWindows))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminRunLimit)
	defer cancel()
	rep, err := verify.Run(ctx, o)
	var ce *verify.ConnError
	switch {
	case errors.As(err, &ce):
		sandbox.WriteProblem(w, http.StatusBadGateway, "API unreachable", err.Error())
		return
	case err != nil:
		sandbox.WriteProblem(w, http.StatusBadRequest, "Invalid verify request", err.Error())
		return
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		sandbox.WriteProblem(w, http.StatusInternalServerError, "Encoding failed", err.Error())
		return
	}
	sandbox.WriteJSON(w, http.StatusOK, append(data, '\n'))
}

// selfTLSClient calls the sandbox's own HTTPS listener. It skips
// certificate verification: it dials the very address the request arrived
// on, and the sandbox need not trust its own certificate (a local CA's, or
// --tls-cert's for a public name that the local address does not match).
var selfTLSClient = &http.Client{Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	IdleConnTimeout: 30 * time.Second, ForceAttemptHTTP2: true,
}}

// selfTarget points a run at the namespace's own reference API, reached
// through the request's host, with its credentials and clock. A settle wait
// on a frozen clock advances that clock.
func selfTarget(ns *sandbox.Namespace, r *http.Request, o *verify.Options) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
		if o.Client == nil {
			o.Client = selfTLSClient
		}
	}
	prefix := ""
	if ns.Name != "default" {
		prefix = "/ns/" + ns.Name
	}
	// the address the request arrived on: the Host header names the server
	// as the client saw it (a published Docker port, a proxy), which the
	// sandbox itself may not reach, and a client could point it anywhere
	host := r.Host
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && a != nil {
		host = a.String()
	}
	o.BaseURL = scheme + "://" + host + prefix + "/intarget"
	if st, ok := ns.State("intarget"); ok {
		a := st.(*state).cfg.Auth
		if o.AuthBasic == "" && o.AuthHeader == "" {
			switch a.Type {
			case "basic":
				o.AuthBasic = a.Username + ":" + a.Password
			case "header":
				o.AuthHeader = a.Header + ": " + a.Token
			}
		}
	}
	clk := ns.Clock()
	if o.Now.IsZero() {
		o.Now = clk.Now()
	}
	if clk.Frozen() {
		o.Wait = func(_ context.Context, d time.Duration) error {
			clk.Advance(d)
			return nil
		}
	}
}
