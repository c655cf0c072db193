package intarget

import "github.com/provider-sandbox/provider-sandbox/internal/sandbox"

// UseRecords makes a live InTarget state keep itself in r, with the record
// New Puts when the core hands it records (with a data directory).
func UseRecords(st any, r sandbox.Records) {
	s := st.(*state)
	s.rec = r
	s.putStart()
}
