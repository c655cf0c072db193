package netfinity_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

func adminJSON(h *sandboxtest.Harness, method, path, body string) *sandboxtest.Response {
	return h.Do(method, path, sandboxtest.RawBody("application/json", []byte(body)))
}

// TestPatchTokenCallbackURLSendsNextPingbacksThere is the "send pingbacks to
// my app" recipe: a message sent before the change keeps its (empty)
// callback URL and stays in state; the next send's pingbacks reach the
// receiver; the journal is kept.
func TestPatchTokenCallbackURLSendsNextPingbacksThere(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	h := sandboxtest.New(t, testScenario("", ""))
	before := sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"before"}`)

	adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/tok", `{"callbackUrl":"`+rcv.url()+`"}`).
		WantStatus(200).
		WantJSON(`{"token":"tok","name":"main","allowedIps":[],"capabilities":["sms.notification"],"rateLimit":1000,"prefix":"","callbackUrl":"` + rcv.url() + `"}`)

	after := sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"after"}`)
	advance(t, h, "", time.Minute)
	waitCallbacks(t, h, "", settled(4))

	got := rcv.received()
	if len(got) != 4 {
		t.Fatalf("receiver got %d pingbacks, want the 4 of the message sent after the change", len(got))
	}
	for i, want := range []int{201, 202, 203, 204} {
		if got[i].Body.UUID != after || got[i].Body.Payload.Status.Code != want {
			t.Errorf("pingback %d = %s %d, want %s %d", i, got[i].Body.UUID, got[i].Body.Payload.Status.Code, after, want)
		}
	}
	st := getState(t, h, "")
	if len(st.Messages) != 2 || st.Messages[0].UUID != before || st.Messages[1].UUID != after {
		t.Fatalf("messages = %+v, want both kept", st.Messages)
	}
	if m := st.Messages[0]; joinInts(codes(m.History)) != "201,202,203,204" || len(m.Callbacks) != 0 {
		t.Errorf("message sent before the change: history %v, callbacks %v; want it delivered without pingbacks", codes(m.History), m.Callbacks)
	}
	var journal []map[string]any
	h.Admin("GET", "", "/requests?provider=netfinity", nil, &journal)
	if len(journal) != 2 {
		t.Errorf("journal has %d netfinity entries, want the 2 sends kept", len(journal))
	}
}

