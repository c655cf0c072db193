//go:build !linux

package clients_test

import "syscall"

// childProcAttr: see procattr_linux_test.go (other systems have no Pdeathsig).
func childProcAttr() *syscall.SysProcAttr { return nil }
