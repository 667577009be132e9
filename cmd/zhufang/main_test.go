package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"zhufang/data"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
	"zhufang/zhufangtest"
)

// TestMain lets a test run the real main in a child process, to see its
// exit code and output as a shell would.
func TestMain(m *testing.M) {
	if args := os.Getenv("ZHUFANG_TEST_MAIN_ARGS"); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			panic(err)
		}
		os.Args = append([]string{"zhufang"}, a...)
		main()
		os.Exit(0)
	}
	// PostgreSQL databases keep their audit keys in the user's config
	// folder by default: the tests' keys go to a folder of their own,
	// removed after, never into the home of whoever runs them.
	conf, err := os.MkdirTemp("", "zhufang-test-config-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", conf)
	code := m.Run()
	sqltest.RemoveDemoFiles()
	os.RemoveAll(conf)
	os.Exit(code)
}

// runMain runs zhufang with args in a child process.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string, took time.Duration) {
	t.Helper()
	b, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ZHUFANG_TEST_MAIN_ARGS="+string(b), "ZHUFANG_DB=", "ZHUFANG_ADDR=", "ZHUFANG_DATA=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took = time.Since(start)
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String(), took
}

func TestCommandLine(t *testing.T) {
	if zhufangtest.Race {
		// Each case starts the binary and reads its exit code and one
		// line: one goroutine's work, and under the race detector the
		// start is the whole cost. The ordinary pass runs every case.
		t.Skip("the command line's answers are checked in the pass without the race detector")
	}
	dir := t.TempDir()
	silent := zhufangtest.SilentServer(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // what the one line of stderr says
		stdout string
	}{
		{"no command", nil, 2, "no command given", ""},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`, ""},
		{"unknown flag", []string{"serve", "--bogus"}, 2, "flag provided but not defined: -bogus", ""},
		{"wrong seed", []string{"demo", "--seed", "many"}, 2, `invalid value "many" for flag -seed`, ""},
		{"negative seed", []string{"demo", "--seed", "-3"}, 2, "invalid value", ""},
		{"history too long", []string{"demo", "--history", "731"}, 2, "--history 731 must be from 0 to 730 days", ""},
		{"negative history", []string{"serve", "--history", "-1"}, 2, "--history -1 must be from 0 to 730 days", ""},
		{"bad anchor", []string{"demo", "--anchor", "tomorrow"}, 2, `--anchor "tomorrow" must be a date YYYY-MM-DD`, ""},
		{"future anchor", []string{"demo", "--anchor", "2099-01-01"}, 2, "--anchor 2099-01-01 is after yesterday", ""},
		{"unknown policy", []string{"simulate", "--date", "2026-01-01", "--policy", "any"}, 2, `unknown policy "any"`, ""},
		{"wrong addr", []string{"serve", "--addr", "everywhere"}, 2, "must be HOST:PORT", ""},
		{"wrong nats", []string{"serve", "--nats", "http://x"}, 2, "must be a nats://HOST:PORT URL", ""},
		{"wrong db scheme", []string{"migrate", "--db", "mysql://x/y"}, 2, "only postgres:// URLs", ""},
		{"stray argument", []string{"migrate", "extra"}, 2, `unexpected argument "extra"`, ""},
		{"user add without name", []string{"user", "add", "bob", "--db", dir + "/u.db"}, 2, "user add: --name NAME is required", ""},
		{"help", []string{"serve", "--help"}, 0, "", "usage: zhufang serve"},
		{"top help", []string{"help"}, 0, "", "commands:"},
		{"version", []string{"version"}, 0, "", "revision "},
		{"--version", []string{"--version"}, 0, "", "zhufang  zhufang "},
		{"-version", []string{"-version"}, 0, "", "go       go1."},
		{"version help", []string{"version", "--help"}, 0, "", "usage: zhufang version"},
		{"version argument", []string{"version", "now"}, 2, `unexpected argument "now"`, ""},
		{"refused postgres", []string{"migrate", "--db", "postgres://zhufang:pw@127.0.0.1:1/zhufang"}, 1, "cannot reach PostgreSQL at 127.0.0.1:1/zhufang", ""},
		{"silent postgres", []string{"migrate", "--db", "postgres://u@" + silent + "/db?sslmode=disable"}, 1, "cannot reach PostgreSQL", ""},
		{"not a database", []string{"migrate", "--db", writeFile(t, dir, "notes.txt", "my notes")}, 1, "is not a zhufang database", ""},
		{"port not a number", []string{"serve", "--addr", "127.0.0.1:abc"}, 2, "port from 0 to 65535", ""},
		{"port too big", []string{"serve", "--addr", ":99999"}, 2, "port from 0 to 65535", ""},
		{"bad trusted proxy", []string{"serve", "--trusted-proxy", "proxy.example"}, 2, `--trusted-proxy: "proxy.example" is not an IP address or CIDR prefix`, ""},
		{"empty addr", []string{"serve", "--addr", ""}, 2, "must be HOST:PORT", ""},
		{"bad zones", []string{"serve", "--zones", "downtown=1m/2m/3m"}, 2, "--zones: zone thresholds", ""},
		{"zones out of order", []string{"serve", "--zones", "urban=5m/3m/1m"}, 2, "--zones: zone thresholds must satisfy", ""},
		{"short metrics token", []string{"serve", "--metrics-token", "abc"}, 2, "--metrics-token must be at least 16", ""},
		{"bad log level", []string{"serve", "--log-level", "loud"}, 2, "invalid value \"loud\" for flag -log-level", ""},
		{"bad stream", []string{"serve", "--nats-stream", "a.b"}, 2, "--nats-stream must be", ""},
		{"cluster on sqlite", []string{"cluster", "--db", dir + "/c.db", "--nats", "nats://127.0.0.1:4222"}, 2, "--db must be a postgres:// URL", ""},
		{"cluster without nats", []string{"cluster", "--db", "postgres://u@127.0.0.1/x", "--nats", ""}, 2, "--nats is required", ""},
		{"cluster of none", []string{"cluster", "--db", "postgres://u@127.0.0.1/x", "--nats", "nats://127.0.0.1:4222", "--nodes", "0"}, 2, "--nodes must be from 1 to 16", ""},
		{"cluster node db", []string{"cluster", "--db", "postgres://u@127.0.0.1/x", "--nats", "nats://127.0.0.1:4222", "--", "-db=x.db"}, 2, "-db=x.db is the cluster's to set", ""},
		{"cluster node addr", []string{"cluster", "--db", "postgres://u@127.0.0.1/x", "--nats", "nats://127.0.0.1:4222", "--", "--addr", ":1"}, 2, "--addr is the cluster's to set", ""},
		{"stale too short", []string{"serve", "--stale-after", "1s"}, 2, "--stale-after must be", ""},
		{"tiles without z", []string{"serve", "--db", dir + "/t.db", "--tiles", "https://pgis.example/{x}/{y}.png"}, 2, "--tiles: tile URL template must hold {z} exactly once", ""},
		{"tiles with credentials", []string{"serve", "--db", dir + "/t.db", "--tiles", "https://u:p@pgis.example/{z}/{x}/{y}.png"}, 2, "must not hold a user name or password", ""},
		{"tiles datum without tiles", []string{"serve", "--db", dir + "/t.db", "--tiles-wgs84"}, 2, "--tiles-wgs84 needs --tiles", ""},
		{"keyword settings", []string{"migrate", "--db", "host=localhost dbname=x"}, 2, "write them as a postgres:// URL", ""},
		{"broken postgres URL", []string{"migrate", "--db", "postgres://a:pw@[::1/x"}, 2, "cannot parse PostgreSQL URL", ""},
		{"missing database", []string{"migrate", "--db", "postgres://postgres@127.0.0.1:5432/no_such_db_zhufang?sslmode=disable"}, 1, `has no database "no_such_db_zhufang"`, ""},
		{"bad boundary data", []string{"demo", "--db", dir + "/d.db", "--data", badData(t)}, 1, "townships.csv: township code", ""},
		{"missing data folder", []string{"serve", "--data", dir + "/nowhere"}, 2, "--data: data folder " + dir + "/nowhere does not exist", ""},
		{"incomplete data folder", []string{"simulate", "--date", "2026-01-01", "--data", dir}, 2, "lacks yongzhou/431100_full.json, yongzhou/counties.csv, yongzhou/townships.csv, codes/incident_categories.csv", ""},
		{"migrate new file", []string{"migrate", "--db", dir + "/new.db"}, 0, "", fmt.Sprintf("schema version 0 → %d", sqlstore.LatestVersion(sqlstore.SQLite))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr, took := runMain(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if took > 5*time.Second {
				t.Fatalf("took %s, want under 5 s", took)
			}
			if tt.stderr != "" {
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				last := lines[len(lines)-1]
				if !strings.Contains(last, tt.stderr) || !strings.HasPrefix(last, "zhufang:") {
					t.Fatalf("stderr %q does not end in a zhufang: line saying %q", stderr, tt.stderr)
				}
				if strings.HasPrefix(last, "zhufang: zhufang") {
					t.Fatalf("stderr %q names the program twice", last)
				}
				if tt.args != nil && len(lines) != 1 {
					t.Fatalf("stderr has %d lines, want 1: %q", len(lines), stderr)
				}
				if strings.Contains(stderr, ":pw@") {
					t.Fatal("stderr shows a password")
				}
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Fatalf("stdout %q does not say %q", stdout, tt.stdout)
			}
			if tt.code != 0 && stdout != "" {
				t.Fatalf("a failure printed on stdout: %q", stdout)
			}
		})
	}
	if b, _ := os.ReadFile(dir + "/notes.txt"); string(b) != "my notes" {
		t.Fatal("migrate changed a file that is not a database")
	}
}

// badData makes a data folder, to pass with --data, whose township list
// has a broken code.
func badData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"yongzhou", "codes"} {
		if err := os.MkdirAll(dir+"/"+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"yongzhou/431100_full.json", "yongzhou/counties.csv", "codes/incident_categories.csv"} {
		b, err := fs.ReadFile(data.FS, f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, f, string(b))
	}
	writeFile(t, dir+"/yongzhou", "townships.csv", "code,name,county\n43110X001,坏街道,431102\n")
	return dir
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := dir + "/" + name
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lineWriter passes each written line to a channel, so a test can wait for
// the server to say where it listens.
type lineWriter struct {
	w     *io.PipeWriter
	lines chan string
}

func newLineWriter() *lineWriter {
	r, w := io.Pipe()
	lw := &lineWriter{w: w, lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case lw.lines <- sc.Text():
			default:
			}
		}
	}()
	return lw
}

func (lw *lineWriter) Write(p []byte) (int, error) { return lw.w.Write(p) }

// startServeB is startServe for benchmarks.
func startServeB(b *testing.B, args ...string) (string, func() error) {
	return startServe(b, args...)
}

// startServe runs `zhufang serve` with args on a free port and returns its
// base URL and a function that stops it and reports run's error.
func startServe(t testing.TB, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	lw := newLineWriter()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...),
			func(string) string { return "" }, io.Discard, lw)
	}()
	deadline := time.After(120 * time.Second)
	for {
		select {
		case line := <-lw.lines:
			if _, rest, ok := strings.Cut(line, "msg=serving url="); ok {
				base := strings.TrimSuffix(strings.Fields(rest)[0], "/")
				return base, func() error { cancel(); return <-done }
			}
		case err := <-done:
			cancel()
			t.Fatalf("serve ended before serving: %v", err)
		case <-deadline:
			cancel()
			t.Fatal("serve did not start within 120 s")
		}
	}
}

// demoArgs prepares dsn with the demo city and returns the serve flags for
// it: a copy of the city built once per test binary (sqltest.Demo) for
// SQLite, --demo for PostgreSQL. TestServeDemo and TestDemoCommand still
// build it themselves, since building is what they test.
func demoArgs(t testing.TB, dsn string) []string {
	t.Helper()
	if sqlstore.IsPostgresURL(dsn) {
		return []string{"--demo", "--history", "2", "--live=false", "--db", dsn}
	}
	b, err := os.ReadFile(sqltest.Demo(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dsn, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--db", dsn}
}
