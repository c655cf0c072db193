//go:build unix && !linux

package docs

import "syscall"

// childProcAttr puts a child in its own process group, so that it and
// whatever it started can be killed together. Only Linux can also tie the
// child's life to the test process (see procattr_linux_test.go).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
