package browser_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestDemoScript runs docs/demo.md the way a presenter does, from the
// dashboard: switch to the outage scenario in Controls, watch the app's
// gift and SMS land as 503s in the live journal, advance the clock past
// the outage from the top bar, and watch the retried calls succeed, the
// pool gauge move and the retried pingbacks arrive in the timeline.
func TestDemoScript(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")

	// 1. Switch to the outage scenario.
	p := openView(t, h, "controls")
	p.WaitFor("the scenario library", `[...document.querySelectorAll('[data-testid=library-select] option')].some(o => o.value === 'outage')`, settle)
	p.SetValue(`[data-testid=library-select]`, "outage")
	p.Click(`[data-testid=library-load]`)
	p.WaitFor("the outage scenario in force", `document.querySelector('[data-testid=controls-scenario]').textContent === 'outage'`, settle)
	p.WaitFor("the frozen clock at 10:00", `document.querySelector('[data-testid=clock-now]').textContent === '2026-11-22T10:00:00Z' && document.querySelector('[data-testid=clock-now]').dataset.frozen === 'true'`, settle)
	p.WaitFor("the six outage rules", `document.querySelectorAll('[data-testid=fault-row]').length === 6`, settle)

	// 2. The app's calls fail with each provider's own 503.
	j := NewPage(t)
	j.Navigate(h.URL + "/__sandbox/ui/journal")
	j.waitLive(h)
	tok := centiliToken(t, h)
	res := gift(t, h, tok, "4366124567", "demo-gift", 100)
	if res.Status != 503 || string(res.Body) != `{"errorType":"SERVICE_UNAVAILABLE","errorMessage":"Service Unavailable"}` {
		t.Errorf("gift in the outage: %d %s", res.Status, res.Body)
	}
	giftID := res.Header.Get(sandbox.HeaderRequestID)
	sms := h.Do("POST", "/netfinity/v2/sms/notification/send",
		sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"Your code is 1234","id":"demo1"}`),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer(netfinityToken))
	if sms.Status != 503 {
		t.Errorf("SMS in the outage: %d %s", sms.Status, sms.Body)
	}
	for id, rule := range map[string]string{giftID: "centili-datagifting-down", sms.Header.Get(sandbox.HeaderRequestID): "netfinity-down"} {
		row := `[data-testid=journal-row][data-request-id="` + id + `"]`
		j.WaitFor("the 503 row "+id, `document.querySelector('`+row+`')?.dataset.status === '503'`, journalLimit)
		if got := Eval[string](j, `document.querySelector('`+row+`').lastElementChild.textContent`); got != rule {
			t.Errorf("row %s faults column %q, want %q", id, got, rule)
		}
	}
	j.SetValue(`[data-testid=filter-status]`, "5xx")
	j.Do(dispatch(`[data-testid=filter-status]`, "change"))
	j.WaitFor("only the 503s", `[...document.querySelectorAll('[data-testid=journal-row]')].map(r => r.dataset.status).join() === '503,503'`, settle)
	j.Screenshot("journal-outage")

	// 3. Past the outage, from the top bar.
	p.SetValue(`[data-testid=clock-advance] input[name=advance]`, "5m")
	p.Click(`[data-testid=clock-advance] button[type=submit]`)
	p.WaitFor("10:05", `document.querySelector('[data-testid=clock-now]').textContent === '2026-11-22T10:05:00Z'`, settle)

	// 4. The app's receiver answers 503 twice, then recovers; the retries
	// succeed and the pingbacks arrive.
	rcv := newFlakyReceiver(t, 2)
	if st := h.Admin("PATCH", "", "/netfinity/tokens/"+netfinityToken, map[string]string{"callbackUrl": rcv.URL}, nil); st != 200 {
		t.Fatalf("PATCH callbackUrl: %d", st)
	}
	s := openView(t, h, "state")
	gauge := `[data-testid=pool-gauge][data-service="` + centiliService + `"][data-operator=AT_A1]`
	s.WaitFor("the AT_A1 gauge at 0", `document.querySelector('`+gauge+`')?.dataset.assigned === '0'`, settle)
	tok = centiliToken(t, h)
	recovered := []string{gift(t, h, tok, "4366124567", "demo-gift-2", 100).WantStatus(200).Header.Get(sandbox.HeaderRequestID)}
	s.WaitFor("the AT_A1 gauge at 100", `document.querySelector('`+gauge+`')?.dataset.assigned === '100'`, settle)
	sms = h.Do("POST", "/netfinity/v2/sms/notification/send",
		sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"Your code is 1234","id":"demo1"}`),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer(netfinityToken)).WantStatus(200)
	recovered = append(recovered, sms.Header.Get(sandbox.HeaderRequestID))
	var sent struct{ UUID string }
	sms.JSON(&sent)
	uuid := sent.UUID
	s.SetValue(`[data-testid=clock-advance] input[name=advance]`, "1m")
	s.Click(`[data-testid=clock-advance] button[type=submit]`)
	tl := `[data-testid=message-timeline][data-message-id="` + uuid + `"]`
	attempts := func(code string) string {
		return `[...document.querySelectorAll('` + tl + ` li.step[data-code="` + code + `"] [data-testid=pingback-attempt]')].map(a => a.dataset.status).join()`
	}
	s.WaitFor("201's pingback: 503, 503, then 200", attempts("201")+` === '503,503,200'`, settle)
	for _, code := range []string{"202", "203", "204"} {
		s.WaitFor(code+"'s pingback delivered at once", attempts(code)+` === '200'`, settle)
	}
	if got := Eval[string](s, `document.querySelector('`+tl+`').dataset.final`); got != "true" {
		t.Errorf("message final = %q after 204", got)
	}
	if n := rcv.count(); n != 6 {
		t.Errorf("receiver saw %d pingbacks, want 6 (two refused, four delivered)", n)
	}

	// The journal, still open, shows the recovered calls without a fault.
	j.SetValue(`[data-testid=filter-status]`, "")
	j.Do(dispatch(`[data-testid=filter-status]`, "change"))
	for _, id := range recovered {
		row := `[data-testid=journal-row][data-request-id="` + id + `"]`
		j.WaitFor("the recovered call "+id, `!!document.querySelector('`+row+`')`, settle)
		if got := Eval[string](j, `document.querySelector('`+row+`').dataset.status + ' ' + document.querySelector('`+row+`').lastElementChild.textContent`); got != "200 —" {
			t.Errorf("recovered call %s: row shows %q, want status 200 and no fault", id, got)
		}
	}
	j.Screenshot("journal-recovered")
	s.Do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=state-section][data-provider=netfinity]').scrollIntoView()`))
	s.Screenshot("state-retried-pingbacks")
}

// flakyReceiver answers 503 to its first refuse pingbacks, then accepts
// them as Netfinity wants (200 echoing the uuid).
type flakyReceiver struct {
	URL    string
	mu     sync.Mutex
	n      int
	refuse int
}

func newFlakyReceiver(t testing.TB, refuse int) *flakyReceiver {
	r := &flakyReceiver{refuse: refuse}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		data, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.n++
		n := r.n
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if n <= r.refuse {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"down":true}`)
			return
		}
		var pb struct{ UUID string }
		_ = json.Unmarshal(data, &pb)
		_ = json.NewEncoder(w).Encode(map[string]string{"uuid": strings.TrimSpace(pb.UUID)})
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/pingback"
	return r
}

func (r *flakyReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
