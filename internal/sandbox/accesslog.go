package sandbox

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"time"
)

// Exchange is one finished request as Config.AccessLog receives it: every
// request the server answers, provider, admin, landing page and refusals
// alike, is reported exactly once, after its response has been written (or
// the connection dropped by a fault).
type Exchange struct {
	// Start is the real time the request arrived.
	Start  time.Time
	Method string
	// Path is the request path as the client sent it, /ns/... prefix included.
	Path string
	// Namespace is the namespace the path named (also when it was refused).
	Namespace string
	// Provider is the mount: a provider's name, "admin" for /__sandbox, or
	// "" for the landing page and paths that reach no mount.
	Provider string
	// Operation is the provider's operationId, or the admin route's path
	// template ("/requests/{id}"); empty when nothing matched.
	Operation string
	// Status is the status written; 0 when a fault reset or dropped the
	// connection before one was.
	Status    int
	Duration  time.Duration
	RequestID string
	// Faults names the fault rules (or "prefer") that affected the request;
	// never nil.
	Faults []string
}

// logAccess hands a provider exchange, just recorded in the journal, to the
// access log.
func (s *Server) logAccess(e *Exchange) {
	if e.Faults == nil {
		e.Faults = []string{}
	}
	s.cfg.AccessLog(*e)
}

// accessWriter notes the status of responses that do not pass through the
// provider pipeline (which keeps its own in captureWriter). It is only put
// in place when an access log is configured.
type accessWriter struct {
	http.ResponseWriter
	status    int
	operation string // admin route template, set by the admin router
}

func (w *accessWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *accessWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush keeps streaming answers streaming.
func (w *accessWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

// Hijack keeps connection faults working through the wrapper.
func (w *accessWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("connection cannot be hijacked")
}

// Unwrap serves http.ResponseController.
func (w *accessWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// noteAdminRoute tells the access log which admin route served a request.
func noteAdminRoute(w http.ResponseWriter, template string) {
	if aw, ok := w.(*accessWriter); ok {
		aw.operation = template
	}
}
