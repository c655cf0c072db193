//go:build unix

package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The doc runner is only worth having if it fails on a doc that drifts.
// These tests hold the parser, the comparisons and the runner to that.

func TestParseBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		md      string
		wantErr string // substring; "" means no error
		check   func(t *testing.T, bs []*block)
	}{
		{name: "output pairs with the sh block before it", md: "```sh\necho hi\n```\n\ntext\n\n```text output\nhi\n```\n",
			check: func(t *testing.T, bs []*block) {
				if len(bs) != 2 || bs[0].expect != bs[1] || !bs[0].runnable() || bs[1].runnable() {
					t.Fatalf("blocks not paired: %+v", bs)
				}
				if bs[0].line != 1 || bs[1].line != 7 || bs[0].body != "echo hi\n" {
					t.Fatalf("line or body wrong: %d %d %q", bs[0].line, bs[1].line, bs[0].body)
				}
			}},
		{name: "markers with values", md: "```sh exit=2 timeout=5s\nfalse\n```\n",
			check: func(t *testing.T, bs []*block) {
				if code, anyFail := wantExit(bs[0]); code != 2 || anyFail || blockTimeout(bs[0]) != 5*time.Second {
					t.Fatalf("markers: %v", bs[0].markers)
				}
			}},
		{name: "indented fence in a list item loses its indentation", md: "- step\n\n  ```sh\n  echo hi\n  ```\n",
			check: func(t *testing.T, bs []*block) {
				if len(bs) != 1 || bs[0].body != "echo hi\n" {
					t.Fatalf("body %q", bs[0].body)
				}
			}},
		{name: "longer fences hold shorter ones", md: "````markdown\n```sh\necho hi\n```\n````\n",
			check: func(t *testing.T, bs []*block) {
				if len(bs) != 1 || bs[0].lang != "markdown" {
					t.Fatalf("blocks %+v", bs)
				}
			}},
		{name: "unknown marker", md: "```sh nroun\necho\n```\n", wantErr: `unknown marker "nroun"`},
		{name: "output without a sh block", md: "```json\n{}\n```\n```json output\n{}\n```\n", wantErr: "must follow a sh block"},
		{name: "output at the start", md: "```text output\nx\n```\n", wantErr: "must follow a sh block"},
		{name: "curl in a json block", md: "```json\ncurl -s http://127.0.0.1:8080/\n```\n", wantErr: "contains a command"},
		{name: "transcript fenced as text", md: "```text\n$ sandbox health\nhealthy\n```\n", wantErr: "contains a command"},
		{name: "go run in an unlabelled block", md: "```\ngo run ./cmd/sandbox\n```\n", wantErr: "contains a command"},
		{name: "norun allows a command anywhere", md: "```text norun\ncurl -s http://example.test/\n```\n"},
		{name: "bad exit", md: "```sh exit=x\ntrue\n```\n", wantErr: `exit="x" is not a number`},
		{name: "bad timeout", md: "```sh timeout=soon\ntrue\n```\n", wantErr: `timeout="soon" is not a duration`},
		{name: "file outside the working directory", md: "```yaml file=../x.yaml\nversion: 1\n```\n", wantErr: "plain file name"},
		{name: "unclosed fence", md: "```sh\necho hi\n", wantErr: "never closed"},
		{name: "curl without an output block", md: "```sh\ncurl -s http://127.0.0.1:8080/x\n```\n", wantErr: "checks only curl's exit status"},
		{name: "curl in a command substitution without an output block", md: "```sh\nT=$(curl -s http://127.0.0.1:8080/x)\n```\n", wantErr: "checks only curl's exit status"},
		{name: "curl with an output block", md: "```sh\ncurl -s http://127.0.0.1:8080/x\n```\n\n```text output\nx\n```\n"},
		{name: "curl in a comment is not a call", md: "```sh\n# then curl -s it\necho\n```\n"},
		{name: "unmarked json right after a sh block", md: "```sh\necho '{}'\n```\n\n```json\n{}\n```\n", wantErr: "reads as its output"},
		{name: "json after prose is an illustration", md: "```sh\necho\n```\n\nThe answer has this shape:\n\n```json\n{}\n```\n"},
		{name: "output after a norun block", md: "```sh norun\nserve\n```\n```text output\nx\n```\n", wantErr: "after a norun block"},
		{name: "a bare sandbox call", md: "```sh\nsandbox scenario validate x.yaml\n```\n", wantErr: "write go run ./cmd/sandbox"},
		{name: "a bare sandbox call in a transcript", md: "```console\n$ sandbox health\nok\n```\n", wantErr: "write go run ./cmd/sandbox"},
		{name: "a bare sandbox call as a synopsis", md: "```sh norun\nsandbox intarget verify --base-url URL\n```\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bs, err := parseBlocks("x.md", tt.md)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, bs)
			}
		})
	}
}

