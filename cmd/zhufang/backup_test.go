package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// zf runs a zhufang command in process and returns its standard output.
func zf(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, &out, io.Discard)
	return out.String(), err
}

func fingerprint(t *testing.T, dsn string) string {
	t.Helper()
	out, err := zf(t, "backup", "check", "--db", dsn)
	if err != nil {
		t.Fatalf("backup check %s: %v", dsn, err)
	}
	return out
}

// TestBackupRestoreRoundTrip backs up the demo city while incidents are
// being written to it, restores the backup into a new file, and compares.
func TestBackupRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	demoArgs(t, src)
	ctx := context.Background()
	db, err := openDB(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A writer takes calls throughout the first backup.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	written := 0
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			inc := &zhufang.Incident{Source: zhufang.SourceCall110, ReceivedAt: now, Address: "芝山路11号",
				Position: zhufang.Point{Lon: 111.6015, Lat: 26.4372}, Category: "200100", Description: "两人打架",
				CommunityID: 1, StationID: 1, BureauID: 2, Zone: zhufang.ZoneUrbanCore, State: zhufang.StateReceived,
				Triage: zhufang.TriageResult{Lane: zhufang.LaneStreet, Rule: "order", Reason: "治安警情"},
				Due:    zhufang.DueTimes(now, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore])}
			if err := db.CreateIncident(ctx, inc, "接警员"); err != nil {
				t.Error(err)
				return
			}
			written++
		}
	})
	during := filepath.Join(dir, "during.bak")
	time.Sleep(50 * time.Millisecond)
	if _, err := zf(t, "backup", "--db", src, "--out", during); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if written == 0 {
		t.Fatal("nothing was written during the backup")
	}
	// The backup taken under writes is whole: its audit chain holds.
	if out, err := zf(t, "audit", "verify", "--db", during); err != nil || !strings.Contains(out, "intact") {
		t.Fatalf("audit verify of the backup taken under writes: %q %v", out, err)
	}
	after := filepath.Join(dir, "after.bak")
	if _, err := zf(t, "backup", "--db", src, "--out", after); err != nil {
		t.Fatal(err)
	}
	want := fingerprint(t, src)
	dst := filepath.Join(dir, "restored.db")
	if _, err := zf(t, "restore", "--from", after, "--db", dst); err != nil {
		t.Fatal(err)
	}
	if got := fingerprint(t, dst); got != want {
		t.Fatalf("the restored database differs from its source:\n%s\n---\n%s", got, want)
	}
	// A database holding data is replaced only with --force.
	_, err = zf(t, "restore", "--from", during, "--db", dst)
	if zhufang.ErrorCode(err) != zhufang.ECONFLICT || !strings.Contains(zhufang.ErrorMessage(err), "--force") {
		t.Fatalf("restore over a filled database: %v", err)
	}
	if fingerprint(t, dst) != want {
		t.Fatal("a refused restore changed the database")
	}
	if _, err := zf(t, "restore", "--from", during, "--db", dst, "--force"); err != nil {
		t.Fatal(err)
	}
	if got := fingerprint(t, dst); got != fingerprint(t, during) || got == want {
		t.Fatal("--force did not replace the database with the backup")
	}
	// A migrated but empty database may be restored over.
	empty := filepath.Join(dir, "empty.db")
	if _, err := zf(t, "migrate", "--db", empty); err != nil {
		t.Fatal(err)
	}
	if _, err := zf(t, "restore", "--from", after, "--db", empty); err != nil {
		t.Fatalf("restore into a migrated empty database: %v", err)
	}
	if fingerprint(t, empty) != want {
		t.Fatal("the restore into the empty database differs")
	}
}

