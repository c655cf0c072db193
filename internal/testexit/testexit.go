// Package testexit is the TestMain of this module's test packages: it runs
// the tests and ends the binary without the race detector's exit pause.
//
// A binary built with -race sleeps for a second when it exits (GORACE's
// atexit_sleep_ms, 1000 by default) so that goroutines still running can
// report late races. "go test -race ./..." runs about twenty test binaries,
// two at a time on two cores, so the pauses add about ten seconds to every
// run in which nothing is being compiled. By the time m.Run returns, the
// testing package has already failed the run for any race seen while it ran,
// inside a test or outside one. What the pause could still catch is a race
// between goroutines that a test leaked, within that last second.
//
// The pause is skipped only when the tests passed, no coverage profile is
// being written and GORACE does not set atexit_sleep_ms: a run with
// GORACE=atexit_sleep_ms=1000 keeps it.
package testexit

import (
	"os"
	"testing"
)

// gorace is GORACE as the race runtime read it when the process started;
// tests may change the variable for the processes they start.
var gorace = os.Getenv("GORACE")

// Main runs the tests and exits with their status.
func Main(m *testing.M) { Exit(m.Run()) }

// Exit ends a test binary with code, the status m.Run returned.
func Exit(code int) {
	if code == 0 && skipPause() {
		exitNow(0)
	}
	os.Exit(code)
}
