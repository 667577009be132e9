package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequiredFlags calls every command that needs a flag without it, or
// with a value it cannot take: each is a usage error (main exits 2) that
// names the flag, said before any database is opened or made.
func TestRequiredFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		flag string // what the message must name
	}{
		{"user add without name", []string{"user", "add", "bob"}, "--name"},
		{"user add without role", []string{"user", "add", "--name", "Bob", "bob"}, "--role"},
		{"user add unknown role", []string{"user", "add", "--name", "Bob", "--role", "sheriff", "--scope", "city", "bob"}, "--role"},
		{"user add without scope", []string{"user", "add", "--name", "Bob", "--role", "dispatcher", "bob"}, "--scope"},
		{"user add unknown scope", []string{"user", "add", "--name", "Bob", "--role", "dispatcher", "--scope", "galaxy", "--org", "3", "bob"}, "--scope"},
		{"user add station without org", []string{"user", "add", "--name", "Bob", "--role", "station_chief", "--scope", "station", "bob"}, "--org"},
		{"user add community without org", []string{"user", "add", "--name", "Bob", "--role", "community_officer", "--scope", "community", "bob"}, "--org"},
		{"user add city with org", []string{"user", "add", "--name", "Bob", "--role", "dispatcher", "--scope", "city", "--org", "3", "bob"}, "--org"},
		{"user add unknown lang", []string{"user", "add", "--name", "Bob", "--role", "dispatcher", "--scope", "city", "--lang", "fr", "bob"}, "--lang"},
		{"user add role at the wrong level", []string{"user", "add", "--name", "Bob", "--role", "community_officer", "--scope", "city", "bob"}, "community_officer"},
		{"user add bad username", []string{"user", "add", "--name", "Bob", "--role", "dispatcher", "--scope", "city", "Bob Smith"}, "username"},
		{"user add without username", []string{"user", "add", "--name", "Bob"}, "USERNAME"},
		{"user passwd without username", []string{"user", "passwd"}, "USERNAME"},
		{"user without verb", []string{"user"}, "add, passwd, disable, enable or list"},
		{"device add without unit", []string{"device", "add"}, "--unit"},
		{"device revoke without id", []string{"device", "revoke"}, "--id"},
		{"backup without out", []string{"backup"}, "--out"},
		{"restore without from", []string{"restore"}, "--from"},
		{"simulate without date", []string{"simulate"}, "--date"},
		{"load without url", []string{"load"}, "--url"},
		{"cluster without nats", []string{"cluster", "--db", "postgres://u@127.0.0.1:1/x"}, "--nats"},
		{"org list unknown kind", []string{"org", "list", "--kind", "planet"}, "--kind"},
		{"org list two filters", []string{"org", "list", "--county", "2", "--station", "3"}, "--station"},
		{"org without verb", []string{"org"}, "list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			db := filepath.Join(t.TempDir(), "never.db")
			args := append(tt.args, "--db", db)
			if tt.args[0] == "cluster" || tt.args[0] == "load" {
				args = tt.args
			}
			err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
			var u usageError
			if !errors.As(err, &u) {
				t.Fatalf("got %v, want a usage error (exit 2)", err)
			}
			if !strings.Contains(err.Error(), tt.flag) {
				t.Fatalf("%q does not name %s", err.Error(), tt.flag)
			}
			if _, err := os.Stat(db); err == nil {
				t.Fatal("a usage error opened the database")
			}
			if stdout.Len() != 0 {
				t.Fatalf("a usage error printed %q", stdout.String())
			}
		})
	}
}
