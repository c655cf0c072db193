package browser_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/provider-sandbox/provider-sandbox/internal/journal"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// Limits of the waits. The journal's is what the issue promises a user; the
// others only bound a test that would otherwise hang.
const (
	journalLimit = time.Second
	settle       = 5 * time.Second
)

// openView opens a dashboard view of the default namespace and waits until
// its event stream is open, so that what the test does next is streamed.
func openView(t *testing.T, h *sandboxtest.Harness, view string) *Page {
	t.Helper()
	p := NewPage(t)
	path := "/__sandbox/ui/"
	if view != "home" {
		path += view
	}
	p.Navigate(h.URL + path)
	p.waitLive(h)
	return p
}

// waitLive waits for the page's connection badge to say live and for the
// sandbox to count its stream.
func (p *Page) waitLive(h *sandboxtest.Harness) {
	p.t.Helper()
	p.WaitFor("the event stream", `document.querySelector('[data-testid=connection]')?.dataset.mode === 'live'`, settle)
	waitSubscribed(p.t, h)
}

// TestEveryView walks the dashboard as a visitor does: GET / (a browser's
// Accept) redirects to the home view; each nav link opens its view, which
// logs no console error and fits 1280×800 and a 390 px phone.
func TestEveryView(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	tok := centiliToken(t, h)
	gift(t, h, tok, "33612345678", "views-1", 500).WantStatus(200)
	p := NewPage(t)
	p.Navigate(h.URL + "/")
	if got := Eval[string](p, `location.pathname`); got != "/__sandbox/ui/" {
		t.Fatalf("GET / in a browser ended at %s, want the dashboard /__sandbox/ui/", got)
	}
	p.waitLive(h)
	for _, want := range []string{h.URL + "/centili", h.URL + "/netfinity", h.URL + "/netrefer", h.URL + "/intarget", "sandbox-netfinity-token"} {
		if !Eval[bool](p, `document.body.innerText.includes(`+jsString(want)+`)`) {
			t.Errorf("home view does not show %q", want)
		}
	}
	p.WaitFor("the Centili request counter", `document.querySelector('[data-testid=provider-stats][data-provider=centili] [data-stat=requests]')?.textContent === '2'`, settle)

	for _, view := range []string{"home", "journal", "state", "controls"} {
		p.Viewport(desktopW, desktopH)
		if view != "home" {
			p.ClickAndLoad(`[data-testid=nav-` + view + `]`)
		}
		if got := Eval[string](p, `document.body.dataset.view`); got != view {
			t.Fatalf("nav-%s opened view %q", view, got)
		}
		if cur := Eval[string](p, `document.querySelector('[aria-current=page]')?.dataset.testid || ''`); cur != "nav-"+view {
			t.Errorf("%s: the current nav link is %q", view, cur)
		}
		p.waitLive(h)
		// A page without an icon makes the browser fetch /favicon.ico after
		// the load; its 404 is a console error, but one that may come after
		// the test has finished, so it is checked here, not left to chance.
		if !Eval[bool](p, `!!document.querySelector('link[rel~=icon]')`) {
			if res, err := h.Client.Get(h.URL + "/favicon.ico"); err == nil {
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("%s declares no icon and /favicon.ico answers %d: the browser logs that 404 as a console error", view, res.StatusCode)
				}
			}
		}
		p.CheckLayout(view, desktopW)
		if view == "home" {
			p.Screenshot("home")
		}
		p.Viewport(phoneW, phoneH)
		p.CheckLayout(view, phoneW)
		if view == "home" {
			p.Screenshot("home-phone")
		}
	}
}

