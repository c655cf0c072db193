package centili

import "github.com/provider-sandbox/provider-sandbox/internal/sandbox"

// KeepRecords makes a running Centili state keep itself in rec from now
// on, as New does when Env.Records is a data directory's: it Puts what New
// Puts and marks what a snapshot restored. The harness builds every
// namespace with NoRecords, so this is how a test through the HTTP
// pipeline gets a state that writes records; call it before the
// namespace's first request.
func KeepRecords(st any, rec sandbox.Records) {
	s := st.(*State)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rec, s.durable = rec, rec.Enabled()
	s.putNewLocked()
	s.markRestoredLocked()
}
