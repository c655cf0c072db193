package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// DecodeDocument strictly decodes one standalone YAML or JSON document that
// must be a mapping (an admin request body such as a fault rule) into out,
// and reports what is wrong exactly as for a scenario file: the field path,
// the message and a hint ("did you mean"), every problem in one pass. name
// is used as the problems' file.
//
// A JSON body is usually one line, and yaml.v3 locates a type error only by
// line, so JSON is re-indented first (one key per line) to find the field;
// the line numbers are then the re-indented text's and are left out.
func DecodeDocument(name string, data []byte, out any) Problems {
	src := data
	isJSON := json.Valid(bytes.TrimSpace(data))
	if isJSON {
		var buf bytes.Buffer
		if json.Indent(&buf, data, "", " ") == nil {
			src = buf.Bytes()
		}
	}
	f := &File{Name: name, Source: src}
	doc, prob := parseOne(name, src, "send one JSON object and nothing after it")
	if prob != nil {
		return Problems{*prob}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return Problems{{File: name, Message: "the body is empty", Hint: "send one JSON object"}}
	}
	f.root = doc.Content[0]
	if f.root.Kind != yaml.MappingNode {
		return Problems{{File: name, Message: "expected a JSON object (a mapping of keys to values)", Hint: "send one object, not a list or a single value"}}
	}
	probs := f.dropDuplicateKeys(f.root, "")
	probs = append(probs, f.decode(f.root, out, "")...)
	if isJSON {
		for i := range probs {
			probs[i].Line = 0
		}
	}
	return probs
}

// parseOne parses data as exactly one YAML (or JSON) document. yaml.Unmarshal
// reads the first document and silently drops whatever follows it, a second
// `---` document or trailing text such as `{"a":1} garbage`; here either is
// a problem, so that nothing a user sent is ignored without a word. An
// empty input gives a zero node and no problem. hint says what to send.
func parseOne(name string, data []byte, hint string) (yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return yaml.Node{}, nil
		}
		p := syntaxProblem(name, err)
		return doc, &p
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return doc, nil
	case err == nil:
		// The document node's line is its `---` line.
		return doc, &Problem{File: name, Line: next.Line,
			Message: "a second YAML document starts at this `---` line; only one document is accepted",
			Hint:    hint + "; remove the `---` line and what follows it, or merge the two"}
	default:
		// yaml.v3's own words here ("did not find expected <document
		// start>") mean nothing to someone who sent one object and a typo.
		p := syntaxProblem(name, err)
		p.Message = "unexpected content after the end of the first document; only one JSON object or YAML document is accepted"
		p.Hint = hint
		return doc, &p
	}
}

// dropDuplicateKeys reports every key given more than once in a mapping,
// once per key, and removes the repeats (keeping the first) so that the rest
// of the document still decodes and its other problems are found in the
// same pass. Left to yaml.v3, a key given three times is reported three
// times, each pointing at "line N" (meaningless in a re-indented JSON body),
// and decoding of that mapping stops, hiding whatever else is wrong there.
func (f *File) dropDuplicateKeys(node *yaml.Node, path string) Problems {
	var probs Problems
	switch node.Kind {
	case yaml.DocumentNode:
		for _, c := range node.Content {
			probs = append(probs, f.dropDuplicateKeys(c, path)...)
		}
	case yaml.SequenceNode:
		for i, c := range node.Content {
			probs = append(probs, f.dropDuplicateKeys(c, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case yaml.MappingNode:
		type seen struct {
			count, second int // how often, and the line of the first repeat
		}
		keys := map[string]*seen{}
		var order []string
		kept := node.Content[:0:0]
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value != "<<" {
				if s, dup := keys[k.Value]; dup {
					s.count++
					if s.second == 0 {
						s.second = k.Line
					}
					continue
				}
				keys[k.Value] = &seen{count: 1}
				order = append(order, k.Value)
			}
			kept = append(kept, k, v)
			probs = append(probs, f.dropDuplicateKeys(v, join(path, k.Value))...)
		}
		node.Content = kept
		for _, k := range order {
			if s := keys[k]; s.count > 1 {
				probs = append(probs, Problem{File: f.Name, Line: s.second, Path: join(path, k),
					Message: fmt.Sprintf("key %q is given %d times in the same mapping", k, s.count),
					Hint:    "give it once: remove the repeats, or merge their values into one"})
			}
		}
	}
	return probs
}
