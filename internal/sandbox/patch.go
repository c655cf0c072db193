package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/provider-sandbox/provider-sandbox/internal/jsonkind"
	"github.com/provider-sandbox/provider-sandbox/internal/mergepatch"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// patchSource is the file name problems of a merge patch carry: their
// paths are what locates them, since the patched document exists only in
// memory and its line numbers would point nowhere.
const patchSource = "merge patch"

// patchScenario serves PATCH /scenario: the body is a merge patch over the
// document GET /scenario returns. The result is checked exactly like a
// scenario file and, when valid, applied like PUT: the namespace is reset
// to it, and on the bare path it becomes the template for new namespaces.
// An invalid patch changes nothing.
func (s *Server) patchScenario(a *adminCall) {
	patch, _, ok := ReadMergePatch(a.w, a.r, MaxScenarioBytes, "a scenario merge patch", `{"clock":{"frozen":true}}`)
	if !ok {
		return
	}
	var probs scenario.Problems
	var patchErr error
	sc, err := a.ns.Update(func(cur *Scenario) *Scenario {
		var sc *Scenario
		sc, probs, patchErr = PatchScenario(cur, patch)
		return sc
	})
	switch {
	case patchErr != nil:
		writeProblem(a.w, http.StatusInternalServerError, "Merge patch failed", patchErr.Error(), nil)
		return
	case len(probs) > 0:
		writeProblem(a.w, http.StatusBadRequest, "Invalid scenario",
			fmt.Sprintf("the patched scenario has %d problem(s); nothing was changed", len(probs)), probs)
		return
	case err != nil:
		writeProblem(a.w, http.StatusBadRequest, "Scenario could not be applied", err.Error(), nil)
		return
	}
	if a.ns.Name == DefaultNamespace && a.prefix == "" {
		s.tmpl.Store(sc)
	}
	a.json(http.StatusOK, map[string]any{"loaded": sc.Common().Name, "namespace": a.ns.Name, "template": a.prefix == ""})
}

// PatchScenario merges patch (a decoded JSON value) into the document
// ScenarioJSON renders for cur and loads the result. Problems name field
// paths without lines. The token issuer is kept when the signing key does
// not change, so tokens issued before the patch still verify.
func PatchScenario(cur *Scenario, patch any) (*Scenario, scenario.Problems, error) {
	raw, err := json.Marshal(ScenarioJSON(cur))
	if err != nil {
		return nil, nil, err
	}
	target, err := decodeJSONValue(raw)
	if err != nil {
		return nil, nil, err
	}
	merged, err := json.MarshalIndent(mergepatch.Apply(target, patch), "", "  ")
	if err != nil {
		return nil, nil, err
	}
	sc, probs := LoadScenario(patchSource, merged)
	if len(probs) > 0 {
		for i := range probs {
			probs[i].Line = 0
		}
		return nil, probs, nil
	}
	if sc.Common().Keys.SigningKeyPEM == cur.Common().Keys.SigningKeyPEM {
		sc.Tokens = cur.Tokens
	}
	name := cur.File.Name
	if !strings.HasSuffix(name, " (patched)") {
		name += " (patched)"
	}
	sc.File.Name = name
	return sc, nil, nil
}

// decodeJSONValue reads exactly one JSON value, keeping numbers exact (a
// seed does not fit a float64).
func decodeJSONValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the body is empty; send a JSON object such as {\"clock\":{\"frozen\":true}}")
		}
		return nil, fmt.Errorf("the body is not JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("the body holds more than one JSON value")
	}
	return v, nil
}

// decodeYAMLValue reads a YAML fragment as the JSON value it spells.
// Scalars other than null, booleans and numbers keep their text, so an
// unquoted timestamp stays the string the scenario expects.
// Like a JSON body, it must be one value: a second `---` document or text
// after the first is refused, not silently dropped.
func decodeYAMLValue(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the body is not YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("the body is empty; send a mapping such as `clock: {frozen: true}`")
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, errors.New("the body holds more than one YAML document, or text after the first; send one mapping")
	}
	// Aliases are expanded in place, so a few hundred bytes of nested
	// aliases ("billion laughs") would build millions of values and exhaust
	// memory. A fragment without aliases spells at most about two values per
	// byte (`a:` is a mapping, a key and a null), which bounds the expansion.
	budget := 2*len(data) + 16
	return yamlValue(doc.Content[0], 0, &budget)
}

func yamlValue(n *yaml.Node, depth int, budget *int) (any, error) {
	if depth > 100 {
		return nil, errors.New("the YAML fragment is nested too deeply")
	}
	if *budget--; *budget < 0 {
		return nil, errors.New("the YAML fragment's aliases expand to more values than a fragment of its size can hold; write the values out")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1, budget)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
				return nil, fmt.Errorf("line %d: keys must be names", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q is given more than once in the same mapping; give it once", k.Line, k.Value)
			}
			v, err := yamlValue(n.Content[i+1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := yamlValue(item, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, fmt.Errorf("line %d: %v", n.Line, err)
			}
			// JSON has no infinity or NaN; the merged document could not
			// be encoded.
			if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
				return nil, fmt.Errorf("line %d: %s is not a JSON number", n.Line, n.Value)
			}
			return v, nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// kindOf names a decoded JSON value's type for messages.
func kindOf(v any) string {
	raw, _ := json.Marshal(v)
	return jsonkind.Of(raw)
}
