//go:build race

package deploy

// raceEnabled reports whether this test binary was built with -race; the
// sandbox binary the nginx test runs is then built with it too, so that the
// build only links packages go test -race has compiled already.
const raceEnabled = true
