package sandbox_test

import (
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// A header value with a control character is refused by Go's HTTP server
// before any handler runs: a plain-text 400, not the provider's shape, and
// not journaled (docs/architecture.md, "Requests Go refuses first"). This
// pins what that section documents.
func TestControlCharacterInHeaderIsGosOwn400(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	for _, hdr := range []string{"X-Note: a\x01b", "X-Note: a\x7fb", "X-N\x01ote: ab"} {
		resp, body := h.Raw("GET /echo/items/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + hdr + "\r\n\r\n")
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || string(body) != "400 Bad Request" ||
			resp.Header.Get("X-Sandbox-Request-Id") != "" {
			t.Errorf("%q: %d %q %q", hdr, resp.StatusCode, resp.Header, body)
		}
	}
	var entries []any
	h.Admin("GET", "", "/requests", nil, &entries)
	if len(entries) != 0 {
		t.Errorf("journaled: %v", entries)
	}
}
