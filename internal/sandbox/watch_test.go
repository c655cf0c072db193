package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

func TestWatchReloadsGoodFilesAndKeepsBadOnes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.yaml")
	write := func(s string) {
		// A distinct size guarantees the change is seen even when the
		// modification time does not move within the poll interval.
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(echoScenario)
	sc, _ := sandbox.LoadScenario(path, []byte(echoScenario))
	srv, err := sandbox.New(sandbox.Config{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.Watch(ctx, path, 5*time.Millisecond)

	nameOf := func(ns string) string {
		n, err := srv.Namespace(ns)
		if err != nil {
			t.Fatal(err)
		}
		return n.Scenario().Common().Name
	}
	fresh := 0
	// waitFor polls an existing namespace, or a new one each time when ns is "".
	waitFor := func(ns, want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		name := func() string {
			if ns != "" {
				return ns
			}
			fresh++
			return "fresh-" + strconv.Itoa(fresh)
		}
		for nameOf(name()) != want {
			if time.Now().After(deadline) {
				t.Fatalf("namespace %q does not run %q", ns, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if nameOf("before") != "echo-test" {
		t.Fatal("initial scenario")
	}
	// A good reload applies to new namespaces only.
	write("version: 1\nname: second\n")
	waitFor("", "second")
	if nameOf("before") != "echo-test" || nameOf("default") != "echo-test" {
		t.Error("reload without reset changed existing namespaces")
	}
	// A bad reload keeps the running scenario.
	write("version: 1\nname: broken\nclock:\n  frozn: true\n")
	time.Sleep(50 * time.Millisecond)
	if nameOf("new-2") != "second" {
		t.Errorf("invalid reload was applied: %s", nameOf("new-2"))
	}
	// reload.reset resets the existing namespaces too.
	write("version: 1\nname: third-with-reset\nreload:\n  reset: true\n")
	waitFor("before", "third-with-reset")
	waitFor("default", "third-with-reset")
}
