package scenario

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type withDuration struct {
	Wait Duration `yaml:"wait" json:"wait"`
}

func TestDurationDecodesAndReportsItsLine(t *testing.T) {
	t.Parallel()
	f, _ := Parse("d.yaml", []byte("version: 1\nmine:\n  wait: 90s\n"))
	var c withDuration
	if probs := f.DecodeSection("mine", &c); len(probs) > 0 || c.Wait.D() != 90*time.Second {
		t.Fatalf("wait = %v, problems %v", c.Wait.D(), probs)
	}
	if b, _ := json.Marshal(c); string(b) != `{"wait":"1m30s"}` {
		t.Errorf("JSON %s", b)
	}
	f, _ = Parse("d.yaml", []byte("version: 1\nmine:\n  wait: soon\n"))
	probs := f.DecodeSection("mine", &withDuration{})
	if len(probs) != 1 || probs[0].Line != 3 || probs[0].Path != "mine.wait" || !strings.Contains(probs[0].Message, `"soon" is not a duration`) {
		t.Fatalf("problems %+v", probs)
	}
}