// TestAddTokenWorksAtOnce adds a token to a running namespace and uses it.
func TestAddTokenWorksAtOnce(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"kept"}`)
	h.Do("POST", sendPath, sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"x"}`), jsonHeaders("new-app")...).WantStatus(401)

	adminJSON(h, "POST", "/__sandbox/netfinity/tokens", `{"token":"new-app","name":"app","capabilities":["sms.notification"],"rateLimit":2,"prefix":"APP: "}`).
		WantStatus(201).
		WantJSON(`{"token":"new-app","name":"app","allowedIps":[],"capabilities":["sms.notification"],"rateLimit":2,"prefix":"APP: ","callbackUrl":""}`)
	id := sendOK(t, h, "", "new-app", `{"msisdn":"359881234567","text":"hello"}`)
	if m := message(t, h, "", id); m.SentText != "APP: hello" || m.Token != "app" {
		t.Errorf("sent %q by %q, want the new token's prefix and name", m.SentText, m.Token)
	}
	sendOK(t, h, "", "new-app", `{"msisdn":"359881234567","text":"two"}`)
	h.Do("POST", sendPath, sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"three"}`), jsonHeaders("new-app")...).WantStatus(429)
	// Raising the limit applies to the open window at once.
	adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/new-app", `{"rateLimit":3}`).WantStatus(200)
	sendOK(t, h, "", "new-app", `{"msisdn":"359881234567","text":"three"}`)

	if n := len(getState(t, h, "").Messages); n != 4 {
		t.Errorf("%d messages, want 4 (state kept)", n)
	}
	// Only this namespace changed; a reset goes back to the scenario.
	h.Do("POST", "/ns/other"+sendPath, sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"x"}`), jsonHeaders("new-app")...).WantStatus(401)
	h.Admin("POST", "", "/reset", nil, nil)
	h.Do("POST", sendPath, sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"x"}`), jsonHeaders("new-app")...).WantStatus(401)
}

// TestLiveTokenChangesRefused checks the refusals: the scenario file's rules
// with field paths and hints, duplicates, unknown tokens; nothing changes.
func TestLiveTokenChangesRefused(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"every problem of a new token", "POST", "/__sandbox/netfinity/tokens",
			`{"token":"x","allowedIps":["10.0.0.0/8","1.2.3.400"],"capabilities":["sms.notifcation"],"callbackUrl":"ftp://h/p","rateLimit":-1}`, 400,
			`{"type":"about:blank","title":"Invalid token","status":400,"detail":"the token has 4 problem(s); nothing was changed","problems":[` +
				`{"path":"allowedIps[1]","message":"\"1.2.3.400\" is not an IP address","hint":"use an IP such as 203.0.113.7 or a CIDR such as 10.0.0.0/8"},` +
				`{"path":"capabilities[0]","message":"unknown capability \"sms.notifcation\"","hint":"did you mean \"sms.notification\"?"},` +
				`{"path":"rateLimit","message":"rateLimit must not be negative, got -1","hint":"use 0 for the default of 60"},` +
				`{"path":"callbackUrl","message":"callbackUrl \"ftp://h/p\" is not an HTTP URL","hint":"use an http:// or https:// URL, or leave it empty for no callbacks"}]}`},
		{"unknown field and wrong type", "POST", "/__sandbox/netfinity/tokens",
			"{\n\"token\": \"x\",\n\"callbackURL\": \"http://h/p\",\n\"rateLimit\": \"many\"\n}", 400,
			`{"type":"about:blank","title":"Invalid token","status":400,"detail":"the token has 2 problem(s); nothing was changed","problems":[` +
				`{"file":"request body","line":3,"path":"callbackURL","message":"unknown key \"callbackURL\"","hint":"did you mean \"callbackUrl\"?"},` +
				`{"file":"request body","line":4,"path":"rateLimit","message":"\"many\" is a string, expected a whole number","hint":"write the number without quotes, e.g. 100"}]}`},
		{"empty token", "POST", "/__sandbox/netfinity/tokens", `{"name":"nameless"}`, 400,
			`{"type":"about:blank","title":"Invalid token","status":400,"detail":"the token has 1 problem(s); nothing was changed","problems":[` +
				`{"path":"token","message":"token is empty","hint":"give the bearer token's text"}]}`},
		{"duplicate", "POST", "/__sandbox/netfinity/tokens", `{"token":"tok2"}`, 409,
			`{"type":"about:blank","title":"Token exists","status":409,"detail":"token \"tok2\" already exists; change it with PATCH /__sandbox/netfinity/tokens/{token}"}`},
		{"unknown token", "PATCH", "/__sandbox/netfinity/tokens/tok3", `{"rateLimit":5}`, 404,
			`{"type":"about:blank","title":"Unknown token","status":404,"detail":"no token \"tok3\" in namespace \"default\" (did you mean \"tok\"?)"}`},
		{"renaming", "PATCH", "/__sandbox/netfinity/tokens/tok", `{"token":"renamed"}`, 400,
			`{"type":"about:blank","title":"Invalid token","status":400,"detail":"the token has 1 problem(s); nothing was changed","problems":[` +
				`{"path":"token","message":"the token text cannot change (\"tok\" to \"renamed\")","hint":"POST /__sandbox/netfinity/tokens adds a token under a new text"}]}`},
		{"bad change", "PATCH", "/__sandbox/netfinity/tokens/tok", `{"callbackUrl":"not a url","capabilitys":[]}`, 400,
			`{"type":"about:blank","title":"Invalid token","status":400,"detail":"the token has 1 problem(s); nothing was changed","problems":[` +
				`{"file":"request body","line":1,"path":"capabilitys","message":"unknown key \"capabilitys\"","hint":"did you mean \"capabilities\"?"}]}`},
		{"bad URL", "PATCH", "/__sandbox/netfinity/tokens/tok", `{"callbackUrl":"not a url"}`, 400,
			`{"type":"about:blank","title":"Invalid token","status":400,"detail":"the token has 1 problem(s); nothing was changed","problems":[` +
				`{"path":"callbackUrl","message":"callbackUrl \"not a url\" is not an HTTP URL","hint":"use an http:// or https:// URL, or leave it empty for no callbacks"}]}`},
		{"not an object", "PATCH", "/__sandbox/netfinity/tokens/tok", `["callbackUrl"]`, 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"a token merge patch is a JSON object such as {\"callbackUrl\":\"http://127.0.0.1:9000/pingback\"}, not an array; nothing was changed"}`},
		{"not JSON", "PATCH", "/__sandbox/netfinity/tokens/tok", `{"callbackUrl":`, 400,
			`{"type":"about:blank","title":"Invalid merge patch","status":400,"detail":"the body is not JSON: unexpected EOF; nothing was changed"}`},
		{"a fraction for a rate limit", "PATCH", "/__sandbox/netfinity/tokens/tok", `{"rateLimit":2.5}`, 400,
			`{"type":"about:blank","title":"Invalid token","status":400,"detail":"the token has 1 problem(s); nothing was changed","problems":[` +
				`{"file":"request body","line":1,"path":"rateLimit","message":"\"2.5\" is not a whole number","hint":"this field counts whole units; use 2 or 3"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := adminJSON(h.With(t), c.method, c.path, c.body).WantStatus(c.status)
			if !res.Matched {
				t.Error("the answer was not checked against specs/admin.yaml")
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			res.WantJSON(c.want)
		})
	}
	// Nothing changed: "x" was never added and tok is as configured.
	h.Do("POST", sendPath, sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"x"}`), jsonHeaders("x")...).WantStatus(401)
	id := sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"still"}`)
	if m := message(t, h, "", id); m.Token != "main" {
		t.Errorf("tok is now %q", m.Token)
	}
	// A merge patch's null resets a field to its zero value.
	adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/pfx", `{"prefix":null}`).WantStatus(200).
		WantJSON(`{"token":"pfx","name":"pfx","allowedIps":[],"capabilities":["sms.notification"],"rateLimit":0,"prefix":"","callbackUrl":""}`)
}

// TestLiveTokenBodiesAreReadLikePatchScenario: the token endpoints take the
// media types PATCH /__sandbox/scenario takes (a merge patch as JSON or a
// YAML fragment; a new token as JSON or YAML), refuse any other with the
// same 415 sentence, and a body the server accepts, nulls included, is one
// specs/admin.yaml accepts.
func TestLiveTokenBodiesAreReadLikePatchScenario(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	const patchPath = "/__sandbox/netfinity/tokens/tok"
	patch415 := func(ct string) string {
		return `{"type":"about:blank","title":"Unsupported merge patch type","status":415,"detail":"Content-Type \"` + ct +
			`\" is not a merge patch; send application/merge-patch+json (RFC 7396) or a YAML fragment as application/merge-patch+yaml"}`
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		res := h.Do("PATCH", patchPath, sandboxtest.RawBody(ct, []byte(`{"name":"x"}`))).WantStatus(415)
		if !res.Matched {
			t.Error("the answer was not checked against specs/admin.yaml")
		}
		res.WantJSON(patch415(ct))
		// PATCH /__sandbox/scenario answers the same sentence.
		h.Do("PATCH", "/__sandbox/scenario", sandboxtest.RawBody(ct, []byte(`{"name":"x"}`))).WantStatus(415).WantJSON(patch415(ct))
		h.Do("POST", "/__sandbox/netfinity/tokens", sandboxtest.RawBody(ct, []byte(`{"token":"new"}`))).WantStatus(415).
			WantJSON(`{"type":"about:blank","title":"Unsupported body type","status":415,"detail":"Content-Type \"` + ct +
				`\" is not JSON or YAML; send application/json or a YAML document as application/yaml"}`)
	}

	send := func(method, path, ct, body string) *sandboxtest.Response {
		t.Helper()
		req, err := http.NewRequest(method, h.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		if strings.HasSuffix(ct, "json") {
			check := req.Clone(req.Context())
			check.Body = io.NopCloser(strings.NewReader(body))
			if err := h.Server.CheckRequest(check); err != nil {
				t.Errorf("specs/admin.yaml refuses a body the server accepts: %v", err)
			}
		}
		return h.Send(req)
	}
	send("PATCH", patchPath, "application/merge-patch+json", `{"callbackUrl":"http://127.0.0.1:1/p","prefix":"P: "}`).WantStatus(200)
	send("PATCH", patchPath, "application/merge-patch+json", `{"callbackUrl":null,"rateLimit":null,"allowedIps":null}`).WantStatus(200).
		WantJSON(`{"token":"tok","name":"main","allowedIps":[],"capabilities":["sms.notification"],"rateLimit":0,"prefix":"P: ","callbackUrl":""}`)
	send("PATCH", patchPath, "application/merge-patch+yaml", "prefix: null\nrateLimit: 7\n").WantStatus(200).
		WantJSON(`{"token":"tok","name":"main","allowedIps":[],"capabilities":["sms.notification"],"rateLimit":7,"prefix":"","callbackUrl":""}`)
	send("POST", "/__sandbox/netfinity/tokens", "application/yaml", "token: from-yaml\ncapabilities: [sms.notification]\n").WantStatus(201)
	send("POST", "/__sandbox/netfinity/tokens", "application/json", `{"token":"from-json","allowedIps":null}`).WantStatus(201)
}

