package data

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbedded(t *testing.T) {
	for _, name := range append(required, "yongzhou/population_2020.csv", "yongzhou/SOURCE.md", "codes/SOURCE.md") {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	got, err := Open("")
	if err != nil || got != FS {
		t.Fatalf("Open(\"\") = %v, %v; want the embedded data", got, err)
	}
}

func TestOpenFolder(t *testing.T) {
	full := t.TempDir()
	for _, name := range required {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(full, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := Open(full)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(fsys, "codes/incident_categories.csv"); err != nil {
		t.Fatal(err)
	}

	partial := t.TempDir()
	if err := os.Mkdir(filepath.Join(partial, "codes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, "codes", "incident_categories.csv"), []byte("code\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(partial, "codes", "incident_categories.csv")
	for _, tt := range []struct{ dir, want string }{
		{filepath.Join(full, "nowhere"), "nowhere does not exist"},
		{notDir, "is not a folder"},
		{partial, "lacks yongzhou/431100_full.json, yongzhou/counties.csv, yongzhou/townships.csv"},
	} {
		_, err := Open(tt.dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s) = %v, want an error saying %q", tt.dir, err, tt.want)
		}
	}
}
