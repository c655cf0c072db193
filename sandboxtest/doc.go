// Package sandboxtest starts a provider sandbox for a Go test: NetRefer,
// Centili, Netfinity and InTarget emulated on one base URL, with typed
// access to what the sandbox received and stored.
//
//	func TestGift(t *testing.T) {
//		sb := sandboxtest.New(t)          // own sandbox, embedded default scenario
//		creds := sb.Centili()             // token URL, client, user, service key
//		app := NewGiftClient(creds.TokenURL, creds.BaseURL, sb.HTTPClient())
//		... exercise your code ...
//		sb.ExpectRequests(sandboxtest.RequestFilter{
//			Provider: "centili", Operation: "assignData",
//			BodyFields: map[string]string{"msisdn": "33612345678"},
//		}).Once()
//	}
//
// New runs the sandbox in the test's process on a loopback port of its own
// (a few milliseconds), so parallel tests never see each other. With the
// environment variable SANDBOX_URL set (a sandbox in CI, the Docker image as
// a service container), New uses that sandbox instead, in a fresh namespace
// named after the test that it deletes when the test ends: the same test
// passes both ways.
//
// HTTPClient checks every answer against the provider's OpenAPI document and
// fails the test on a mismatch. The journal (Requests, ExpectRequests), the
// stored state (CentiliState, ...), callbacks (Callbacks,
// WaitCallbacksSettled), the clock (Now, SetClock, Advance, Freeze), fault
// rules (AddFault, RemoveFault, ClearFaults), Reset and the credentials of
// each provider (NetRefer, Centili, Netfinity, InTarget) are methods of
// Sandbox. docs/testing.md in the repository lists them with examples.
package sandboxtest
