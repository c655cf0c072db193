package sandboxtest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// checkingTransport is HTTPClient's transport: it sends the request, reads
// the answer in full, checks it against the OpenAPI documents and hands it
// on with its body intact.
type checkingTransport struct {
	sb   *Sandbox
	next http.RoundTripper
}

func (c *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rel, ours := c.sb.sandboxPath(req.URL)
	if !ours {
		return c.next.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		data, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = data
		sent := req.Clone(req.Context())
		sent.Body = io.NopCloser(bytes.NewReader(data))
		sent.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		req = sent
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	check := req.Clone(req.Context())
	u := *req.URL
	u.Path, u.RawPath = rel, ""
	check.URL = &u
	if isEventStream(resp.Header) {
		// A stream never ends on its own: its headers are checked, and its
		// body goes to the caller unread.
		c.report(checkResponse(check, reqBody, resp, nil))
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.report(checkResponse(check, reqBody, resp, body))
	return resp, nil
}

func (c *checkingTransport) report(_ bool, err error) {
	if err != nil && !c.sb.done.Load() {
		c.sb.t.Errorf("sandboxtest: %v", err)
	}
}

// sandboxPath reports whether u points at this test's sandbox, and the
// path as the sandbox itself sees it (SANDBOX_URL may carry a path prefix
// of a proxy in front).
func (sb *Sandbox) sandboxPath(u *url.URL) (string, bool) {
	root, err := url.Parse(sb.root)
	if err != nil || !strings.EqualFold(u.Host, root.Host) || u.Scheme != root.Scheme {
		return "", false
	}
	rel, ok := strings.CutPrefix(u.Path, root.Path)
	if !ok || (rel != "" && !strings.HasPrefix(rel, "/")) {
		return "", false
	}
	if rel == "" {
		rel = "/"
	}
	return rel, true
}

func isEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// checkResponse holds one answer of the sandbox to its promises: every
// answer carries X-Sandbox-Request-Id, and an answer of a documented
// operation matches its OpenAPI document. A fault rule's literal answer
// (respond with a body) is what the rule says, not the provider's, and is
// not checked against the document. req.URL.Path is the sandbox's own path.
func checkResponse(req *http.Request, reqBody []byte, resp *http.Response, body []byte) (matched bool, err error) {
	if resp.Header.Get(sandbox.HeaderRequestID) == "" {
		return false, fmt.Errorf("%s %s: response has no %s header", req.Method, req.URL.Path, sandbox.HeaderRequestID)
	}
	if strings.HasSuffix(resp.Header.Get(sandbox.HeaderFault), "; literal") {
		return false, nil
	}
	if reqBody != nil {
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	matched, err = sandbox.CheckResponse(req, resp.StatusCode, resp.Header, body)
	if err != nil {
		return matched, fmt.Errorf("response does not match the spec: %v\nbody: %s", err, truncate(body))
	}
	return matched, nil
}

// truncate shortens a body for a failure message.
func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
