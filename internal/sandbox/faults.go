package sandbox

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/faults"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// HeaderFault names the fault rules that shaped a response.
const HeaderFault = "X-Sandbox-Fault"

// preferRule names the Prefer header in the journal's list of faults.
const preferRule = "prefer-header"

// applyFaults evaluates the namespace's fault rules (and the Prefer header)
// for a routed request and carries out what fired. It returns true when the
// request has been answered (or deliberately left unanswered) and the
// pipeline must stop.
func (s *Server) applyFaults(c *Call, rel string, set *faults.Set) bool {
	r := c.R
	d := set.Evaluate(&faults.Request{
		Provider: c.mount.provider.Name, Operation: c.Operation, Method: r.Method, Path: rel,
		RawQuery: r.URL.RawQuery, Namespace: c.NS.Name, Header: r.Header, Body: c.Body, Now: c.Now(),
	})
	if c.world.sink != nil && set.Len() > 0 {
		// Counters and generator moved: queued before anything the rule
		// does is seen (an answer is then held, a reset waits in Hijack),
		// so a crash cannot let a rule for once fire twice.
		c.world.saveFaults()
	}
	if pref := r.Header.Get("Prefer"); pref != "" && c.NS.Scenario().Common().PreferEnabled() {
		status, delay, ok, err := faults.ParsePrefer(pref)
		if err != nil {
			// No Fields: every provider then answers Message verbatim in its
			// own 400 shape (with Fields, some would reword it as a
			// parameter failure), so a bad Prefer reads the same everywhere.
			c.Fail(&Error{Kind: ErrInvalidRequest, Status: http.StatusBadRequest, Message: err.Error()})
			return true
		}
		if ok {
			d.Rules = append(d.Rules, preferRule)
			d.Delay += delay
			if status != 0 && d.Respond == nil && d.Throttle == nil && !d.Reset && !d.Hang {
				d.Respond = &faults.Respond{Status: status}
			}
		}
	}
	if !d.Fired() {
		return false
	}
	s.metrics.observeFaults(c.mount.provider.Name, &d)
	for _, id := range d.Rules {
		c.NoteFault(id)
	}
	c.W.Header().Set(HeaderFault, strings.Join(d.Rules, ", "))
	if d.Delay > 0 {
		t := time.NewTimer(d.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler) // the client gave up while we waited
		case <-s.stop:
			t.Stop()
		}
	}
	switch {
	case d.Reset:
		resetConnection(c)
		return true
	case d.Hang:
		// Accept and never answer: hold the request until the client gives
		// up or the sandbox stops, then drop the connection unanswered.
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		panic(http.ErrAbortHandler)
	case d.Throttle != nil:
		// The message is the plain reason phrase, as a real server would
		// give; the rule is named in X-Sandbox-Fault and the journal.
		c.Fail(&Error{Kind: ErrThrottled, Status: http.StatusTooManyRequests, RetryAfter: d.Throttle.RetryAfter,
			Message: http.StatusText(http.StatusTooManyRequests)})
		return true
	case d.Respond != nil:
		if d.Respond.Body != "" || d.Respond.Status < 400 {
			h := c.W.Header()
			for k, v := range d.Respond.Headers {
				h.Set(k, v)
			}
			if h.Get("Content-Type") == "" {
				h.Set("Content-Type", "application/json")
			}
			// A literal answer is the rule author's, not the provider's:
			// say so, so that spec checks can leave it alone.
			h.Set(HeaderFault, h.Get(HeaderFault)+"; literal")
			c.W.WriteHeader(d.Respond.Status)
			_, _ = c.W.Write([]byte(d.Respond.Body))
			return true
		}
		for k, v := range d.Respond.Headers {
			c.W.Header().Set(k, v)
		}
		c.Fail(&Error{Kind: ErrUnavailable, Status: d.Respond.Status, Message: http.StatusText(d.Respond.Status)})
		return true
	}
	if d.CutBody {
		c.W = &cutWriter{captureWriter: c.W.(*captureWriter)}
	}
	return false
}

// resetConnection closes the client's TCP connection with a RST.
func resetConnection(c *Call) {
	conn, _, err := http.NewResponseController(c.W).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with RST instead of FIN
	}
	_ = conn.Close()
}

// cutWriter lets the handler answer but sends only the headers and the first
// half of the body, then drops the connection. Content-Length announces the
// whole body, so the client sees a short read.
type cutWriter struct {
	*captureWriter
	status int
}

func (w *cutWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *cutWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(p)))
	w.captureWriter.WriteHeader(w.status)
	_, _ = w.captureWriter.Write(p[:len(p)/2])
	w.captureWriter.Flush()
	panic(http.ErrAbortHandler)
}

// Admin routes for fault rules.

func (s *Server) getFaults(a *adminCall) {
	a.json(http.StatusOK, a.ns.Faults().List())
}

func (s *Server) postFault(a *adminCall) {
	data, err := scenario.ReadAll(a.r.Body, 1<<20)
	if err != nil {
		writeProblem(a.w, http.StatusRequestEntityTooLarge, "Rule too large", err.Error(), nil)
		return
	}
	// Decoded by the scenario package, so that a mistake gets the field
	// path and hint a scenario file's faults: entry would get.
	var rule faults.Rule
	if probs := scenario.DecodeDocument("", data, &rule); len(probs) > 0 {
		writeProblem(a.w, http.StatusBadRequest, "Invalid fault rule",
			fmt.Sprintf("expected one rule as a JSON object with the keys of a scenario's faults: entry; the rule has %d problem(s): %s",
				len(probs), problemsText(probs)), probs)
		return
	}
	added, probs := a.ns.Faults().Add(rule, a.ns.Clock().Now())
	if len(probs) > 0 {
		for i := range probs {
			probs[i].File = ""
		}
		writeProblem(a.w, http.StatusBadRequest, "Invalid fault rule", fmt.Sprintf("the rule has %d problem(s)", len(probs)), probs)
		return
	}
	a.ns.publishFaults()
	a.json(http.StatusCreated, added)
}

func (s *Server) deleteFault(a *adminCall) {
	if !a.ns.Faults().Remove(a.vars["id"]) {
		writeProblem(a.w, http.StatusNotFound, "Not found", fmt.Sprintf("no fault rule %q in namespace %q", a.vars["id"], a.ns.Name), nil)
		return
	}
	a.ns.publishFaults()
	a.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteFaults(a *adminCall) {
	a.ns.Faults().Clear()
	a.ns.publishFaults()
	a.w.WriteHeader(http.StatusNoContent)
}