// TestJournalShowsARequestWithinASecond: an exchange made outside the
// browser (a script, curl) appears in an open journal within a second,
// and opening it shows the request, the answer and the matched operation.
func TestJournalShowsARequestWithinASecond(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	p := openView(t, h, "journal")

	res := h.Do("POST", "/netfinity/v2/sms/notification/send",
		sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"hello from a script","id":"42"}`),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer(netfinityToken)).WantStatus(200)
	sent := time.Now()
	id := res.Header.Get(sandbox.HeaderRequestID)
	row := `[data-testid=journal-row][data-request-id="` + id + `"]`
	p.WaitFor("the journal row of "+id, `!!document.querySelector('`+row+`')`, journalLimit)
	t.Logf("journal row %s shown %v after the response", id, time.Since(sent).Round(time.Millisecond))
	if got := Eval[string](p, `document.querySelector('`+row+`').dataset.status`); got != "200" {
		t.Errorf("row status %q, want 200", got)
	}

	// More traffic, one of it an error, so the filter has something to hide.
	h.Do("POST", "/netfinity/v2/sms/notification/send", sandboxtest.JSONBody(`{"msisdn":"1","text":"x"}`),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer(netfinityToken)).WantStatus(422)
	tok := centiliToken(t, h)
	gift(t, h, tok, "4366124567", "journal-1", 100).WantStatus(200)
	p.WaitFor("four rows", `document.querySelectorAll('[data-testid=journal-row]').length === 4`, settle)

	// Status filter: only the 422 is left.
	p.SetValue(`[data-testid=filter-status]`, "4xx")
	p.Do(dispatch(`[data-testid=filter-status]`, "change"))
	p.WaitFor("the 4xx filter", `[...document.querySelectorAll('[data-testid=journal-row]')].map(r => r.dataset.status).join() === '422'`, settle)
	p.SetValue(`[data-testid=filter-status]`, "")
	p.Do(dispatch(`[data-testid=filter-status]`, "change"))
	p.WaitFor("no filter", `document.querySelectorAll('[data-testid=journal-row]').length === 4`, settle)

	p.Click(row + ` button`)
	p.WaitFor("the detail panel", `document.querySelector('[data-testid=detail-operation]')?.textContent === 'sendSmsNotification'`, settle)
	body := Eval[string](p, `document.querySelector('[data-testid=detail-request-body]').textContent`)
	if !strings.Contains(body, `"text": "hello from a script"`) {
		t.Errorf("request body shown as %q, want it pretty-printed", body)
	}
	curl := Eval[string](p, `document.querySelector('[data-testid=detail-curl]').textContent`)
	// The journal keeps the token as a mark, and the panel says so.
	if !strings.HasPrefix(curl, "curl -i -X POST '"+h.URL+"/netfinity/v2/sms/notification/send'") || !strings.Contains(curl, "-H 'Authorization: Bearer "+journal.Mark(netfinityToken)+"'") {
		t.Errorf("replay command %q", curl)
	}
	if note := Eval[string](p, `document.querySelector('[data-testid=detail-curl-redacted]')?.textContent || ''`); !strings.Contains(note, "Authorization only as marks") {
		t.Errorf("note on redacted values %q", note)
	}
	p.Screenshot("journal")
}

// TestGiftMovesThePoolGauge: a Centili gift made by the user's app moves
// the pool's gauge on an open state view, without a reload.
func TestGiftMovesThePoolGauge(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	p := openView(t, h, "state")
	gauge := `[data-testid=pool-gauge][data-service="` + centiliService + `"][data-operator=FR_ORANGE]`
	p.WaitFor("the FR_ORANGE pool gauge", `document.querySelector('`+gauge+`')?.dataset.assigned === '0'`, settle)
	if got := Eval[string](p, `document.querySelector('`+gauge+`').dataset.total`); got != "100000" {
		t.Errorf("gauge total %s, want 100000", got)
	}
	tok := centiliToken(t, h)
	gift(t, h, tok, "33612345678", "gauge-1", 500).WantStatus(200)
	p.WaitFor("the gauge to show 500 assigned", `document.querySelector('`+gauge+`')?.dataset.assigned === '500'`, settle)
	gift(t, h, tok, "33612345679", "gauge-2", 1000).WantStatus(200)
	p.WaitFor("the gauge to show 1500 assigned", `document.querySelector('`+gauge+`')?.dataset.assigned === '1500'`, settle)
	if got := Eval[string](p, `document.querySelector('`+gauge+`').textContent`); !strings.Contains(got, "1500 / 100000 MB") {
		t.Errorf("gauge reads %q", got)
	}
}

// TestFaultPresetFailsTheNextCall: pressing "Centili answers 503" makes the
// very next gift fail as Centili would fail (its status and error body);
// removing the rule in the list lets the next one through.
func TestFaultPresetFailsTheNextCall(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	tok := centiliToken(t, h)
	p := openView(t, h, "controls")
	p.WaitFor("the empty rule list", `!!document.querySelector('[data-testid=fault-none]')`, settle)
	p.Click(`[data-testid=preset-centili-503]`)
	p.WaitFor("the preset's rule", `!!document.querySelector('[data-testid=fault-row][data-fault-id=ui-centili-503]')`, settle)
	if got := Eval[string](p, `document.querySelector('[data-testid=preset-centili-503]').getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("preset aria-pressed %q after the press, want true", got)
	}

	res := gift(t, h, tok, "33612345678", "fault-1", 500)
	if res.Status != http.StatusServiceUnavailable {
		t.Fatalf("gift with the preset on: status %d, want 503; body %s", res.Status, res.Body)
	}
	var body struct {
		ErrorType    string  `json:"errorType"`
		ErrorMessage *string `json:"errorMessage"`
	}
	res.JSON(&body)
	if body.ErrorType != "SERVICE_UNAVAILABLE" || body.ErrorMessage == nil || *body.ErrorMessage == "" {
		t.Errorf("503 body %s, want Centili's {\"errorType\":\"SERVICE_UNAVAILABLE\",\"errorMessage\":...}", res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("503 Content-Type %q", ct)
	}
	if f := res.Header.Get(sandbox.HeaderFault); !strings.Contains(f, "ui-centili-503") {
		t.Errorf("%s = %q, want the preset's rule named", sandbox.HeaderFault, f)
	}
	// The token service is not part of the outage.
	centiliToken(t, h)
	p.WaitFor("the rule's counter", `document.querySelector('[data-testid=fault-row][data-fault-id=ui-centili-503]')?.textContent.includes('fired 1')`, settle)
	p.Screenshot("controls")

	p.Click(`[data-testid=fault-row][data-fault-id=ui-centili-503] [data-testid=fault-remove]`)
	p.WaitFor("the rule to go", `!!document.querySelector('[data-testid=fault-none]')`, settle)
	var rules []json.RawMessage
	h.Admin("GET", "", "/faults", nil, &rules)
	if len(rules) != 0 {
		t.Errorf("GET /faults after removing in the dashboard: %d rules", len(rules))
	}
	gift(t, h, tok, "33612345678", "fault-2", 500).WantStatus(200)
}

