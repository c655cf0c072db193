package sandbox

import "time"

// AgeNamespace makes a live namespace look last used d ago, so that tests
// can put namespaces at any point of their idle time without sleeping.
func (s *Server) AgeNamespace(name string, d time.Duration) bool {
	ns, ok := s.lookup(name)
	if ok {
		ns.lastUsed.Store(time.Now().Add(-d).UnixNano())
	}
	return ok
}

// SetStreamSettings changes the event streams' buffer, keepalive interval
// and write pace (zero keeps the current value), so that a test can see a
// keepalive or a full buffer without waiting. Call it before opening
// streams.
func (s *Server) SetStreamSettings(buffer int, keepalive, pace time.Duration) {
	if buffer > 0 {
		s.stream.buffer = buffer
	}
	if keepalive > 0 {
		s.stream.keepalive = keepalive
	}
	if pace > 0 {
		s.stream.pace = pace
	}
}

// SetLoadHook makes every rebuild of a namespace from the data directory
// call f(name) first, outside the namespaces' lock, so that a test can hold
// a load while it sends other requests.
func (s *Server) SetLoadHook(f func(name string)) {
	s.spaces.mu.Lock()
	defer s.spaces.mu.Unlock()
	s.spaces.loadHook = f
}