// TestTokenChangesDuringSends changes a token while sends use it (run under
// -race): every send is answered 200 and recorded, and the last change wins.
func TestTokenChangesDuringSends(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	const senders, sends, changes = 4, 15, 20
	done := make(chan int, senders)
	for g := 0; g < senders; g++ {
		go func(g int) {
			ok := 0
			for i := 0; i < sends; i++ {
				res := h.Do("POST", sendPath, sandboxtest.JSONBody(fmt.Sprintf(`{"msisdn":"359881234567","text":"g%d-%d"}`, g, i)), jsonHeaders("tok")...)
				if res.Status == 200 {
					ok++
				}
			}
			done <- ok
		}(g)
	}
	for i := 0; i < changes; i++ {
		adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/tok", fmt.Sprintf(`{"prefix":"P%d ","rateLimit":%d}`, i, 1000+i)).WantStatus(200)
	}
	total := 0
	for g := 0; g < senders; g++ {
		total += <-done
	}
	if total != senders*sends {
		t.Errorf("%d of %d sends answered 200", total, senders*sends)
	}
	if n := len(getState(t, h, "").Messages); n != senders*sends {
		t.Errorf("%d messages recorded, want %d", n, senders*sends)
	}
	id := sendOK(t, h, "", "tok", `{"msisdn":"359881234567","text":"last"}`)
	if m := message(t, h, "", id); m.SentText != "P19 last" {
		t.Errorf("sent %q, want the last change's prefix", m.SentText)
	}
}

