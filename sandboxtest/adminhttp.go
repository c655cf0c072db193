package sandboxtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// admin calls the admin API of the test's namespace (path below
// /__sandbox) through the checking client, fails the test unless the
// status is one of want, and decodes a JSON answer into out (when not nil).
// A body that is []byte is sent as is with its content type; anything else
// is sent as JSON.
func (sb *Sandbox) admin(method, path string, body any, out any, want ...int) int {
	sb.t.Helper()
	return sb.adminAt(sb.base+"/__sandbox"+path, method, body, out, want...)
}

// rootAdmin calls the admin API outside any namespace (namespace deletion).
func (sb *Sandbox) rootAdmin(method, path string, out any, want ...int) int {
	sb.t.Helper()
	return sb.adminAt(sb.root+"/__sandbox"+path, method, nil, out, want...)
}

// rawBody is a request body sent with its own content type.
type rawBody struct {
	contentType string
	data        []byte
}

func (sb *Sandbox) adminAt(url, method string, body any, out any, want ...int) int {
	sb.t.Helper()
	code, data := sb.send(url, method, body)
	if !slices.Contains(want, code) {
		sb.t.Fatalf("sandboxtest: %s %s: status %d, want %v: %s", method, url, code, want, problemText(data))
	}
	if out != nil && code < 300 && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			sb.t.Fatalf("sandboxtest: %s %s: decoding %s: %v", method, url, truncate(data), err)
		}
	}
	return code
}

// send makes one request through the checking client and returns the
// status and body; only a failure to talk to the sandbox fails the test.
func (sb *Sandbox) send(url, method string, body any) (int, []byte) {
	sb.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case rawBody:
		rd, contentType = bytes.NewReader(b.data), b.contentType
	default:
		data, err := json.Marshal(b)
		if err != nil {
			sb.t.Fatalf("sandboxtest: encoding %s %s: %v", method, url, err)
		}
		rd, contentType = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		sb.t.Fatalf("sandboxtest: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := sb.client.Do(req)
	if err != nil {
		sb.t.Fatalf("sandboxtest: %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		sb.t.Fatalf("sandboxtest: %s %s: reading the answer: %v", method, url, err)
	}
	return resp.StatusCode, data
}

// problemText words an RFC 7807 answer as "title: detail" with each
// problem on its own line, or the body as it is when it is not one.
func problemText(body []byte) string {
	var p struct {
		Title    string `json:"title"`
		Detail   string `json:"detail"`
		Problems []struct {
			Line    int    `json:"line"`
			Path    string `json:"path"`
			Message string `json:"message"`
			Hint    string `json:"hint"`
		} `json:"problems"`
	}
	if json.Unmarshal(body, &p) != nil || p.Title == "" {
		return truncate(body)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %s", p.Title, p.Detail)
	for _, q := range p.Problems {
		b.WriteString("\n  ")
		if q.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", q.Line)
		}
		if q.Path != "" {
			fmt.Fprintf(&b, "%s: ", q.Path)
		}
		b.WriteString(q.Message)
		if q.Hint != "" {
			fmt.Fprintf(&b, " (hint: %s)", q.Hint)
		}
	}
	return b.String()
}