// TestBackupBadInput gives each mistake a clear error and changes nothing.
func TestBackupBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	demoArgs(t, src)
	notes := writeFile(t, dir, "notes.txt", "my notes")
	existing := writeFile(t, dir, "existing.bak", "keep me")
	tests := []struct {
		name string
		args []string
		code string // zhufang error code, or "usage"
		says string
	}{
		{"no out", []string{"backup", "--db", src}, "usage", "--out FILE is required"},
		{"out exists", []string{"backup", "--db", src, "--out", existing}, zhufang.ECONFLICT, "exists already"},
		{"no source", []string{"backup", "--db", filepath.Join(dir, "none.db"), "--out", filepath.Join(dir, "x.bak")}, zhufang.ENOTFOUND, "does not exist"},
		{"not a database", []string{"backup", "--db", notes, "--out", filepath.Join(dir, "y.bak")}, zhufang.EINVALID, "not a zhufang database"},
		{"no from", []string{"restore", "--db", filepath.Join(dir, "d.db")}, "usage", "--from FILE is required"},
		{"missing backup", []string{"restore", "--from", filepath.Join(dir, "gone.bak"), "--db", filepath.Join(dir, "d.db")}, zhufang.ENOTFOUND, "does not exist"},
		{"backup not a database", []string{"restore", "--from", notes, "--db", filepath.Join(dir, "d.db")}, zhufang.EINVALID, "not a zhufang database"},
		{"postgres backup", []string{"backup", "--db", "postgres://u@127.0.0.1:1/x", "--out", filepath.Join(dir, "p.bak")}, zhufang.EUNAVAILABLE, "cannot reach PostgreSQL"},
		{"postgres restore", []string{"restore", "--from", existing, "--db", "postgres://u@127.0.0.1:1/x"}, zhufang.EINVALID, "pg_restore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := zf(t, tt.args...)
			var u usageError
			switch {
			case tt.code == "usage" && !errors.As(err, &u):
				t.Fatalf("%v, want a usage error", err)
			case tt.code != "usage" && zhufang.ErrorCode(err) != tt.code:
				t.Fatalf("%v, want %s", err, tt.code)
			case !strings.Contains(oneLine(err), tt.says):
				t.Fatalf("%q does not say %q", oneLine(err), tt.says)
			}
		})
	}
	for path, want := range map[string]string{notes: "my notes", existing: "keep me"} {
		if b, _ := os.ReadFile(path); string(b) != want {
			t.Errorf("%s was changed", path)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "d.db")); err == nil {
		t.Error("a refused restore created its database")
	}
}

// TestFingerprint checks backup check on each engine: the same database
// twice gives the same fingerprint, and one new row shows.
func TestFingerprint(t *testing.T) {
	t.Parallel()
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			db := sqltest.Open(t, engine, sqlstore.Options{})
			ctx := context.Background()
			a, err := db.Fingerprint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := db.Fingerprint(ctx)
			if len(a) < 20 || !equalSums(a, b) {
				t.Fatalf("two fingerprints of one database differ, or name too few tables: %v", a)
			}
			if err := db.SetDemoCity(ctx, zhufang.DemoCity{Seed: 1, AnchorDay: "2026-03-01", BuiltAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			c, _ := db.Fingerprint(ctx)
			if equalSums(a, c) {
				t.Fatal("a new row did not change the fingerprint")
			}
			out := filepath.Join(t.TempDir(), "b.bak")
			err = db.Backup(ctx, out)
			switch {
			case engine == sqlstore.Postgres && (zhufang.ErrorCode(err) != zhufang.EINVALID || !strings.Contains(zhufang.ErrorMessage(err), "pg_dump")):
				t.Fatalf("backing up PostgreSQL: %v, want a pointer to pg_dump", err)
			case engine == sqlstore.SQLite && err != nil:
				t.Fatal(err)
			}
		})
	}
}

func equalSums(a, b []sqlstore.TableSum) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPostgresDumpRestore follows the README's PostgreSQL procedure:
// pg_dump -Fc of a demo city, pg_restore into a new database, and backup
// check on both gives the same fingerprint.
func TestPostgresDumpRestore(t *testing.T) {
	t.Parallel()
	base := os.Getenv(sqltest.PostgresEnv)
	if base == "" {
		t.Skip(sqltest.PostgresEnv + " is not set")
	}
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed: scripts/services.sh installs PostgreSQL's client tools", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	var dsns []string
	for _, suffix := range []string{"src", "dst"} {
		name := fmt.Sprintf("zhufang_dump_%d_%s", time.Now().UnixNano(), suffix)
		if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`) })
		v := *u
		v.Path = "/" + name
		dsns = append(dsns, v.String())
	}
	if _, err := zf(t, "demo", "--db", dsns[0], "--history", "2", "--anchor", templateAnchor); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "zhufang.dump")
	for _, cmd := range [][]string{{"pg_dump", "-Fc", "-d", dsns[0], "-f", dump}, {"pg_restore", "-d", dsns[1], dump}} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd[0], err, out)
		}
	}
	a, b := fingerprint(t, dsns[0]), fingerprint(t, dsns[1])
	if a != b || !strings.Contains(a, "incidents") {
		t.Fatalf("pg_restore gave another database:\n%s\n---\n%s", a, b)
	}
}

// TestReadyWithNATS serves with --nats: /readyz answers 200 while the bus
// is connected (natsbus.TestHealthy covers a bus that is not).
func TestReadyWithNATS(t *testing.T) {
	nurl := os.Getenv("ZHUFANG_TEST_NATS")
	if nurl == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ZHUFANG_TEST_NATS is not set in CI")
		}
		t.Skip("ZHUFANG_TEST_NATS is not set")
	}
	dsn := filepath.Join(t.TempDir(), "nats.db")
	base, stop := startServe(t, append(demoArgs(t, dsn), "--nats", nurl)...)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve ended with %v", err)
		}
	}()
	if code := getJSON(t, base+"/readyz", nil); code != 200 {
		t.Fatalf("/readyz with a connected bus: %d", code)
	}
}
