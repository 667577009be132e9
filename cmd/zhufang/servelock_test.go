package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zhufang"
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

// TestTrustedProxy: with --trusted-proxy, sign-ins through the proxy are
// throttled by the client address it names in X-Forwarded-For, so one
// client locked out of a name leaves another behind the same proxy free;
// from any other peer the header is ignored.
func TestTrustedProxy(t *testing.T) {
	t.Parallel()
	dsn := sqltest.DSN(t, sqlstore.SQLite)
	const proxy = "127.2.0.1"
	base, stop := startServe(t, append(demoArgs(t, dsn), "--live=false", "--trusted-proxy", proxy)...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve ended with %v", err)
		}
	})
	srv := &secServer{base: base, dsn: dsn}
	secAddUser(t, dsn, "proxied", zhufang.RoleDispatcher)
	p := secClientFrom(t, srv, proxy)
	signIn := func(c *secClient, client, password string) secResp {
		var header []string
		if client != "" {
			header = []string{"X-Forwarded-For", "1.2.3.4, " + client} // the left entry is the client's own claim
		}
		return c.json("POST", "/api/v1/session", fmt.Sprintf(`{"username":"proxied","password":%q}`, password), header...)
	}
	for i := range zhufang.FreeAttempts {
		if r := signIn(p, "198.51.100.1", "not the password at all"); r.code != 401 {
			t.Fatalf("wrong password %d through the proxy: %s", i+1, r)
		}
	}
	if r := signIn(p, "198.51.100.1", secPassword); r.code != http.StatusTooManyRequests {
		t.Fatalf("the same client at once: %s, want 429", r)
	}
	if r := signIn(p, "198.51.100.2", secPassword); r.code != http.StatusCreated {
		t.Errorf("another client behind the proxy: %s, want 201", r)
	}
	// Not the proxy: the header is the client's own word and is ignored.
	other := secNewClient(t, srv)
	for range zhufang.FreeAttempts {
		signIn(other, "198.51.100.3", "not the password at all")
	}
	if r := signIn(other, "198.51.100.4", secPassword); r.code != http.StatusTooManyRequests {
		t.Errorf("an untrusted peer claiming another address: %s, want 429 (the header ignored)", r)
	}
}