func TestCompareText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		want, got string
		ok        bool
	}{
		{"a\nb", "a\nb\n", true},
		{"a\nb", "a  \nb\n\n", true}, // trailing spaces and lines do not count
		{"a\nb", "a\nc", false},
		{"a\nb", "a", false},
		{"a", "a\nb", false},
		{"id …", "id 17", true},
		{"id …", "no 17", false},
		{"…,…", "x,y", true},
		{"…,…", "xy", false}, // a pattern line still needs its literal text
		{"head\n…\ntail", "head\ntail", true},
		{"head\n…\ntail", "head\n1\n2\ntail", true},
		{"head\n…\ntail", "head\n1\n2\n", false},
		{"", "", true},
		{"", "unexpected", false},
		{"a.b", "axb", false}, // no regular expressions
	}
	for _, tt := range tests {
		if err := compareText(tt.want, tt.got); (err == nil) != tt.ok {
			t.Errorf("compareText(%q, %q) = %v, want ok=%v", tt.want, tt.got, err, tt.ok)
		}
	}
}

func TestCompareJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		want, got string
		subset    bool
		ok        bool
	}{
		{`{"a":1,"b":[true,null]}`, `{"b":[true,null],"a":1.0}`, false, true},
		{`{"a":1}`, `{"a":2}`, false, false},
		{`{"a":1}`, `{"a":"1"}`, false, false},
		{`{"a":1}`, `{"a":1,"b":2}`, false, false},
		{`{"a":1}`, `{"a":1,"b":2}`, true, true},
		{`{"a":1,"c":3}`, `{"a":1,"b":2}`, true, false},
		{`{"id":"…"}`, `{"id":17000000001}`, false, true},
		{`{"id":"…"}`, `{}`, false, false},
		{`{"m":"expired at …"}`, `{"m":"expired at 10:00"}`, false, true},
		{`{"m":"expired at …"}`, `{"m":"valid"}`, false, false},
		{`{"m":"20…"}`, `{"m":null}`, false, false},
		{`[1,2]`, `[1,2,3]`, false, false},
		{`[1,3]`, `[1,2,3]`, true, true},
		{`[3,1]`, `[1,2,3]`, true, false},
		{"1\n2", "1 2", false, true},
		{"1\n2", "1", false, false},
		{`{"a":1}`, `not json`, false, false},
		{`123456789012345678901`, `123456789012345678902`, false, false},
	}
	for _, tt := range tests {
		if err := compareJSON(tt.want, tt.got, tt.subset); (err == nil) != tt.ok {
			t.Errorf("compareJSON(%s, %s, subset=%v) = %v, want ok=%v", tt.want, tt.got, tt.subset, err, tt.ok)
		}
	}
}

// TestRunBlocks runs synthetic blocks without a sandbox: what must pass
// passes and every kind of drift is an error.
func TestRunBlocks(t *testing.T) {
	t.Parallel()
	d := &docRun{base: "http://127.0.0.1:1", work: t.TempDir(), receiver: "127.0.0.1:2"}
	d.env = blockEnv(d.work, "127.0.0.1:1")
	tests := []struct {
		name    string
		md      string
		wantErr string
	}{
		{"output matches", "```sh\necho hi\n```\n```text output\nhi\n```\n", ""},
		{"output differs", "```sh\necho hi\n```\n```text output\nbye\n```\n", "output differs"},
		{"json output", "```sh\necho '{\"a\": [1, 2]}'\n```\n```json output\n{\"a\":[1,2]}\n```\n", ""},
		{"stderr counts as output", "```sh\necho oops >&2\n```\n```text output\noops\n```\n", ""},
		{"a failing command fails the block", "```sh\nfalse\necho after\n```\n", "exit status 1, want 0"},
		{"exit=N", "```sh exit=3\nexit 3\n```\n", ""},
		{"exit=N, other status", "```sh exit=3\nexit 4\n```\n", "exit status 4, want 3"},
		{"fails", "```sh fails\nfalse\n```\n", ""},
		{"fails, but succeeds", "```sh fails\ntrue\n```\n", "marked fails"},
		{"timeout", "```sh timeout=300ms\nsleep 5\n```\n", "timed out"},
		{"a background child does not hold the block", "```sh\nsleep 30 &\necho done\n```\n```text output\ndone\n```\n", ""},
		{"the doc address is rewritten", "```sh\necho http://127.0.0.1:8080/x\n```\n```text output\nhttp://127.0.0.1:1/x\n```\n", ""},
		{"the developer's environment does not reach a block", "```sh\necho ${CI_JOB_ID:-none} $HOME\n```\n```text output\nnone " + d.work + "\n```\n", ""},
		{"the receiver address is rewritten", "```sh\necho http://127.0.0.1:9000/p \"('127.0.0.1', 9000)\"\n```\n```text output\nhttp://127.0.0.1:2/p ('127.0.0.1', 2)\n```\n", ""},
		{"go run ./cmd/sandbox is the built binary", "```sh\ngo run ./cmd/sandbox scenario validate scenarios/default.yaml\n```\n```text output\nscenarios/default.yaml: ok\n```\n", ""},
		{"console transcript", "```console\n$ echo a \\\n  b\na b\n$ echo c\nc\n```\n", ""},
		{"console transcript differs", "```console\n$ echo a\nb\n```\n", "output of"},
		{"console exit applies to the last command", "```console exit=1\n$ echo a\na\n$ sh -c 'echo no; exit 1'\nno\n```\n", ""},
		{"console: an earlier command fails", "```console exit=1\n$ false\n$ sh -c 'exit 1'\n```\n", "exit status 1, want 0"},
		{"yaml scenario", "```yaml\nversion: 1\nseed: 7\n```\n", ""},
		{"yaml section gets a version", "```yaml\nfaults:\n  - match: {provider: centili, operation: assignData}\n    respond: {status: 503}\n```\n", ""},
		{"yaml refused", "```yaml\nfaults:\n  - match: {provider: centili, operation: createTransaction}\n    respond: {status: 503}\n```\n", `has no operation "createTransaction"`},
		{"yaml invalid as marked", "```yaml invalid\nversion: 1\nseed: lots\n```\n", ""},
		{"yaml marked invalid but valid", "```yaml invalid\nversion: 1\n```\n", "marked invalid but loads"},
	}
	// The repository's scenarios/ must be readable from the working directory.
	if err := os.Symlink(filepath.Join(repoRoot, "scenarios"), filepath.Join(d.work, "scenarios")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs, err := parseBlocks("x.md", tt.md)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = d.exec(bs[0])
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("took %s: a background child or a timeout was not cut short", time.Since(start))
			}
		})
	}
}

