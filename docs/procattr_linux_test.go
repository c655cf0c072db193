package docs

import "syscall"

// childProcAttr puts a child (a sandbox, a block's shell) in its own process
// group, so that it and whatever it started can be killed together, and has
// the kernel kill it when the test process dies: a -timeout panic or a kill
// skips the test's cleanups, and an orphaned sandbox would keep its port and
// run forever.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
