package adminclient_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/provider-sandbox/provider-sandbox/adminclient"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/scenarios"
)

// startSandbox runs a sandbox with the default scenario on a loopback port,
// as `go run ./cmd/sandbox` would on 127.0.0.1:8080, and returns its base URL.
func startSandbox() (baseURL string, stop func()) {
	sc, probs := sandbox.LoadScenario("default.yaml", scenarios.Default())
	if len(probs) > 0 {
		log.Fatal(probs.Error())
	}
	srv, err := sandbox.New(sandbox.Config{Scenario: sc, Library: scenarios.FS})
	if err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	return hs.URL, func() { hs.Close(); srv.Close() }
}

// A CI job works in a namespace of its own: it sets the clock, makes the
// next Centili gift fail, and reads the rules back with their counters. An
// error answer is an RFC 7807 problem, which ProblemOf reads.
func Example() {
	base, stop := startSandbox()
	defer stop()
	ctx := context.Background()

	c, err := adminclient.New(base + "/ns/ci-42")
	if err != nil {
		log.Fatal(err)
	}

	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clk, err := c.PostClockWithResponse(ctx, adminclient.PostClockJSONRequestBody{Set: &start, Frozen: new(true)})
	if err != nil || clk.JSON200 == nil {
		log.Fatal(err, adminclient.ProblemOf(clk.HTTPResponse, clk.Body))
	}
	fmt.Println("clock:", clk.JSON200.Now.Format(time.RFC3339), "frozen:", clk.JSON200.Frozen)

	added, err := c.AddFaultWithResponse(ctx, adminclient.Rule{
		ID:      new("gift-down"),
		Match:   &adminclient.RuleMatch{Provider: new("centili"), Operation: new("assignData")},
		Respond: &adminclient.RuleRespond{Status: 503},
		Times:   new(1),
	})
	if err != nil || added.JSON201 == nil {
		log.Fatal(err, adminclient.ProblemOf(added.HTTPResponse, added.Body))
	}
	rules, err := c.ListFaultsWithResponse(ctx)
	if err != nil || rules.JSON200 == nil {
		log.Fatal(err)
	}
	for _, r := range *rules.JSON200 {
		fmt.Printf("rule %s: matched %d, fired %d\n", *r.ID, r.Matched, r.Fired)
	}

	res, err := c.DeleteFaultWithResponse(ctx, "no-such-rule")
	if err != nil {
		log.Fatal(err)
	}
	if p := adminclient.ProblemOf(res.HTTPResponse, res.Body); p != nil {
		fmt.Println("delete:", p)
	}
	// Output:
	// clock: 2026-11-22T10:00:00Z frozen: true
	// rule gift-down: matched 0, fired 0
	// delete: 404 Not found: no fault rule "no-such-rule" in namespace "ci-42"
}