// TestClockAdvanceFiresADuePingback: with the clock frozen, a message's
// status pingbacks wait; advancing the clock from the bar delivers them to
// the user's receiver and each attempt appears in the message's timeline.
func TestClockAdvanceFiresADuePingback(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	rcv := newPingbackReceiver(t)
	if st := h.Admin("PATCH", "", "/netfinity/tokens/"+netfinityToken, map[string]string{"callbackUrl": rcv.URL}, nil); st != 200 {
		t.Fatalf("PATCH callbackUrl: %d", st)
	}
	if st := h.Admin("POST", "", "/clock", map[string]any{"frozen": true}, nil); st != 200 {
		t.Fatalf("freezing the clock: %d", st)
	}
	uuid := sendSMS(t, h, "359881234567", "pingback demo", "pb1")
	tok := centiliToken(t, h)
	gift(t, h, tok, "33612345678", "pb-state", 1000).WantStatus(200) // for the screenshot

	p := openView(t, h, "state")
	tl := `[data-testid=message-timeline][data-message-id="` + uuid + `"]`
	p.WaitFor("the message's timeline", `!!document.querySelector('`+tl+`')`, settle)
	if n := Eval[int](p, `document.querySelectorAll('`+tl+` [data-testid=pingback-attempt]').length`); n != 0 {
		t.Fatalf("%d pingback attempts before the clock moved", n)
	}
	if got := Eval[string](p, `document.querySelector('[data-testid=clock-now]').dataset.frozen`); got != "true" {
		t.Errorf("clock bar frozen=%q, want true", got)
	}
	before := Eval[string](p, `document.querySelector('[data-testid=clock-now]').textContent`)

	p.SetValue(`[data-testid=clock-advance] input[name=advance]`, "90s")
	p.Click(`[data-testid=clock-advance] button[type=submit]`)
	// The delivered path has four statuses (201, 202, 203, 204), each pinged
	// back once to a receiver that accepts it.
	p.WaitFor("four pingback attempts in the timeline",
		`[...document.querySelectorAll('`+tl+` [data-testid=pingback-attempt]')].filter(a => a.dataset.status === '200').length === 4`, settle)
	if n := rcv.count(); n != 4 {
		t.Errorf("receiver got %d pingbacks, want 4", n)
	}
	after := Eval[string](p, `document.querySelector('[data-testid=clock-now]').textContent`)
	b, err1 := time.Parse(time.RFC3339, before)
	a, err2 := time.Parse(time.RFC3339, after)
	if err1 != nil || err2 != nil || a.Sub(b) != 90*time.Second {
		t.Errorf("clock bar went from %q to %q, want 90 s later", before, after)
	}
	p.Screenshot("state")
	p.Do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=state-section][data-provider=netfinity]').scrollIntoView()`))
	p.Screenshot("state-netfinity")
}

