// Package specs embeds the providers' OpenAPI documents, so the binary serves
// and validates against exactly the files in this folder.
package specs

//go:generate go run ./jsongen

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// FS holds every *.yaml document of this folder.
//
//go:embed *.yaml
var FS embed.FS

// generated holds json/<name>.json, each document as the OpenAPI loader
// marshals it, and json/index ("<sha256 of the YAML> <name>.yaml" lines).
//
//go:embed json
var generated embed.FS

// Must returns a document's bytes and panics when it is missing, which only
// a build from a broken tree can cause.
func Must(name string) []byte {
	b, err := FS.ReadFile(name)
	if err != nil {
		panic("specs: " + err.Error())
	}
	return b
}

var index = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	b, err := generated.ReadFile("json/index")
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if sum, name, ok := strings.Cut(sc.Text(), " "); ok {
			out[sum] = name
		}
	}
	return out
})

// JSON returns the pre-generated JSON form of a YAML document from this
// folder, loaded faster than the YAML (no YAML parsing) into the same
// document. It reports false for any other bytes, including a document
// edited since `go generate ./specs` last ran: callers then load the YAML.
func JSON(yamlDoc []byte) ([]byte, bool) {
	sum := sha256.Sum256(yamlDoc)
	name, ok := index()[hex.EncodeToString(sum[:])]
	if !ok {
		return nil, false
	}
	b, err := generated.ReadFile("json/" + strings.TrimSuffix(name, ".yaml") + ".json")
	return b, err == nil
}

// GenerateJSON builds the JSON forms of every YAML document here and their
// index, as `go generate` writes them to json/. Each JSON form is the
// document loaded from the YAML and marshalled back, checked to load to
// the very same document.
func GenerateJSON() (files map[string][]byte, index []byte, err error) {
	names, err := fs.Glob(FS, "*.yaml")
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	files = map[string][]byte{}
	var idx bytes.Buffer
	for _, name := range names {
		y := Must(name)
		doc, err := openapi3.NewLoader().LoadFromData(y)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		j, err := json.Marshal(doc)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		again, err := openapi3.NewLoader().LoadFromData(j)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: JSON form does not load: %w", name, err)
		}
		if j2, _ := json.Marshal(again); !bytes.Equal(j, j2) {
			return nil, nil, fmt.Errorf("%s: the JSON form does not load to the same document", name)
		}
		files[strings.TrimSuffix(name, ".yaml")+".json"] = append(j, '\n')
		sum := sha256.Sum256(y)
		fmt.Fprintf(&idx, "%s %s\n", hex.EncodeToString(sum[:]), name)
	}
	return files, idx.Bytes(), nil
}
