package all_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// A request without a Host header (HTTP/1.0 allows it) is handed URLs
// built from the address it arrived on, not "http:///...".
func TestURLsForARequestWithoutHost(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	get := func(path string) map[string]any {
		t.Helper()
		resp, body := h.Raw("GET " + path + " HTTP/1.0\r\n\r\n")
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return doc
	}
	if got := get("/centili/realms/api/.well-known/openid-configuration")["issuer"]; got != h.URL+"/centili/realms/api" {
		t.Errorf("Centili issuer %v, want %s/centili/realms/api", got, h.URL)
	}
	// Without an authorization_endpoint to describe, instance discovery
	// names the host the request came to.
	netrefer := get("/netrefer/login/common/discovery/instance?api-version=1.1")
	if md, _ := netrefer["metadata"].([]any); len(md) != 1 || md[0].(map[string]any)["preferred_network"] != strings.TrimPrefix(h.URL, "http://") {
		t.Errorf("NetRefer instance discovery metadata %v, want preferred_network %s", netrefer["metadata"], h.URL)
	}
}
