package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// TestSecondServeRefused: a second `zhufang serve` on the SQLite file one
// already serves fails at start, naming the file and saying another
// zhufang holds it, while a backup beside the server goes on; once the
// first server stops, the file may be served again.
func TestSecondServeRefused(t *testing.T) {
	t.Parallel()
	dsn := sqltest.DSN(t, sqlstore.SQLite)
	args := append(demoArgs(t, dsn), "--live=false")
	_, stop := startServe(t, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr strings.Builder
	err := run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), secNoEnv, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "another zhufang") || !strings.Contains(err.Error(), dsn) {
		t.Fatalf("a second serve on %s: %v, want refused naming the file and another zhufang", dsn, err)
	}
	if out, err := secCLI(t, "backup", "--db", dsn, "--out", filepath.Join(t.TempDir(), "copy.db")); err != nil {
		t.Errorf("a backup beside the server: %v %s", err, out)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	_, stop = startServe(t, args...)
	if err := stop(); err != nil {
		t.Errorf("serving again once the first stopped: %v", err)
	}
}
