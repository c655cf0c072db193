package scenario

import (
	"bytes"
	"encoding/json"

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
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return Problems{syntaxProblem(name, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return Problems{{File: name, Message: "the body is empty", Hint: "send one JSON object"}}
	}
	f.root = doc.Content[0]
	if f.root.Kind != yaml.MappingNode {
		return Problems{{File: name, Message: "expected a JSON object (a mapping of keys to values)", Hint: "send one object, not a list or a single value"}}
	}
	probs := f.decode(f.root, out, "")
	if isJSON {
		for i := range probs {
			probs[i].Line = 0
		}
	}
	return probs
}
