package adminclient_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGeneratedClientIsCurrent regenerates client.gen.go from
// specs/admin.yaml into a temporary file, exactly as `go generate
// ./adminclient` does, and fails when the committed file differs.
//
// The generator lives in the tools/codegen module. Outside CI the test never
// touches the network (GOPROXY=off): when that module is not in the local
// module cache yet, it skips (scripts/codegen-check.sh or one `go generate
// ./adminclient` fetches it). With CI set it may download and must run.
func TestGeneratedClientIsCurrent(t *testing.T) {
	t.Parallel()
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	out := filepath.Join(t.TempDir(), "client.gen.go")
	cmd := exec.Command("go", "-C", abs("../tools/codegen"), "tool", "oapi-codegen",
		"-config", abs("oapi-codegen.yaml"), "-o", out, abs("../specs/admin.yaml"))
	cmd.Env = os.Environ()
	if os.Getenv("CI") == "" {
		cmd.Env = append(cmd.Env, "GOPROXY=off")
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "" && strings.Contains(string(msg), "GOPROXY=off") {
			t.Skipf("the generator is not in the module cache and the test does not download it:\n%s", msg)
		}
		t.Fatalf("oapi-codegen: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("adminclient/client.gen.go is stale for specs/admin.yaml: run `go generate ./adminclient`")
	}
}

// The root go.mod requires the runtime version the generator's module pins,
// which is what the generated code is written for.
func TestRuntimeVersionMatchesGenerator(t *testing.T) {
	t.Parallel()
	const mod = "github.com/oapi-codegen/runtime"
	required := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(mod) + `\s+(\S+)`)
	version := func(goMod string) string {
		data, err := os.ReadFile(goMod)
		if err != nil {
			t.Fatal(err)
		}
		m := required.FindSubmatch(data)
		if m == nil {
			t.Fatalf("%s does not require %s", goMod, mod)
		}
		return string(m[1])
	}
	if root, tools := version("../go.mod"), version("../tools/codegen/go.mod"); root != tools {
		t.Errorf("go.mod requires %s %s, tools/codegen/go.mod %s: make them equal", mod, root, tools)
	}
}
