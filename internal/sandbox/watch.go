package sandbox

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"sort"
	"time"
)

// ReplaceScenario makes sc the template for namespaces created from now on
// and resets the default namespace to it, so that what a user sees on the
// bare URLs follows the file at once. With resetExisting, every other live
// namespace is reset as well; otherwise they keep the world they have (a CI
// job in its own namespace is not disturbed by an edit). It returns the
// namespaces it reset.
func (s *Server) ReplaceScenario(sc *Scenario, resetExisting bool) ([]string, error) {
	s.tmpl.Store(sc)
	s.spaces.mu.Lock()
	live := make([]*Namespace, 0, len(s.spaces.byID))
	for name, ns := range s.spaces.byID {
		if name == DefaultNamespace || resetExisting {
			live = append(live, ns)
		}
	}
	s.spaces.mu.Unlock()
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	var reset []string
	for _, ns := range live {
		// One deleted or evicted since the list was taken has nothing to
		// reset; it must not stop the others from being reset.
		if err := ns.Reset(sc); err != nil {
			if errors.Is(err, ErrNoNamespace) {
				continue
			}
			return reset, err
		}
		reset = append(reset, ns.Name)
	}
	return reset, nil
}

// Watch reloads the scenario file at path whenever its content changes,
// polling every interval until ctx ends. It reads the file's current state
// before returning and then watches in the background. Polling (rather than
// inotify) works the same on every OS, in containers and on network mounts.
// What a change does is Watcher.Check's.
func (s *Server) Watch(ctx context.Context, path string, interval time.Duration) {
	w := s.NewWatcher(path)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.stop:
				return
			case <-t.C:
				w.Check()
			}
		}
	}()
}

// Watcher follows one scenario file for a server. Check is one poll; Watch
// calls it on a ticker, tests call it directly.
type Watcher struct {
	s    *Server
	path string
	last []byte // content last seen (applied, rejected or unchanged)
	mod  time.Time
	// gone and empty remember that the file's absence or emptiness was
	// already logged, so it is logged once and not at every poll.
	gone, empty bool
}

// NewWatcher starts following path from its current content, which is taken
// to be the scenario already running.
func (s *Server) NewWatcher(path string) *Watcher {
	w := &Watcher{s: s, path: path}
	w.last, _ = os.ReadFile(path)
	if fi, err := os.Stat(path); err == nil {
		w.mod = fi.ModTime()
	}
	return w
}

// Check looks at the file once and acts on a change:
//   - a good edit becomes the template, resets the default namespace at once
//     and, with `reload: {reset: true}`, every other live namespace (logged
//     with the namespaces it reset);
//   - an edit that fails validation is logged problem by problem and the
//     running scenario stays;
//   - a deleted or emptied file is logged once (an editor that truncates
//     before writing, a file moved away) and the running scenario stays.
func (w *Watcher) Check() {
	log := w.s.log
	fi, err := os.Stat(w.path)
	if err != nil {
		if !w.gone {
			w.gone = true
			if errors.Is(err, fs.ErrNotExist) {
				log.Warn("scenario file is gone; keeping the running scenario until it is back", "file", w.path)
			} else {
				log.Warn("scenario file cannot be read; keeping the running scenario", "file", w.path, "err", err)
			}
		}
		return
	}
	if fi.ModTime().Equal(w.mod) && fi.Size() == int64(len(w.last)) && !w.gone {
		return
	}
	data, err := os.ReadFile(w.path)
	if err != nil {
		if !w.gone {
			w.gone = true
			log.Warn("scenario file cannot be read; keeping the running scenario", "file", w.path, "err", err)
		}
		return
	}
	wasMissing := w.gone || w.empty
	w.gone, w.mod = false, fi.ModTime()
	if len(bytes.TrimSpace(data)) == 0 {
		if !w.empty {
			w.empty = true
			log.Warn("scenario file is empty; keeping the running scenario", "file", w.path)
		}
		return
	}
	w.empty = false
	if bytes.Equal(data, w.last) {
		if wasMissing {
			log.Info("scenario file is back, unchanged; nothing to reload", "file", w.path)
		}
		return
	}
	w.last = data
	sc, probs := LoadScenario(w.path, data)
	if len(probs) > 0 {
		for _, p := range probs {
			log.Warn("scenario reload rejected; keeping the running scenario", "problem", p.String())
		}
		return
	}
	resetAll := sc.Common().Reload.Reset
	reset, err := w.s.ReplaceScenario(sc, resetAll)
	if err != nil {
		log.Error("scenario reload failed", "file", w.path, "err", err)
		return
	}
	log.Info("scenario reloaded; state reset", "file", w.path, "name", sc.Common().Name, "reset", reset, "resetAllNamespaces", resetAll)
}
