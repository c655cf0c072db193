package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sandbox snapshot save writes a namespace to a file, load restores it
// into another, a refused file is exit 1 with the problem, and a scenario
// naming the file validates.
func TestSnapshotSaveAndLoad(t *testing.T) {
	t.Parallel()
	p := start(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "demo.snapshot.json")
	code, out, errOut := runBin(t, nil, "snapshot", "save", "--url", p.base, "--journal", "-o", file)
	if code != 0 || !strings.HasPrefix(out, "saved namespace default to "+file+" (") || errOut != "" {
		t.Fatalf("save: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = runBin(t, nil, "snapshot", "load", "--url", p.base, "--namespace", "copy", file)
	if code != 0 || !strings.HasPrefix(out, "restored namespace copy from a snapshot of default taken at ") || errOut != "" {
		t.Errorf("load: exit %d, %q %q", code, out, errOut)
	}
	code, stdout, _ := runBin(t, nil, "snapshot", "save", "--url", p.base+"/", "--namespace", "copy")
	if code != 0 || !strings.Contains(stdout, `"namespace": "copy"`) || strings.Contains(stdout, `"journal"`) {
		t.Errorf("save to stdout: exit %d, %.200q", code, stdout)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"format":"provider-sandbox/snapshot","version":7}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runBin(t, nil, "snapshot", "load", "--url", p.base, bad)
	if want := "sandbox snapshot load: 400 Invalid snapshot: version 7 is not supported; this sandbox reads version 1; nothing was changed\n"; code != 1 || errOut != want {
		t.Errorf("load of a bad file: exit %d, %q, want %q", code, errOut, want)
	}
	for _, args := range [][]string{{"snapshot"}, {"snapshot", "keep"}, {"snapshot", "load", "--url", p.base}, {"snapshot", "save", "extra"}, {"snapshot", "save", "--namespace", "a/b"}} {
		if code, _, _ := runBin(t, nil, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	sc := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(sc, []byte("version: 1\nname: demo\nsnapshot: demo.snapshot.json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runBin(t, nil, "scenario", "validate", sc); code != 0 || out != sc+": ok\n" {
		t.Errorf("validate a scenario naming the snapshot: exit %d %q %q", code, out, errOut)
	}
	p.stop(t)
}
