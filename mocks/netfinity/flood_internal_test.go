package netfinity

import (
	"fmt"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// TestFloodMemoryForgetsSendsOutsideTheWindow: the last send of each
// number and text is remembered only while it can still make a flood, so a
// long run of distinct texts does not grow the state for ever; within the
// window the same text is still a flood.
func TestFloodMemoryForgetsSendsOutsideTheWindow(t *testing.T) {
	t.Parallel()
	clk := clock.New(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), true)
	st, err := newState(sandbox.Env{Namespace: "flood", Clock: clk, Seed: 1, Config: defaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok := (*st.tokens.Load())["sandbox-netfinity-token"]
	send := func(text string) string {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.floodLocked(nil, tok, sendInput{Msisdn: "359881234567", Text: text}, clk.Now())
	}
	for i := 0; i < 1000; i++ {
		send(fmt.Sprintf("text %d", i))
	}
	if got := send("text 7"); got != "same text to the same number 0s ago" {
		t.Errorf("a repeat within the window: %q", got)
	}
	clk.Advance(10 * time.Minute) // the default flood window
	if got := send("text 7"); got != "" {
		t.Errorf("a repeat after the window: %q, want no flood", got)
	}
	if n := len(st.texts); n != 1 {
		t.Errorf("%d sends remembered after the window passed, want only the last one", n)
	}
}
