package browser_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
)

// The whole package shares one Chromium process; every test opens its own
// tab against its own sandbox, so tests run in parallel without sharing
// state. Starting Chromium once costs about a second; a tab is cheap.
var (
	browserCtx context.Context
	// browserMissing says why there is no browser ("" when there is one).
	browserMissing string
)

// Timeouts. A test's whole browser conversation is bounded by tabTimeout so
// that a hung page fails the test instead of the package's go test timeout.
const (
	startTimeout = 30 * time.Second
	tabTimeout   = 25 * time.Second
)

// Viewports the issue names: a laptop at 1280×800 and a phone 390 px wide.
const (
	desktopW, desktopH = 1280, 800
	phoneW, phoneH     = 390, 844
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	exe, err := chromiumPath()
	if err != nil {
		browserMissing = err.Error()
		return m.Run()
	}
	profile, err := os.MkdirTemp("", "sandbox-browser-test-")
	if err != nil {
		browserMissing = "temporary profile: " + err.Error()
		return m.Run()
	}
	defer os.RemoveAll(profile)

	// Debian's chromium with the flags this machine's closed network needs:
	// without the last four, Chromium keeps trying background connections
	// (component updates, sync, QUIC probes) that the network refuses.
	var stderr lockedBuffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(desktopW, desktopH),
		chromedp.CombinedOutput(&stderr),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()

	// The first Do starts the browser and binds its life to ctx, so it must
	// not carry the timeout itself: a watchdog cancels it instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(startTimeout):
		cancel()
		err = fmt.Errorf("not started within %v", startTimeout)
	}
	if err != nil {
		browserMissing = fmt.Sprintf("%s did not start: %v\n%s", exe, err, stderr.String())
		return m.Run()
	}
	browserCtx = ctx
	return m.Run()
}

// chromiumPath finds the browser: $SANDBOX_CHROMIUM, else chromium (Debian's
// package) or chromium-browser on PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("SANDBOX_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH (install Debian's package: apt-get install chromium; or set SANDBOX_CHROMIUM)")
}

// lockedBuffer collects the browser's output for the start-up error.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Page is one browser tab of a test. Every console error, uncaught exception
// and browser-log error the tab sees fails the test when it ends.
type Page struct {
	t   testing.TB
	Ctx context.Context

	mu       sync.Mutex
	problems []string
}

// NewPage opens a tab with the desktop viewport. Without a browser the test
// is skipped, except in CI (CI set), where a missing browser is a failure:
// .ci/run installs it, so its absence there is a broken recipe.
func NewPage(t testing.TB) *Page {
	t.Helper()
	if browserMissing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests need Chromium in CI: %s", browserMissing)
		}
		t.Skipf("skipping browser test: %s", browserMissing)
	}
	p := &Page{t: t}
	tab, cancelTab := chromedp.NewContext(browserCtx, chromedp.WithListener(p.listen))
	// The first Do opens the tab; a timeout on it would close the tab, so
	// the test's deadline goes on a context derived after it.
	if err := chromedp.Do(tab); err != nil {
		cancelTab()
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, tabTimeout)
	p.Ctx = ctx
	t.Cleanup(func() {
		// A round trip first: Listen delivers every event that arrived
		// before a command's reply, so nothing the page logged is missed.
		_, _ = chromedp.Run(ctx, chromedp.Evaluate[int]("1"))
		cancel()
		cancelTab()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, pr := range p.problems {
			t.Errorf("browser console: %s", pr)
		}
	})
	p.Do(chromedp.EmulateViewport(desktopW, desktopH))
	return p
}

// listen runs in the tab's event loop: it must return fast and send nothing.
func (p *Page) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			problem = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		problem = fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError && !adminAnswer(ev.Entry) {
			problem = fmt.Sprintf("%s error: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	}
}

// adminAnswer reports whether a browser-log entry is Chromium noting an
// admin API call answered 4xx/5xx ("Failed to load resource: ... 400").
// Chromium logs every such fetch, including the ones the page expects and
// shows to the user (a refused scenario upload is a 400 with its problems),
// so these are not errors of the page. A failed page, asset or icon load
// (/__sandbox/ui/... or anything outside /__sandbox/) still counts, and so
// does an admin call that could not connect at all.
func adminAnswer(e *log.Entry) bool {
	if e.Source != log.EntrySourceNetwork || !strings.Contains(e.Text, "the server responded with a status of") {
		return false
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		return false
	}
	p := u.Path
	if rest, ok := strings.CutPrefix(p, "/ns/"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			p = rest[i:]
		}
	}
	return strings.HasPrefix(p, "/__sandbox/") && !strings.HasPrefix(p, "/__sandbox/ui/")
}

