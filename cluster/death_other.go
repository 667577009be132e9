//go:build !linux

package cluster

import "os/exec"

// setDeathSignal has no portable equivalent off Linux: there, stop the
// cluster with a signal it can catch, and it stops its nodes.
func setDeathSignal(*exec.Cmd) {}
