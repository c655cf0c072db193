package all_test

import (
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// TestValidateReportsEveryProblemInOnePass loads files holding several
// problems per section and compares the whole report, line for line, with
// what `sandbox scenario validate` prints: a type error in a section does not
// hide that section's other problems, and names drawn from a known set get
// a "did you mean".
func TestValidateReportsEveryProblemInOnePass(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file string
		want       []string
	}{
		{"netfinity: a bad duration does not hide a bad IP", `version: 1
netfinity:
  floodWindow: 10 minutes
  tokens:
    - token: app
      allowedIps: [10.0.0.0/8, 1.2.3.400]
      capabilities: [sms.notifcation, other.service]
      callbackUrl: ftp://example.test/pingback
  defaultPath: deliverd
  rules:
    - {msisdn: "359880000999", path: rejectedFund}
  callback:
    retries: many
`, []string{
			`f.yaml:3: netfinity.floodWindow: "10 minutes" is not a duration such as 3s or 10m (hint: a number and a unit: 500ms, 90s, 10m or 1h30m)`,
			`f.yaml:6: netfinity.tokens[0].allowedIps[1]: "1.2.3.400" is not an IP address (hint: use an IP such as 203.0.113.7 or a CIDR such as 10.0.0.0/8)`,
			`f.yaml:7: netfinity.tokens[0].capabilities[0]: unknown capability "sms.notifcation" (hint: did you mean "sms.notification"?)`,
			`f.yaml:8: netfinity.tokens[0].callbackUrl: callbackUrl "ftp://example.test/pingback" is not an HTTP URL (hint: use an http:// or https:// URL, or leave it empty for no callbacks)`,
			`f.yaml:9: netfinity.defaultPath: no path named "deliverd" (hint: did you mean "delivered"?)`,
			`f.yaml:11: netfinity.rules[0].path: no path named "rejectedFund" (hint: did you mean "rejectedFunds"?)`,
			`f.yaml:13: netfinity.callback.retries: "many" is a string, expected a whole number (hint: write the number without quotes, e.g. 100)`,
		}},
		{"centili: operators, timestamps and error types in one flow mapping; no echo of the bad totalAmount", `version: 1
centili:
  operators:
    - {prefix: "33", operator: FR_ORANGE}
    - {prefix: "43", operator: AT_A1}
  services:
    - serviceKey: 3586a2363bcd51a2b3c4d5f34918263a
      merchantId: 11111
      packages:
        - {operator: AT_A, amounts: [100]}
      pools:
        - {operator: FR_ORANGES, totalAmount: lots, assignedAmount: 50, expirationDate: "2030-12-31"}
  magicMsisdns:
    - {msisdn: "33600000003", errorType: INSUFFICIENT_BALANC}
`, []string{
			`f.yaml:10: centili.services[0].packages[0].operator: operator "AT_A" has no prefix in centili.operators, so no msisdn reaches it (hint: did you mean "AT_A1"?)`,
			`f.yaml:12: centili.services[0].pools[0].totalAmount: "lots" is a string, expected a whole number (hint: write the number without quotes, e.g. 100)`,
			`f.yaml:12: centili.services[0].pools[0].operator: operator "FR_ORANGES" has no prefix in centili.operators, so no msisdn reaches it (hint: did you mean "FR_ORANGE"?)`,
			`f.yaml:12: centili.services[0].pools[0].expirationDate: expirationDate "2030-12-31" is not a Centili timestamp (hint: yyyy-MM-dd HH:mm:ss UTC, e.g. 2030-12-31 23:59:59)`,
			`f.yaml:14: centili.magicMsisdns[0].errorType: errorType "INSUFFICIENT_BALANC" is not a business error (hint: did you mean "INSUFFICIENT_BALANCE"?)`,
		}},
		{"netrefer, intarget and fault rules", `version: 1
seed: lots
netrefer:
  tenants: ["0e0b50ac-5253-4347-b528-251b2f17cfc6"]
  clients:
    - clientId: 5a324196-7727-45fd-8ac3-1436cd541d76
      clientSecret: s
      tenant: 0e0b50ac-5253-4347-b528-251b2f17cfc7
      brands: [1]
  token: {format: v2, issuer: microsfot, lifetimeSeconds: soon}
intarget:
  auth: {type: basci, username: u, password: p}
  faults: {missingColumn: users.registerd_at}
faults:
  - match: {provider: centilli, method: PSOT}
    respond: {status: 503}
  - match: {provider: centili, operation: assignDta}
    times: 2
    respond: {status: 503}
`, []string{
			`f.yaml:2: seed: "lots" is a string, expected a whole number (hint: write the number without quotes, e.g. 100)`,
			`f.yaml:8: netrefer.clients[0].tenant: tenant "0e0b50ac-5253-4347-b528-251b2f17cfc7" is not listed under netrefer.tenants (hint: did you mean "0e0b50ac-5253-4347-b528-251b2f17cfc6"?)`,
			`f.yaml:10: netrefer.token.lifetimeSeconds: "soon" is a string, expected a whole number (hint: write the number without quotes, e.g. 100)`,
			`f.yaml:10: netrefer.token.issuer: unknown issuer mode "microsfot" (hint: did you mean "microsoft"?)`,
			`f.yaml:12: intarget.auth.type: unknown auth type "basci" (hint: did you mean "basic"?)`,
			`f.yaml:13: intarget.faults.missingColumn: faults.missingColumn "users.registerd_at" is not a required column (hint: did you mean "users.registered_at"?)`,
			`f.yaml:15: faults[0].match.provider: unknown provider "centilli" (hint: did you mean "centili"?)`,
			`f.yaml:15: faults[0].match.method: unknown method "PSOT" (hint: did you mean "POST"?)`,
			`f.yaml:17: faults[1].match.operation: provider "centili" has no operation "assignDta", so this rule can never match (hint: did you mean "assignData"?)`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, probs := sandbox.LoadScenario("f.yaml", []byte(c.file))
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestCapabilityOfAnotherServiceIsAccepted: a Netfinity capability of some
// other service grants nothing and is accepted (that is how the 403
// "capabilities missing" is shown); only a near miss of sms.notification
// is refused with a "did you mean".
func TestCapabilityOfAnotherServiceIsAccepted(t *testing.T) {
	t.Parallel()
	for capability, want := range map[string]string{
		"viber.notification":    "",
		"push.notification":     "",
		"email.notification":    "",
		"sms.notification.read": "",
		"other.service":         "",
		"sms.notifcation":       `f.yaml:4: netfinity.tokens[0].capabilities[0]: unknown capability "sms.notifcation" (hint: did you mean "sms.notification"?)`,
		"SMS.Notifications":     `f.yaml:4: netfinity.tokens[0].capabilities[0]: unknown capability "SMS.Notifications" (hint: did you mean "sms.notification"?)`,
	} {
		file := "version: 1\nnetfinity:\n  tokens:\n    - {token: a, capabilities: [" + capability + "]}\n"
		_, probs := sandbox.LoadScenario("f.yaml", []byte(file))
		var got []string
		for _, p := range probs {
			got = append(got, p.String())
		}
		if strings.Join(got, "\n") != want {
			t.Errorf("capability %q: problems %q, want %q", capability, got, want)
		}
	}
}