// Do runs actions in the tab, failing the test on error.
func (p *Page) Do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.Ctx, steps...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// Eval evaluates a JavaScript expression and decodes its value.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// WaitFor waits until a JavaScript expression is truthy, within limit; what
// names the wait in the failure message.
func (p *Page) WaitFor(what, expr string, limit time.Duration) {
	p.t.Helper()
	if _, err := chromedp.Run(p.Ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(limit))); err != nil {
		p.t.Fatalf("waiting for %s (%s) within %v: %v", what, expr, limit, err)
	}
}

// Navigate opens a URL and waits for the load event.
func (p *Page) Navigate(url string) {
	p.t.Helper()
	p.Do(chromedp.Navigate(url))
}

// Viewport sets the tab's size: phone-sized tabs emulate a mobile device, so
// a page without <meta name=viewport> gets Chromium's 980 px layout viewport
// (and fails the layout checks), as it would on a phone.
func (p *Page) Viewport(width, height int64) {
	p.t.Helper()
	if width < 600 {
		p.Do(chromedp.EmulateViewport(width, height, chromedp.EmulateMobile, chromedp.EmulateTouch))
		return
	}
	p.Do(chromedp.EmulateViewport(width, height))
}

// CheckLayout fails the test when the page does not fit its viewport's
// width: the layout viewport must be exactly width (so the page declares a
// device-width viewport) and nothing may overflow it horizontally.
func (p *Page) CheckLayout(view string, width int) {
	p.t.Helper()
	type dims struct {
		Inner  int      `json:"inner"`
		Scroll int      `json:"scroll"`
		Wide   []string `json:"wide"`
	}
	d := Eval[dims](p, `((w) => {
		const wide = [];
		for (const el of document.body.querySelectorAll('*')) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 1 && getComputedStyle(el).position !== 'fixed') {
				let id = el.tagName.toLowerCase();
				if (el.dataset.testid) id += '[data-testid=' + el.dataset.testid + ']';
				else if (el.className && typeof el.className === 'string') id += '.' + el.className.split(' ')[0];
				wide.push(id + ' right=' + Math.round(r.right));
				if (wide.length >= 5) break;
			}
		}
		return {inner: window.innerWidth, scroll: document.documentElement.scrollWidth, wide};
	})(`+strconv.Itoa(width)+`)`)
	// On a phone Chromium zooms out until the content fits, so content
	// wider than the screen shows as a wider layout viewport, not as a
	// scrollbar; either way the page does not fit.
	if d.Inner != width || d.Scroll > width {
		p.t.Errorf("%s at %d px does not fit: window.innerWidth %d, documentElement.scrollWidth %d (a page without <meta name=viewport content=\"width=device-width\"> gets 980); wider than the screen: %s",
			view, width, d.Inner, d.Scroll, strings.Join(d.Wide, ", "))
	}
}

// Screenshot saves the viewport as docs/img/<view>.png when
// SANDBOX_SCREENSHOTS=1. The pictures show live data (request ids, times,
// latencies), so they differ on every run: writing them always would dirty
// the tree of every CI run and every developer's test run.
func (p *Page) Screenshot(view string) {
	p.t.Helper()
	if os.Getenv("SANDBOX_SCREENSHOTS") != "1" {
		return
	}
	buf, err := chromedp.Run(p.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot of %s: %v", view, err)
	}
	path := filepath.Join("..", "..", "docs", "img", view+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("wrote %s", path)
}

// Click clicks the first element matching a CSS selector (waiting for it to
// be visible).
func (p *Page) Click(sel string) {
	p.t.Helper()
	p.Do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// ClickAndLoad clicks a link and waits for the page it leads to.
func (p *Page) ClickAndLoad(sel string) {
	p.t.Helper()
	if _, err := chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		p.t.Fatalf("following %s: %v", sel, err)
	}
}

// SetValue sets a form field's value (as pasting would).
func (p *Page) SetValue(sel, value string) {
	p.t.Helper()
	p.Do(chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeVisible))
}
