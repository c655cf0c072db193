// Package browser holds the dashboard's browser tests: they start a sandbox
// in-process and drive Debian's headless Chromium against it through the
// DevTools protocol (chromedp), the way a presenter or developer uses the
// dashboard. The package has no code outside its tests; docs/browser-tests.md
// says how to run them and how the screenshots in docs/img/ are made.
package browser
