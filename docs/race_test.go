//go:build race

package docs

// raceEnabled reports whether this test binary was built with -race; the
// sandbox binary the docs run is then built with it too.
const raceEnabled = true
