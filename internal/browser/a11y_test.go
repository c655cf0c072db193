package browser_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// TestEveryControlIsLabelledAndReachable: on every view each form field
// has a label (a <label for>, an enclosing label or aria-label) and each
// button a name, and Tab from the top of the page reaches every visible
// control and link, so the dashboard works from the keyboard and with a
// screen reader.
func TestEveryControlIsLabelledAndReachable(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, "")
	sendSMS(t, h, "359881234567", "a11y", "a1") // a journal row and a timeline to reach
	for _, view := range []string{"home", "journal", "state", "controls"} {
		t.Run(view, func(t *testing.T) {
			t.Parallel()
			p := openView(t, h, view)
			if view == "journal" {
				p.WaitFor("a journal row", `!!document.querySelector('[data-testid=journal-row]')`, settle)
			}
			unlabelled := Eval[[]string](p, `[...document.querySelectorAll('input, select, textarea, button')].filter(e => {
				if (e.type === 'hidden' || e.closest('[aria-hidden=true]')) return false;
				const name = (e.getAttribute('aria-label') || '').trim() ||
					(e.getAttribute('aria-labelledby') ? 'by' : '') ||
					(e.tagName === 'BUTTON' ? e.textContent.trim() : '') ||
					(e.labels && e.labels.length ? [...e.labels].map(l => l.textContent.trim()).join('') : '');
				return !name;
			}).map(e => e.outerHTML.slice(0, 120))`)
			for _, u := range unlabelled {
				t.Errorf("%s: control without a label or name: %s", view, u)
			}

			// Number the visible focusable elements, then Tab through the page.
			want := Eval[int](p, `(() => {
				let n = 0;
				for (const e of document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')) {
					const r = e.getBoundingClientRect(), st = getComputedStyle(e);
					if (e.disabled || e.tabIndex < 0 || r.width === 0 || st.visibility === 'hidden' || e.closest('details:not([open]) > :not(summary)')) continue;
					e.dataset.kbdIdx = String(n++);
				}
				return n;
			})()`)
			reached := map[string]bool{}
			for i := 0; i < want+10 && len(reached) < want; i++ {
				p.Do(chromedp.KeyEvent(kb.Tab))
				if idx := Eval[string](p, `document.activeElement?.dataset?.kbdIdx ?? ''`); idx != "" {
					reached[idx] = true
				}
			}
			if len(reached) < want {
				missed := Eval[[]string](p, `[...document.querySelectorAll('[data-kbd-idx]')].filter(e => !`+jsSet(reached)+`.has(e.dataset.kbdIdx)).map(e => e.outerHTML.slice(0, 120))`)
				t.Errorf("%s: Tab reached %d of %d controls; not reached: %s", view, len(reached), want, strings.Join(missed, "; "))
			}
		})
	}
}

// jsSet is a JavaScript Set literal of the map's keys.
func jsSet(m map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, jsString(k))
	}
	return "new Set([" + strings.Join(keys, ",") + "])"
}
