package netrefer

import "github.com/provider-sandbox/provider-sandbox/internal/sandbox"

// UseRecords makes a live NetRefer state keep itself in r from now on, as
// New does when the core hands it records (with a data directory): the
// handler-level tests in durable_test.go build a state with a RecordSet
// through it.
func UseRecords(st any, r sandbox.Records) {
	s := st.(*state)
	s.rec, s.durable = r, r.Enabled()
	for _, cl := range s.order {
		cl.store.mu.Lock()
		cl.store.rec = s.storeRecords()
		cl.store.mu.Unlock()
	}
}
