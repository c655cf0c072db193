package centili_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	_ "time/tzdata" // the child process below needs Asia/Kolkata on any machine

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// Centili's times are UTC whatever the machine's zone: the test runs itself
// again with TZ=Asia/Kolkata (UTC+05:30), since the local zone is process-wide
// and cannot be changed under parallel tests.
func TestTimesAreUTCWhateverTheLocalZone(t *testing.T) {
	t.Parallel()
	if os.Getenv("CENTILI_TZ_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTimesAreUTCWhateverTheLocalZone$", "-test.count=1")
		// atexit_sleep_ms=0: a -race child otherwise sleeps a second before
		// exiting; a race it finds still fails it (exit status 66).
		gorace := os.Getenv("GORACE")
		if !strings.Contains(gorace, "atexit_sleep_ms") {
			gorace = strings.TrimSpace(gorace + " atexit_sleep_ms=0")
		}
		cmd.Env = append(os.Environ(), "CENTILI_TZ_CHILD=1", "TZ=Asia/Kolkata", "GORACE="+gorace)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("under TZ=Asia/Kolkata: %v\n%s", err, out)
		}
		return
	}
	h := sandboxtest.New(t, frozenScenario+`centili:
  services:
    - serviceKey: 3586a2363bcd51a2b3c4d5f34918263a
      name: No creation time
      merchantId: 11111
      packages:
        - {operator: AT_A1, amounts: [100]}
      pools:
        - {operator: AT_A1, totalAmount: 1000, expirationDate: "2030-12-31 23:59:59"}
`)
	tok := sandboxtest.Bearer(login(t, h, "/centili", merchantUser).AccessToken)
	h.Do("POST", "/centili"+txPath, txBody(serviceKey, "4366124567", "tz", 100), tok).WantStatus(200).
		WantJSON(`{"transactionId":"17000000001","serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","msisdn":"4366124567","clientId":"tz","amount":100,"operator":"AT_A1","status":"COMPLETED","errorType":null,"errorMessage":null,"timeCreated":"2026-03-01 10:00:00"}`)
	h.Do("GET", "/centili/datagifting/v1/services", nil, tok).WantStatus(200).
		WantJSON(`[{"serviceKey":"3586a2363bcd51a2b3c4d5f34918263a","name":"No creation time","merchantId":11111,"active":true,"timeCreated":"2026-03-01 10:00:00","packages":[{"operator":"AT_A1","amount":100}]}]`)
	if st := state(t, h, ""); st.Now != "2026-03-01 10:00:00" {
		t.Errorf("state now = %q, want the UTC reading 2026-03-01 10:00:00", st.Now)
	}
}
