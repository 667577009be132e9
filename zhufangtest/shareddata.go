// Package zhufangtest holds the test doubles and fixtures the tests of
// several packages share, each written once. It imports only the standard
// library, the root package and its embedded data (package data), so that
// the internal tests of any other package can use it; the database helpers
// are in sqlstore/sqltest.
package zhufangtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// SharedData returns the path of rel (slash-separated, for example
// "crime/chicago.csv") in the shared data folder: ../shared/data beside the
// module root, the folder holding go.mod above the test's working
// directory. That folder holds the data only tests use (crime records,
// Remote ID captures, CAP samples); the run-time data is embedded (package
// data). When it is missing the test skips saying so, except under CI=true,
// where it fails.
func SharedData(tb testing.TB, rel string) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	return sharedData(tb, wd, rel, os.Getenv)
}

// sharedData is SharedData from the working directory wd, with the
// environment read through getenv.
func sharedData(tb testing.TB, wd, rel string, getenv func(string) string) string {
	tb.Helper()
	path, err := findSharedData(wd, rel)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%v: this test needs test-only data, which is not in the repository but in ../shared/data beside the checkout", err)
	if getenv("CI") == "true" {
		tb.Fatal(msg + " (under CI=true its absence is a failure)")
	}
	tb.Skip(msg)
	return ""
}

// findSharedData finds rel in the shared data folder beside the module
// root above wd.
func findSharedData(wd, rel string) (string, error) {
	root, err := moduleRoot(wd)
	if err != nil {
		return "", err
	}
	path := filepath.Join(filepath.Dir(root), "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("shared data %s is missing (%s)", rel, path)
		}
		return "", fmt.Errorf("shared data %s: %w", rel, err)
	}
	return path, nil
}

// moduleRoot returns the nearest directory at or above dir holding go.mod.
func moduleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("no go.mod at or above %s, so no ../shared/data to look in", dir)
		}
		d = up
	}
}
