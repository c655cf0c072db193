package sandbox_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// logBuffer collects log lines without their time, for exact comparison.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns the lines written since the last call.
func (b *logBuffer) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	b.buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestWatchAppliesEditsToDefaultAtOnce drives a Watcher poll by poll (no
// timing involved) through the edits a user makes: a good edit resets the
// default namespace at once and leaves other namespaces alone unless the
// file says reload.reset; a bad edit, a deleted file and an emptied file
// are logged and change nothing.
func TestWatchAppliesEditsToDefaultAtOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(echoScenario)
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	sc, _ := sandbox.LoadScenario(path, []byte(echoScenario))
	srv, err := sandbox.New(sandbox.Config{Scenario: sc, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w := srv.NewWatcher(path)

	nameOf := func(ns string) string {
		t.Helper()
		n, err := srv.Namespace(ns)
		if err != nil {
			t.Fatal(err)
		}
		return n.Scenario().Common().Name
	}
	items := func(ns string) int {
		n, _ := srv.Namespace(ns)
		st, _ := n.State("echo")
		return len(st.(sandbox.Snapshotter).Snapshot().(map[string]any)["items"].([]echoItem))
	}
	// Some state in default and in a job's namespace.
	for _, ns := range []string{"default", "job"} {
		n, _ := srv.Namespace(ns)
		st, _ := n.State("echo")
		es := st.(*echoState)
		es.mu.Lock()
		es.items = append(es.items, echoItem{ID: 1})
		es.mu.Unlock()
	}
	wantLogs := func(step string, want ...string) {
		t.Helper()
		if got := logs.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: logged\n%s\nwant\n%s", step, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	w.Check()
	wantLogs("no change")

	write("version: 1\nname: second\n")
	w.Check()
	wantLogs("good edit", `level=INFO msg="scenario reloaded; state reset" file=`+path+` name=second reset=[default] resetAllNamespaces=false`)
	if nameOf("default") != "second" || items("default") != 0 {
		t.Errorf("default runs %q with %d items, want the edit applied and state reset", nameOf("default"), items("default"))
	}
	if nameOf("job") != "echo-test" || items("job") != 1 {
		t.Errorf("job runs %q with %d items, want it untouched", nameOf("job"), items("job"))
	}
	if nameOf("new-one") != "second" {
		t.Errorf("a new namespace runs %q", nameOf("new-one"))
	}

	write("version: 1\nname: broken\nclock:\n  frozn: true\n")
	w.Check()
	wantLogs("bad edit", `level=WARN msg="scenario reload rejected; keeping the running scenario" problem="`+path+`:4: clock.frozn: unknown key \"frozn\" (hint: did you mean \"frozen\"?)"`)
	if nameOf("default") != "second" || nameOf("new-two") != "second" {
		t.Error("an invalid edit was applied")
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	w.Check()
	w.Check()
	wantLogs("deleted", `level=WARN msg="scenario file is gone; keeping the running scenario until it is back" file=`+path)

	write("   \n")
	w.Check()
	w.Check()
	wantLogs("emptied", `level=WARN msg="scenario file is empty; keeping the running scenario" file=`+path)
	if nameOf("default") != "second" {
		t.Error("an empty file was applied")
	}

	write("version: 1\nname: third-with-reset\nreload:\n  reset: true\n")
	w.Check()
	wantLogs("reset everywhere", `level=INFO msg="scenario reloaded; state reset" file=`+path+` name=third-with-reset reset="[default job new-one new-two]" resetAllNamespaces=true`)
	for _, ns := range []string{"default", "job", "new-one"} {
		if nameOf(ns) != "third-with-reset" || items(ns) != 0 {
			t.Errorf("%s runs %q with %d items after reload.reset", ns, nameOf(ns), items(ns))
		}
	}
}

// newWatchedServer starts a server on the scenario file at path (written
// with content) and returns it with a log buffer that drops times.
func newWatchedServer(t *testing.T, path, content string) (*sandbox.Server, *logBuffer) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	sc, probs := sandbox.LoadScenario(path, []byte(content))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	srv, err := sandbox.New(sandbox.Config{Scenario: sc, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, logs
}

// TestWatchSeesASameSizeEditWithTheSameTimestamp: an edit that keeps the
// file's size and modification time (within a coarse filesystem's timestamp
// resolution, or by a tool that restores times) is still applied, because
// the content is compared, not the file's stat.
func TestWatchSeesASameSizeEditWithTheSameTimestamp(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.yaml")
	srv, logs := newWatchedServer(t, path, "version: 1\nname: aaaa\n")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	w := srv.NewWatcher(path)
	w.Check()
	if got := logs.take(); len(got) != 0 {
		t.Fatalf("unchanged file logged %v", got)
	}
	if err := os.WriteFile(path, []byte("version: 1\nname: bbbb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.Stat(path); now.Size() != fi.Size() || !now.ModTime().Equal(fi.ModTime()) {
		t.Fatalf("the edit changed the stat (%d %v, was %d %v)", now.Size(), now.ModTime(), fi.Size(), fi.ModTime())
	}
	w.Check()
	want := `level=INFO msg="scenario reloaded; state reset" file=` + path + ` name=bbbb reset=[default] resetAllNamespaces=false`
	if got := strings.Join(logs.take(), "\n"); got != want {
		t.Errorf("logged\n%s\nwant\n%s", got, want)
	}
	ns, _ := srv.Namespace("default")
	if name := ns.Scenario().Common().Name; name != "bbbb" {
		t.Errorf("default runs %q, want the edit applied", name)
	}
}

// TestWatchReloadIsAllOrNothing: when the new scenario cannot be built in
// one of the namespaces it is to reset (here a provider refuses to start in
// "job"), nothing changes: default keeps its world and state, the template
// stays, and the log says every namespace kept the running scenario.
func TestWatchReloadIsAllOrNothing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, failIn, reset string }{
		{"default fails", "default", "false"},
		{"another namespace fails under reload.reset", "job", "true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "s.yaml")
			srv, logs := newWatchedServer(t, path, echoScenario)
			w := srv.NewWatcher(path)
			for _, name := range []string{"default", "job"} {
				n, _ := srv.Namespace(name)
				st, _ := n.State("echo")
				es := st.(*echoState)
				es.mu.Lock()
				es.items = append(es.items, echoItem{ID: 1})
				es.mu.Unlock()
			}
			edit := "version: 1\nname: edited\nreload: {reset: " + c.reset + "}\necho:\n  failIn: " + c.failIn + "\n"
			if err := os.WriteFile(path, []byte(edit), 0o644); err != nil {
				t.Fatal(err)
			}
			w.Check()
			want := `level=ERROR msg="scenario reload failed; every namespace keeps the running scenario" file=` + path +
				` namespace=` + c.failIn + ` err="echo: echo refuses to start in namespace \"` + c.failIn + `\""`
			if got := strings.Join(logs.take(), "\n"); got != want {
				t.Errorf("logged\n%s\nwant\n%s", got, want)
			}
			for _, name := range []string{"default", "job", "fresh"} {
				n, err := srv.Namespace(name)
				if err != nil {
					t.Fatal(err)
				}
				if got := n.Scenario().Common().Name; got != "echo-test" {
					t.Errorf("%s runs %q, want the running scenario kept", name, got)
				}
				st, _ := n.State("echo")
				if items := len(st.(*echoState).items); name != "fresh" && items != 1 {
					t.Errorf("%s has %d items, want its state kept", name, items)
				}
			}
			// The same content is not retried at every poll; a fixed file
			// is applied.
			w.Check()
			if got := logs.take(); len(got) != 0 {
				t.Errorf("the failed content was retried: %v", got)
			}
			if err := os.WriteFile(path, []byte("version: 1\nname: fixed\nreload: {reset: "+c.reset+"}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			w.Check()
			if n, _ := srv.Namespace("default"); n.Scenario().Common().Name != "fixed" {
				t.Errorf("default runs %q after the fix", n.Scenario().Common().Name)
			}
		})
	}
}
