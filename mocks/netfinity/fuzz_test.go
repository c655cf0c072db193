package netfinity_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// FuzzSendRequest throws arbitrary headers and bodies at the endpoint: every
// answer must be one of Netfinity's documented statuses in Laravel's shape
// (the harness checks each against the spec), never a 500.
func FuzzSendRequest(f *testing.F) {
	h := sandboxtest.New(f, unlimitedScenario)
	f.Add("application/json", "application/json", "Bearer tok", []byte(`{"msisdn":"359881234567","text":"hi","id":"1"}`))
	f.Add("application/json", "application/json", "Bearer ", []byte(`{}`))
	f.Add("*/*", "text/plain", "Bearer tok", []byte(`x`))
	f.Add("application/json", "application/json; charset=\"", "Bearer tok", []byte(`[]`))
	f.Add("application/json", "application/json", "Bearer tok", []byte(`{"msisdn":{"a":1},"text":[1],"id":{}}`))
	f.Add("application/json", "application/json", "Bearer tok", []byte("{\"msisdn\":\"0881234567\",\"text\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, accept, contentType, auth string, body []byte) {
		req, err := http.NewRequest("POST", h.URL+sendPath, nil)
		if err != nil {
			t.Skip()
		}
		for k, v := range map[string]string{"Accept": accept, "Content-Type": contentType, "Authorization": auth} {
			if v != "" {
				req.Header[k] = []string{v}
			}
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		if !validHeaderValues(req.Header) {
			t.Skip()
		}
		res := h.With(t).Send(req) // report through this fuzz input's t
		switch res.Status {
		case 200, 401, 403, 406, 413, 422:
		default:
			t.Fatalf("status %d for %q %q %q %q: %s", res.Status, accept, contentType, auth, body, res.Body)
		}
	})
}
