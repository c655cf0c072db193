//go:build race

package testexit

import (
	"strings"
	"syscall"
	"testing"
)

func skipPause() bool {
	return testing.CoverMode() == "" && !strings.Contains(gorace, "atexit_sleep_ms")
}

// exitNow ends the process without os.Exit's hooks, the race runtime's
// finaliser and its pause among them. Standard output and error are not
// buffered, so nothing written is lost.
func exitNow(code int) { syscall.Exit(code) }
