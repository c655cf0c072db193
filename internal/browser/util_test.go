package browser_test

import (
	"encoding/json"

	"github.com/chromedp/chromedp"
)

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// dispatch fires a DOM event on the first element matching sel, as a user's
// change of a field does after SetValue.
func dispatch(sel, event string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.querySelector(` + jsString(sel) + `).dispatchEvent(new Event(` + jsString(event) + `, {bubbles: true}))`)
}
