package centili_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// The provider's defaults are the default scenario's section, so that a
// scenario without `centili:` gets the documented demo world.
func TestDefaultsAreTheDefaultScenario(t *testing.T) {
	t.Parallel()
	def, probs := sandbox.LoadScenario("default.yaml", scenarios.Default())
	if len(probs) > 0 {
		t.Fatalf("default scenario: %v", probs)
	}
	bare, probs := sandbox.LoadScenario("bare", []byte(frozenScenario))
	if len(probs) > 0 {
		t.Fatalf("bare scenario: %v", probs)
	}
	a, _ := json.Marshal(def.Configs["centili"])
	b, _ := json.Marshal(bare.Configs["centili"])
	if string(a) != string(b) {
		t.Errorf("defaults differ from the default scenario's centili section\ndefault.yaml: %s\ndefaults:     %s", a, b)
	}
	// The magic msisdns listed in the file's comments are the configured ones.
	src := string(scenarios.Default())
	var cfg struct {
		MagicMsisdns []struct {
			Msisdn    string `json:"msisdn"`
			ErrorType string `json:"errorType"`
		} `json:"magicMsisdns"`
	}
	_ = json.Unmarshal(a, &cfg)
	for _, m := range cfg.MagicMsisdns {
		documented := false
		for _, line := range strings.Split(src, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") && strings.Contains(line, m.Msisdn) && strings.Contains(line, m.ErrorType) {
				documented = true
			}
		}
		if !documented {
			t.Errorf("magic msisdn %s (%s) is not listed in the default scenario's comments", m.Msisdn, m.ErrorType)
		}
	}
}

// A broken centili section is refused with every problem located by path.
func TestScenarioValidation(t *testing.T) {
	t.Parallel()
	doc := frozenScenario + `centili:
  realm: ""
  accessTokenLifespan: 0
  refreshTokenMaxReuse: -1
  clients:
    - clientId: a
    - clientId: a
      publicClient: true
  users:
    - username: u
      merchantId: 0
  operators:
    - {prefix: "+33", operator: FR_ORANGE}
    - {prefix: "43", operator: orange}
  services:
    - serviceKey: not-a-key
      merchantId: 1
      timeCreated: yesterday
      packages:
        - {operator: FR_ORANGE, amounts: [0]}
      pools:
        - {operator: FR_ORANGE, totalAmount: 100, assignedAmount: 200, expirationDate: "2030-12-31"}
  magicMsisdns:
    - {msisdn: "123", errorType: FORBIDDEN}
    - {msisdn: "4900000001", errorType: POOL_EXPIRED}
    - {msisdn: "4900000002", errorType: UNSUPPORTED_OPERATOR}
`
	_, probs := sandbox.LoadScenario("bad.yaml", []byte(doc))
	var paths []string
	for _, p := range probs {
		paths = append(paths, p.Path)
		if p.Line == 0 || p.Message == "" {
			t.Errorf("problem without line or message: %+v", p)
		}
	}
	sort.Strings(paths)
	want := []string{
		"centili.accessTokenLifespan",
		"centili.clients[0].secret",
		"centili.clients[1].clientId",
		"centili.magicMsisdns[0].errorType",
		"centili.magicMsisdns[0].msisdn",
		"centili.magicMsisdns[1].msisdn",
		"centili.operators[0].prefix",
		"centili.operators[1].operator",
		"centili.realm",
		"centili.refreshTokenMaxReuse",
		"centili.services[0].pools[0].assignedAmount",
		"centili.services[0].pools[0].expirationDate",
		"centili.services[0].packages[0].amounts[0]",
		"centili.services[0].serviceKey",
		"centili.services[0].timeCreated",
		"centili.users[0].merchantId",
	}
	sort.Strings(want)
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("problem paths:\n%s\nwant:\n%s\n(problems: %v)", strings.Join(paths, "\n"), strings.Join(want, "\n"), probs)
	}
	// A typo in a key is caught by the strict decoder.
	_, probs = sandbox.LoadScenario("typo.yaml", []byte(frozenScenario+"centili:\n  accessTokenLifeSpan: 60\n"))
	if len(probs) != 1 || !strings.Contains(probs[0].String(), "accessTokenLifeSpan") {
		t.Errorf("typo: %v", probs)
	}
}

// TestOperatorsOverrideKeepsDefaultsValid: a section that writes only
// `operators` gets the default magic msisdns and services fitted to it (the
// ones naming operators it no longer has are left out) instead of
// validation errors about entries the user never wrote; entries the user
// does write are still checked.
func TestOperatorsOverrideKeepsDefaultsValid(t *testing.T) {
	t.Parallel()
	type section struct {
		Services []struct {
			Packages []struct {
				Operator string `json:"operator"`
			} `json:"packages"`
			Pools []struct {
				Operator string `json:"operator"`
			} `json:"pools"`
		} `json:"services"`
		MagicMsisdns []struct {
			Msisdn string `json:"msisdn"`
		} `json:"magicMsisdns"`
	}
	tests := []struct {
		name, operators string
		magic           string // the magic msisdns kept, in order
		operatorsUsed   string // the operators of the first service's packages and pools
	}{
		{"a country of its own", `[{prefix: "49", operator: DE_TELEKOM}]`,
			"33600000001 4366000001", ""},
		{"one of the default operators", `[{prefix: "33", operator: FR_ORANGE}]`,
			"33600000001 33600000002 33600000003 33600000004 33600000005 4366000001", "FR_ORANGE FR_ORANGE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, probs := sandbox.LoadScenario("ops.yaml", []byte(frozenScenario+"centili:\n  operators: "+tc.operators+"\n"))
			if len(probs) > 0 {
				t.Fatalf("refused for defaults the scenario never wrote:\n%v", probs)
			}
			b, _ := json.Marshal(sc.Configs["centili"])
			var got section
			_ = json.Unmarshal(b, &got)
			var magic, used []string
			for _, m := range got.MagicMsisdns {
				magic = append(magic, m.Msisdn)
			}
			for _, p := range got.Services[0].Packages {
				used = append(used, p.Operator)
			}
			for _, p := range got.Services[0].Pools {
				used = append(used, p.Operator)
			}
			if strings.Join(magic, " ") != tc.magic {
				t.Errorf("magic msisdns %v, want %s", magic, tc.magic)
			}
			if strings.Join(used, " ") != tc.operatorsUsed {
				t.Errorf("first service's packages and pools on %v, want %s", used, tc.operatorsUsed)
			}
		})
	}
	// What the section writes is checked as written.
	_, probs := sandbox.LoadScenario("ops.yaml", []byte(frozenScenario+`centili:
  operators: [{prefix: "49", operator: DE_TELEKOM}]
  magicMsisdns: [{msisdn: "33600000003", errorType: INSUFFICIENT_BALANCE}]
`))
	if len(probs) != 1 || probs[0].Path != "centili.magicMsisdns[0].msisdn" {
		t.Errorf("a written magic msisdn without a prefix: %v, want one problem at centili.magicMsisdns[0].msisdn", probs)
	}
}

