package sandboxtest_test

import "syscall"

// childProcAttr has the kernel kill the sandbox TestAgainstBinary starts
// when the test process dies: a -timeout panic or a kill skips the test's
// cleanups, and an orphaned sandbox would keep its port and run forever.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
