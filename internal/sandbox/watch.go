package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
//
// It is all or nothing: every new world is built before anything is
// swapped, so a scenario that cannot be built in one namespace (a provider
// refusing to start) changes no namespace and not the template, and the
// *ReplaceError names the namespace. A namespace deleted or evicted in the
// meantime is skipped.
func (s *Server) ReplaceScenario(sc *Scenario, resetExisting bool) ([]string, error) {
	built := map[*Namespace]*world{}
	discard := func() {
		for _, w := range built {
			w.close()
		}
	}
	for {
		// Namespaces created while worlds were being built came from the
		// old template; they are built too, until a pass finds none new.
		// The template is replaced under the same lock as that last look,
		// so every namespace is either in the list or built from sc.
		s.spaces.mu.Lock()
		var todo []*Namespace
		for name, ns := range s.spaces.byID {
			if _, done := built[ns]; !done && (name == DefaultNamespace || resetExisting) {
				todo = append(todo, ns)
			}
		}
		if len(todo) == 0 {
			s.tmpl.Store(sc)
			s.spaces.mu.Unlock()
			break
		}
		s.spaces.mu.Unlock()
		sort.Slice(todo, func(i, j int) bool { return todo[i].Name < todo[j].Name })
		for _, ns := range todo {
			w, err := ns.build(sc)
			if err != nil {
				discard()
				return nil, &ReplaceError{Namespace: ns.Name, Err: err}
			}
			built[ns] = w
		}
	}
	live := make([]*Namespace, 0, len(built))
	for ns := range built {
		live = append(live, ns)
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	var reset []string
	for _, ns := range live {
		if ns.install(built[ns]) {
			reset = append(reset, ns.Name)
		}
	}
	return reset, nil
}

// ReplaceError is a scenario that could not be built in a namespace; no
// namespace was changed.
type ReplaceError struct {
	Namespace string
	Err       error
}

func (e *ReplaceError) Error() string {
	return fmt.Sprintf("namespace %s: %v", e.Namespace, e.Err)
}

func (e *ReplaceError) Unwrap() error { return e.Err }

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
	// gone and empty remember that the file's absence or emptiness was
	// already logged, so it is logged once and not at every poll.
	gone, empty bool
}

// NewWatcher starts following path from its current content, which is taken
// to be the scenario already running.
func (s *Server) NewWatcher(path string) *Watcher {
	w := &Watcher{s: s, path: path}
	w.last, _ = os.ReadFile(path)
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
	// The content is read at every poll and compared byte for byte: a
	// modification time and size that did not change do not prove the
	// content did not (an edit within a coarse filesystem's timestamp
	// resolution, a tool that restores times). A scenario file is a few
	// kilobytes, so a read every half second costs next to nothing.
	data, err := os.ReadFile(w.path)
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
	wasMissing := w.gone || w.empty
	w.gone = false
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
	sc, probs := LoadScenarioFile(w.path, data)
	if len(probs) > 0 {
		for _, p := range probs {
			log.Warn("scenario reload rejected; keeping the running scenario", "problem", p.String())
		}
		return
	}
	resetAll := sc.Common().Reload.Reset
	reset, err := w.s.ReplaceScenario(sc, resetAll)
	if err != nil {
		var re *ReplaceError
		if errors.As(err, &re) {
			log.Error("scenario reload failed; every namespace keeps the running scenario", "file", w.path, "namespace", re.Namespace, "err", re.Err)
		} else {
			log.Error("scenario reload failed; every namespace keeps the running scenario", "file", w.path, "err", err)
		}
		return
	}
	log.Info("scenario reloaded; state reset", "file", w.path, "name", sc.Common().Name, "reset", reset, "resetAllNamespaces", resetAll)
}
