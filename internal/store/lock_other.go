//go:build !unix

package store

import "os"

// lockDir is a no-op where flock is missing: running two sandboxes on one
// data directory there is the user's mistake to avoid.
func lockDir(path string) (*os.File, error) { return nil, nil }

func unlockDir(f *os.File) {}
