package clients_test

import "syscall"

// childProcAttr has the kernel kill a sandbox or script the test started
// when the test process dies: a -timeout panic or a kill skips the test's
// cleanups, and an orphaned sandbox would keep its ports and run forever.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
