package main

import (
	"runtime/debug"
	"testing"
)

func TestVersionText(t *testing.T) {
	main := debug.Module{Path: "zhufang", Version: "v0.0.0-20261130101112-0123456789ab"}
	vcs := []debug.BuildSetting{
		{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-11-30T10:11:12Z"},
	}
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"clean", debug.BuildInfo{GoVersion: "go1.26.8", Path: "zhufang/cmd/zhufang", Main: main,
			Settings: append(vcs, debug.BuildSetting{Key: "vcs.modified", Value: "false"})},
			"zhufang  zhufang v0.0.0-20261130101112-0123456789ab\n" +
				"revision 0123456789abcdef0123456789abcdef01234567\n" +
				"commit   2026-11-30T10:11:12Z\n" +
				"go       go1.26.8 linux/amd64\n"},
		{"modified", debug.BuildInfo{GoVersion: "go1.26.8", Path: "zhufang/cmd/zhufang", Main: main,
			Settings: append(vcs, debug.BuildSetting{Key: "vcs.modified", Value: "true"})},
			"zhufang  zhufang v0.0.0-20261130101112-0123456789ab\n" +
				"revision 0123456789abcdef0123456789abcdef01234567-dirty (built with uncommitted changes)\n" +
				"commit   2026-11-30T10:11:12Z\n" +
				"go       go1.26.8 linux/amd64\n"},
		{"no vcs", debug.BuildInfo{GoVersion: "go1.26.8", Path: "zhufang/cmd/zhufang",
			Main:     debug.Module{Path: "zhufang", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"}}},
			"zhufang  zhufang (devel)\n" +
				"revision unknown (built without VCS information)\n" +
				"go       go1.26.8 linux/arm64\n"},
		{"bare", debug.BuildInfo{GoVersion: "go1.26.8", Path: "command-line-arguments"},
			"zhufang  command-line-arguments (devel)\n" +
				"revision unknown (built without VCS information)\n" +
				"go       go1.26.8\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionText(&tt.bi); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
