package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

// runVersion prints what the Go toolchain recorded in the binary: module
// version, VCS revision and commit time, Go version.
func runVersion(ctx context.Context, c call) error {
	fs := c.flags("version", "Prints the module version, the VCS revision and commit time, and the Go version\n"+
		"this binary was built from, as the Go toolchain recorded them.")
	if err := fs.parse(c.args); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(c.stdout, "zhufang: no build information (not built as a Go module)")
		return nil
	}
	fmt.Fprint(c.stdout, versionText(bi))
	return nil
}

// versionText formats build information, one fact a line.
func versionText(bi *debug.BuildInfo) string {
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	path := bi.Main.Path
	if path == "" {
		path = bi.Path
	}
	var b strings.Builder
	fmt.Fprintf(&b, "zhufang  %s %s\n", path, version)
	if rev := set["vcs.revision"]; rev != "" {
		if set["vcs.modified"] == "true" {
			rev += "-dirty (built with uncommitted changes)"
		}
		fmt.Fprintf(&b, "revision %s\n", rev)
		if t := set["vcs.time"]; t != "" {
			fmt.Fprintf(&b, "commit   %s\n", t)
		}
	} else {
		fmt.Fprintln(&b, "revision unknown (built without VCS information)")
	}
	goVersion := bi.GoVersion
	if os, arch := set["GOOS"], set["GOARCH"]; os != "" && arch != "" {
		goVersion += " " + os + "/" + arch
	}
	fmt.Fprintf(&b, "go       %s\n", goVersion)
	return b.String()
}
