//go:build !race

package sandboxtest_test

// raceEnabled: see race_test.go.
const raceEnabled = false
