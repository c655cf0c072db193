package centili

import (
	"encoding/json"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

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

// OpLog is a Records that keeps every Put and Delete in call order, as the
// store queues them, so that a test can load what a crash after any call
// would have left.
type OpLog struct {
	Ops    []RecordOp
	group  int // the Atomic call under way, 0 outside one
	groups int
}

// RecordOp is one call on an OpLog.
type RecordOp struct {
	Del       bool
	Kind, Key string
	Value     json.RawMessage
	// Group numbers the Atomic call the op was made in (from 1); 0 is
	// none.
	Group int
}

// Enabled is true.
func (l *OpLog) Enabled() bool { return true }

// Put keeps value encoded as JSON.
func (l *OpLog) Put(kind, key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	l.Ops = append(l.Ops, RecordOp{Kind: kind, Key: key, Value: b, Group: l.group})
}

// Atomic runs f on the log itself, numbering the ops it makes: the tests
// may still cut the log after any op, even within a group.
func (l *OpLog) Atomic(f func(sandbox.Records)) {
	l.groups++
	l.group = l.groups
	defer func() { l.group = 0 }()
	f(l)
}

// Delete keeps a removal.
func (l *OpLog) Delete(kind, key string) {
	l.Ops = append(l.Ops, RecordOp{Del: true, Kind: kind, Key: key, Group: l.group})
}

// UpTo is what the store holds when a crash lost every call after the
// first n.
func (l *OpLog) UpTo(n int) []sandbox.Record {
	rs := sandbox.NewRecordSet()
	for _, op := range l.Ops[:n] {
		if op.Del {
			rs.Delete(op.Kind, op.Key)
		} else {
			rs.Put(op.Kind, op.Key, op.Value)
		}
	}
	return rs.Records()
}