// TestBrokenScenarioUploadShowsLineNumbers: an uploaded scenario with
// mistakes is refused, each problem listed with the line it is on; the
// scenario in force stays.
func TestBrokenScenarioUploadShowsLineNumbers(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	p := openView(t, h, "controls")
	broken := strings.Join([]string{
		"version: 1",
		"name: broken-demo",
		"clock:",
		"  frozn: true", // line 4
		"netfinity:",
		"  tokens:",
		"    - token: demo",
		"      rateLimit: many", // line 8
	}, "\n") + "\n"
	p.SetValue(`[data-testid=scenario-text]`, broken)
	p.Click(`[data-testid=scenario-upload]`)
	p.WaitFor("the problem list", `document.querySelectorAll('[data-testid=scenario-problems] li').length > 0`, settle)
	got := Eval[[]string](p, `[...document.querySelectorAll('[data-testid=scenario-problems] li')].map(li => li.textContent)`)
	want := []string{
		`line 4: clock.frozn: unknown key "frozn" (hint: did you mean "frozen"?)`,
		`line 8: netfinity.tokens[0].rateLimit: "many" is a string, expected a whole number (hint: write the number without quotes, e.g. 100)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems shown:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var sc struct{ Name string }
	h.Admin("GET", "", "/scenario", nil, &sc)
	if sc.Name != "default" {
		t.Errorf("scenario in force after the refused upload: %q, want default", sc.Name)
	}
	// A problem's line button selects that line in the text.
	p.Click(`[data-testid=scenario-problems] li:nth-child(2) button`)
	sel := Eval[string](p, `(() => { const t = document.querySelector('[data-testid=scenario-text]'); return t.value.slice(t.selectionStart, t.selectionEnd); })()`)
	if sel != "      rateLimit: many" {
		t.Errorf("line button selected %q, want line 8", sel)
	}
	p.Screenshot("controls-problems")
}

// TestJournalBodiesRenderAsText: journal bodies are what clients sent, so
// markup in them is shown as text: no element is made from it and no
// script runs (the page's window flag stays unset).
func TestJournalBodiesRenderAsText(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	p := openView(t, h, "journal")
	attack := `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>`
	res := h.Do("POST", "/netfinity/v2/sms/notification/send",
		sandboxtest.JSONBody(fmt.Sprintf(`{"msisdn":"359881234567","text":%q,"id":"x1"}`, attack)),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer(netfinityToken),
		sandboxtest.Header("X-Note", `<img src=x onerror="window.__pwned = 3">`))
	id := res.Header.Get(sandbox.HeaderRequestID)
	row := `[data-testid=journal-row][data-request-id="` + id + `"]`
	p.WaitFor("the row", `!!document.querySelector('`+row+`')`, settle)
	p.Click(row + ` button`)
	p.WaitFor("the request body", `!!document.querySelector('[data-testid=detail-request-body]')`, settle)
	shown := Eval[string](p, `document.querySelector('[data-testid=detail-request-body]').textContent`)
	if !strings.Contains(shown, `<script>window.__pwned = 1</script>`) {
		t.Errorf("request body shown as %q, want the markup as text", shown)
	}
	if n := Eval[int](p, `document.querySelectorAll('main script, main img, main b').length`); n != 0 {
		t.Errorf("%d elements were made from the body's markup", n)
	}
	if !Eval[bool](p, `document.querySelector('[data-testid=journal-detail]').textContent.includes('<img src=x onerror="window.__pwned = 3">')`) {
		t.Error("the X-Note header is not shown as text")
	}
	if v := Eval[string](p, `String(window.__pwned)`); v != "undefined" {
		t.Errorf("window.__pwned = %s: a script from the body ran", v)
	}
}

// TestJournalRefetchesAfterReconnect: the stream replays nothing after a
// reconnect, so an exchange made while it was down must still reach the
// open journal: the page refetches when its stream opens again. Deleting
// the namespace ends the stream; the request made before the browser
// reconnects (Chromium waits 3 s) starts a fresh namespace, and its only
// way into the page is that refetch.
func TestJournalRefetchesAfterReconnect(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	p := NewPage(t)
	p.Navigate(h.URL + "/ns/rc/__sandbox/ui/journal")
	p.WaitFor("the event stream", `document.querySelector('[data-testid=connection]')?.dataset.mode === 'live'`, settle)
	if st := h.Admin("DELETE", "", "/namespaces/rc", nil, nil); st != 204 {
		t.Fatalf("DELETE /namespaces/rc: %d", st)
	}
	p.WaitFor("the stream to drop", `document.querySelector('[data-testid=connection]')?.dataset.mode === 'reconnecting'`, settle)
	res := h.Do("POST", "/ns/rc/netfinity/v2/sms/notification/send",
		sandboxtest.JSONBody(`{"msisdn":"359881234567","text":"while the stream was down","id":"rc1"}`),
		sandboxtest.Header("Accept", "application/json"), sandboxtest.Bearer(netfinityToken)).WantStatus(200)
	id := res.Header.Get(sandbox.HeaderRequestID)
	p.WaitFor("the journal row of "+id+" after the reconnect", `!!document.querySelector('[data-testid=journal-row][data-request-id="`+id+`"]')`, 2*settle)
}

// TestGaugeMovesDuringSteadyTraffic: the state view refreshes while other
// calls to the same provider keep arriving (an app polling every 50 ms), not
// only once the traffic stops: a refresh postponed by every new event
// would leave the gauge still for as long as the app runs.
func TestGaugeMovesDuringSteadyTraffic(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	p := openView(t, h, "state")
	gauge := `[data-testid=pool-gauge][data-service="` + centiliService + `"][data-operator=FR_ORANGE]`
	p.WaitFor("the FR_ORANGE pool gauge", `document.querySelector('`+gauge+`')?.dataset.assigned === '0'`, settle)
	tok := centiliToken(t, h)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				// Unauthenticated, so it changes nothing: a 401 of Centili's.
				if res, err := h.Client.Get(h.URL + "/centili/datagifting/v1/services"); err == nil {
					res.Body.Close()
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()
	gift(t, h, tok, "33612345678", "steady-1", 500).WantStatus(200)
	p.WaitFor("the gauge to show 500 assigned while the traffic goes on", `document.querySelector('`+gauge+`')?.dataset.assigned === '500'`, settle)
}
