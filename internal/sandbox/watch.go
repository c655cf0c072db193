package sandbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"time"
)

// ReplaceScenario makes sc the template for namespaces created from now on.
// With resetExisting, every live namespace (default included) is reset to it
// as well; otherwise they keep the world they have.
func (s *Server) ReplaceScenario(sc *Scenario, resetExisting bool) error {
	s.tmpl.Store(sc)
	if !resetExisting {
		return nil
	}
	s.spaces.mu.Lock()
	live := make([]*Namespace, 0, len(s.spaces.byID))
	for _, ns := range s.spaces.byID {
		live = append(live, ns)
	}
	s.spaces.mu.Unlock()
	for _, ns := range live {
		// One deleted or evicted since the list was taken has nothing to
		// reset; it must not stop the others from being reset.
		if err := ns.Reset(sc); err != nil && !errors.Is(err, ErrNoNamespace) {
			return err
		}
	}
	return nil
}

// Watch reloads the scenario file at path whenever its content changes,
// polling every interval until ctx ends. It reads the file's current state
// before returning and then watches in the background. A reload that fails validation keeps
// the running scenario and logs every problem; a good one becomes the
// template for new namespaces and, when the file says `reload: {reset:
// true}`, resets the existing ones. Polling (rather than inotify) works the
// same on every OS, in containers and on network mounts.
func (s *Server) Watch(ctx context.Context, path string, interval time.Duration) {
	last, _ := os.ReadFile(path)
	var lastMod time.Time
	if fi, err := os.Stat(path); err == nil {
		lastMod = fi.ModTime()
	}
	go s.watchLoop(ctx, path, interval, last, lastMod)
}

func (s *Server) watchLoop(ctx context.Context, path string, interval time.Duration, last []byte, lastMod time.Time) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-t.C:
		}
		fi, err := os.Stat(path)
		if err != nil || (fi.ModTime().Equal(lastMod) && fi.Size() == int64(len(last))) {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil || bytes.Equal(data, last) {
			lastMod = fi.ModTime()
			continue
		}
		last, lastMod = data, fi.ModTime()
		sc, probs := LoadScenario(path, data)
		if len(probs) > 0 {
			for _, p := range probs {
				s.log.Warn("scenario reload rejected; keeping the running scenario", "problem", p.String())
			}
			continue
		}
		reset := sc.Common().Reload.Reset
		if err := s.ReplaceScenario(sc, reset); err != nil {
			s.log.Error("scenario reload failed", "err", err)
			continue
		}
		s.log.Info("scenario reloaded", "file", path, "name", sc.Common().Name, "resetExisting", reset)
	}
}
