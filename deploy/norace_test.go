//go:build !race

package deploy

// raceEnabled: see race_test.go.
const raceEnabled = false
