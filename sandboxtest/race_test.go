//go:build race

package sandboxtest_test

// raceEnabled reports whether this test binary was built with -race; the
// sandbox binary TestAgainstBinary runs is then built with it too.
const raceEnabled = true
