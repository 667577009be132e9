package zhufangtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records a Skip or Fatal and, like the real
// ones, ends the goroutine that called it.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.failed, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// call runs sharedData on a recorder, on its own goroutine as Skip and
// Fatal end it.
func call(wd, rel string, env map[string]string) (string, *recorder) {
	r := &recorder{}
	var got string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = sharedData(r, wd, rel, func(k string) string { return env[k] })
	}()
	<-done
	return got, r
}

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	d := filepath.Join(parts...)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSharedData(t *testing.T) {
	tmp := t.TempDir()
	root := mkdir(t, tmp, "zhufang")
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module zhufang\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := mkdir(t, root, "cmd", "zhufang")
	crime := mkdir(t, tmp, "shared", "data", "crime")
	if err := os.WriteFile(filepath.Join(crime, "x.csv"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lone := mkdir(t, tmp, "lone") // no go.mod above it in the temp dir

	t.Run("present", func(t *testing.T) {
		for _, env := range []map[string]string{nil, {"CI": "true"}} {
			got, r := call(pkg, "crime/x.csv", env)
			if r.skipped || r.failed || got != filepath.Join(crime, "x.csv") {
				t.Fatalf("CI=%q: got %q, skipped %v, failed %v (%s)", env["CI"], got, r.skipped, r.failed, r.msg)
			}
		}
	})
	tests := []struct {
		name, wd, rel, ci string
		skipped, failed   bool
		says              string
	}{
		{"missing skips", pkg, "remoteid/beacon.pcap", "", true, false, "shared data remoteid/beacon.pcap is missing"},
		{"missing skips outside CI", pkg, "cap", "false", true, false, "not in the repository but in ../shared/data"},
		{"missing fails in CI", pkg, "remoteid/beacon.pcap", "true", false, true, "under CI=true its absence is a failure"},
		{"no module skips", lone, "crime/x.csv", "", true, false, "no go.mod at or above"},
		{"no module fails in CI", lone, "crime/x.csv", "true", false, true, "no go.mod at or above"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wd == lone {
				if _, err := moduleRoot(lone); err == nil {
					t.Skip("a go.mod above the temp dir leaves no directory without a module")
				}
			}
			got, r := call(tt.wd, tt.rel, map[string]string{"CI": tt.ci})
			if r.skipped != tt.skipped || r.failed != tt.failed || got != "" {
				t.Fatalf("got %q, skipped %v, failed %v; want skipped %v, failed %v", got, r.skipped, r.failed, tt.skipped, tt.failed)
			}
			if !strings.Contains(r.msg, tt.says) {
				t.Fatalf("message %q does not say %q", r.msg, tt.says)
			}
		})
	}
}

func TestModuleRootOfThisRepository(t *testing.T) {
	root, err := moduleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.HasPrefix(string(b), "module zhufang\n") {
		t.Fatalf("moduleRoot(.) = %s, whose go.mod does not start with module zhufang (%v)", root, err)
	}
}