// GET /__sandbox/state/centili shows balances, transactions and sessions,
// per namespace; a reset restores the scenario's pools.
func TestStateEndpoint(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, frozenScenario)
	tok := sandboxtest.Bearer(login(t, h, "/ns/s1/centili", merchantUser).AccessToken)
	h.Do("POST", "/ns/s1/centili"+txPath, txBody(serviceKey, "33612345678", "x", 1000), tok).WantStatus(200)
	st := state(t, h, "s1")
	if st.Now != "2026-03-01 10:00:00" || len(st.Transactions) != 1 || len(st.Sessions) != 1 || st.Sessions[0].ClientID != publicClient {
		t.Errorf("state = %+v", st)
	}
	if p := poolOf(t, st, serviceKey, "FR_ORANGE"); p.AssignedAmount != 1000 || p.Balance != 99000 || p.Expired {
		t.Errorf("pool = %+v", p)
	}
	if other := state(t, h, "s2"); len(other.Transactions) != 0 || poolOf(t, other, serviceKey, "FR_ORANGE").AssignedAmount != 0 {
		t.Errorf("namespace s2 sees s1's state: %+v", other)
	}
	if st := h.Admin("POST", "s1", "/reset", nil, nil); st != 200 && st != 204 {
		t.Fatalf("reset: %d", st)
	}
	if after := state(t, h, "s1"); len(after.Transactions) != 0 || len(after.Sessions) != 0 || poolOf(t, after, serviceKey, "FR_ORANGE").AssignedAmount != 0 {
		t.Errorf("after reset: %+v", after)
	}
}

// The introspection audience check is a boolean and a client's audience
// names clients of the realm, once each; each problem is located.
func TestAudienceSettingsValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, section string
		path, message string
		hint          string
	}{
		{"check not a boolean", "  introspectionAudienceCheck: sometimes\n", "centili.introspectionAudienceCheck", "", ""},
		{"unknown audience", "  clients:\n    - {clientId: app, publicClient: true, audience: [resource-servr]}\n    - {clientId: resource-server, secret: s}\n",
			"centili.clients[0].audience[0]", `audience "resource-servr" is not a client of the realm`, `did you mean "resource-server"?`},
		{"audience twice", "  clients:\n    - {clientId: app, publicClient: true, audience: [rs, rs]}\n    - {clientId: rs, secret: s}\n",
			"centili.clients[0].audience[1]", `audience "rs" is listed twice`, "name each client once"},
		{"empty audience", "  clients:\n    - {clientId: app, publicClient: true, audience: [\"\"]}\n",
			"centili.clients[0].audience[0]", `audience "" is not a client of the realm`, "use one of: app"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := sandbox.LoadScenario("aud.yaml", []byte(frozenScenario+"centili:\n"+tc.section))
			if len(probs) != 1 || probs[0].Path != tc.path || probs[0].Line == 0 {
				t.Fatalf("problems = %v, want one located at %s", probs, tc.path)
			}
			if tc.message != "" && (probs[0].Message != tc.message || probs[0].Hint != tc.hint) {
				t.Errorf("problem = %q (hint %q), want %q (hint %q)", probs[0].Message, probs[0].Hint, tc.message, tc.hint)
			}
		})
	}
	// Both settings load when valid, and the check defaults to off.
	sc, probs := sandbox.LoadScenario("aud.yaml", []byte(fmt.Sprintf(audienceScenarioForValidation, "true")))
	if len(probs) > 0 {
		t.Fatalf("valid audience settings refused: %v", probs)
	}
	b, _ := json.Marshal(sc.Configs["centili"])
	if !strings.Contains(string(b), `"introspectionAudienceCheck":true`) || !strings.Contains(string(b), `"audience":["rs"]`) {
		t.Errorf("config = %s", b)
	}
	def, _ := sandbox.LoadScenario("bare", []byte(frozenScenario))
	if b, _ := json.Marshal(def.Configs["centili"]); !strings.Contains(string(b), `"introspectionAudienceCheck":false`) {
		t.Errorf("default config = %s, want the check off", b)
	}
}

const audienceScenarioForValidation = frozenScenario + `centili:
  introspectionAudienceCheck: %s
  clients:
    - {clientId: app, publicClient: true, audience: [rs]}
    - {clientId: rs, secret: s}
`
