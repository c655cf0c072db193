package netfinity_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

func TestScenarioProblemsAreReported(t *testing.T) {
	t.Parallel()
	bad := `version: 1
name: bad
netfinity:
  tokens:
    - {token: a, allowedIps: [999.1.1.1], rateLimit: -1, callbackUrl: "ftp://x", prefix: "Ж"}
    - {token: a}
  trustedProxies: [not-an-ip]
  countryCode: "+359"
  floodWindow: soon
  paths:
    odd: [{code: 299, after: 1s}]
  rules:
    - {path: nowhere}
  defaultPath: missing
`
	_, probs := sandbox.LoadScenario("bad.yaml", []byte(bad))
	text := probs.Error()
	for _, want := range []string{"floodWindow", "soon"} {
		if !strings.Contains(text, want) {
			t.Errorf("problems do not mention %q:\n%s", want, text)
		}
	}
	// With the duration fixed, every semantic problem is listed at once.
	_, probs = sandbox.LoadScenario("bad.yaml", []byte(strings.Replace(bad, "soon", "10m", 1)))
	text = probs.Error()
	for _, want := range []string{
		`"999.1.1.1" is not an IP address`, "rateLimit must not be negative", `callbackUrl "ftp://x" is not an HTTP URL`,
		"outside GSM 03.38", `token "a" is listed twice`, `"not-an-ip" is not an IP address`, `countryCode "+359" must be digits`,
		"unknown status code 299", "rule needs msisdn or prefix", `no path named "nowhere"`, `no path named "missing"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("problems do not mention %q:\n%s", want, text)
		}
	}
}

func TestBodyTooLargeIsLaravel413(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, testScenario("", ""))
	body := `{"msisdn":"359881234567","text":"` + strings.Repeat("a", 70*1024) + `"}`
	res := h.Do("POST", sendPath, sandboxtest.JSONBody(body), jsonHeaders("tok")...).WantStatus(413)
	if string(res.Body) != pretty("") {
		t.Errorf("body %q", res.Body)
	}
}

func TestDefaultScenarioAndScenarioView(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	valid := sandboxtest.JSONBody(`{"msisdn":"0881234567","text":"hi"}`)
	h.Do("POST", sendPath, valid, jsonHeaders("sandbox-netfinity-token")...).WantStatus(200)
	h.Do("POST", sendPath, valid, jsonHeaders("sandbox-netfinity-foreign-ip")...).WantStatus(403)
	h.Do("POST", sendPath, valid, jsonHeaders("sandbox-netfinity-no-sms")...).WantStatus(403)
	var sc map[string]any
	h.Admin("GET", "", "/scenario", nil, &sc)
	nf, _ := sc["netfinity"].(map[string]any)
	if nf == nil {
		t.Fatalf("scenario view has no netfinity section: %v", sc)
	}
	cb, _ := nf["callback"].(map[string]any)
	if cb["timeout"] != "30s" || cb["retryDelay"] != "3s" || nf["floodWindow"] != "10m0s" {
		t.Errorf("durations in the scenario view: %v, floodWindow %v", cb, nf["floodWindow"])
	}
}

// The section in scenarios/default.yaml and the built-in defaults (used when
// a scenario leaves the section out) must not drift apart.
func TestDefaultScenarioMatchesBuiltInDefaults(t *testing.T) {
	t.Parallel()
	section := func(h *sandboxtest.Harness) string {
		var sc map[string]any
		h.Admin("GET", "", "/scenario", nil, &sc)
		b, _ := json.Marshal(sc["netfinity"])
		return string(b)
	}
	fromFile := section(sandboxtest.New(t, ""))
	builtIn := section(sandboxtest.New(t, "version: 1\nname: bare\n"))
	if fromFile == "" || fromFile != builtIn {
		t.Errorf("scenarios/default.yaml netfinity section differs from defaultConfig():\nfile:     %s\nbuilt-in: %s", fromFile, builtIn)
	}
}

func TestBannerListsTheDemoTokens(t *testing.T) {
	t.Parallel()
	p, ok := sandbox.Lookup("netfinity")
	if !ok || p.Banner == nil {
		t.Fatal("netfinity is not registered with a banner")
	}
	got := strings.Join(p.Banner(p.NewConfig(), "http://127.0.0.1:8080/netfinity"), "\n")
	for _, want := range []string{
		"POST http://127.0.0.1:8080/netfinity/v2/sms/notification/send",
		"Bearer sandbox-netfinity-token (any IP; sms.notification; no callbacks)",
		"Bearer sandbox-netfinity-foreign-ip (IPs 203.0.113.7; sms.notification; no callbacks)",
		"Bearer sandbox-netfinity-no-sms (any IP; no capability; no callbacks)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("banner lacks %q:\n%s", want, got)
		}
	}
}