// TestFileMarkerWritesTheBlock checks that file=NAME leaves the block's text
// in the working directory for later blocks.
func TestFileMarkerWritesTheBlock(t *testing.T) {
	t.Parallel()
	d := &docRun{base: "http://127.0.0.1:1", work: t.TempDir(), env: cleanEnv()}
	bs, err := parseBlocks("x.md", "```json file=rule.json\n{\"a\":1}\n```\n")
	if err != nil {
		t.Fatal(err)
	}
	// A json block is not run: the subtest writes the file, then skips.
	t.Run("write", func(t *testing.T) { d.run(t, bs[0]) })
	got, err := os.ReadFile(filepath.Join(d.work, "rule.json"))
	if err != nil || string(got) != "{\"a\":1}\n" {
		t.Fatalf("rule.json = %q, %v", got, err)
	}
}

func TestReferenceProblems(t *testing.T) {
	t.Parallel()
	// Places outside the repository are built from where it is checked out,
	// so the test names none: an absolute path beside it, and a relative
	// path that exists beside it (the checkout itself, reached through its
	// parent folder).
	beside := filepath.Join(filepath.Dir(repoRoot), "elsewhere", "notes.md")
	throughParent := filepath.Base(repoRoot) + "/README.md"
	// A checkout in a folder named like one of its own top-level entries
	// (a worktree called postman) reads that path as inside: not a case.
	_, ambiguous := os.Stat(filepath.Join(repoRoot, filepath.Base(repoRoot)))
	tests := []struct {
		file, line string
		bad        bool
	}{
		{"docs/centili.md", "Sources: the manual (`" + beside + "`)", true},
		{"docs/netrefer.md", "Behaviour comes from `" + throughParent + "`;", ambiguous != nil},
		{"docs/x.md", "notes in `../../elsewhere/notes.md`", true},
		{"docs/x.md", "Debian's `/usr/bin/chromium` and the path `/centili/datagifting/v1/transactions`", false},
		{"docs/x.md", "see `docs/nope.md`", true},
		{"docs/x.md", "see `docs/scenarios.md`.", false},
		{"README.md", "`scenarios/*.yaml` and `scenarios/nothing-*.yaml`", true},
		{"README.md", "`scenarios/*.yaml`", false},
		{"README.md", "each provider: `docs/<provider>.md`, `mocks/{netrefer,centili}`", false},
		{"docs/README.md", "[the README](../README.md#quick-start)", false},
		{"docs/README.md", "[gone](gone.md)", true},
		{"docs/README.md", "[outside](../../etc/passwd)", true},
		{"docs/README.md", "[web](https://example.test/x.md) and [here](#recipes)", false},
		{"README.md", "`my.yaml`, `report.json`, `http://127.0.0.1:8080/intarget`", false},
	}
	for _, tt := range tests {
		if got := referenceProblems(tt.file, tt.line); (len(got) > 0) != tt.bad {
			t.Errorf("referenceProblems(%q, %q) = %q, want bad=%v", tt.file, tt.line, got, tt.bad)
		}
	}
}
