package redisserver

import "syscall"

// sysProcAttr puts the server in a process group of its own (a terminal's Ctrl-C does not
// reach it) and has the kernel kill it when the thread that started it exits.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
