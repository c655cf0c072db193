// Package specs embeds the providers' OpenAPI documents, so the binary serves
// and validates against exactly the files in this folder.
package specs

import "embed"

// FS holds every *.yaml document of this folder.
//
//go:embed *.yaml
var FS embed.FS

// Must returns a document's bytes and panics when it is missing, which only
// a build from a broken tree can cause.
func Must(name string) []byte {
	b, err := FS.ReadFile(name)
	if err != nil {
		panic("specs: " + err.Error())
	}
	return b
}
