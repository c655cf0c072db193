// Command gen writes the Postman collection and environment of the default
// scenario into the current directory; `go generate ./postman` runs it there.
package main

import (
	"fmt"
	"os"

	"github.com/provider-sandbox/provider-sandbox/postman"
)

func main() {
	col, env, err := postman.Generate()
	if err == nil {
		err = os.WriteFile(postman.CollectionFile, col, 0o644)
	}
	if err == nil {
		err = os.WriteFile(postman.EnvironmentFile, env, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "postman:", err)
		os.Exit(1)
	}
}
