//go:build unix && !linux

package redisserver

import "syscall"

// sysProcAttr puts the server in a process group of its own: a terminal's Ctrl-C does not
// reach it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
