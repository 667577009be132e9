package cluster

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel send cmd SIGTERM when the cluster process
// dies, however it dies.
func setDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
}