// TestConcurrentTokenChangesBothCount sends two changes of different fields
// of one token at once, many times: each merges into what the other
// published, so both fields are changed every time (none is undone by a
// change that started from the older token).
func TestConcurrentTokenChangesBothCount(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	const rounds = 40
	for i := 0; i < rounds; i++ {
		adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/tok", `{"prefix":"","rateLimit":1000}`).WantStatus(200)
		start := make(chan struct{})
		done := make(chan int, 2)
		for _, body := range []string{fmt.Sprintf(`{"prefix":"R%d "}`, i), fmt.Sprintf(`{"rateLimit":%d}`, 2000+i)} {
			go func(body string) {
				<-start
				done <- adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/tok", body).Status
			}(body)
		}
		close(start)
		if a, b := <-done, <-done; a != 200 || b != 200 {
			t.Fatalf("round %d: changes answered %d and %d", i, a, b)
		}
		var got struct {
			Prefix    string `json:"prefix"`
			RateLimit int    `json:"rateLimit"`
		}
		adminJSON(h, "PATCH", "/__sandbox/netfinity/tokens/tok", `{}`).WantStatus(200).JSON(&got)
		if got.Prefix != fmt.Sprintf("R%d ", i) || got.RateLimit != 2000+i {
			t.Fatalf("round %d: token has prefix %q and rateLimit %d, want both changes", i, got.Prefix, got.RateLimit)
		}
	}
}
