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
