package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"zhufang"
	"zhufang/sqlstore"
)

// TestServeLock: a second serving Open of one SQLite file is refused,
// naming the file and the process holding it, while opens that do not
// serve go on beside it; closing the server frees the file, and a restore
// over a served file is refused.
func TestServeLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "city.db")
	serve := func() (*sqlstore.DB, error) { return sqlstore.Open(ctx, path, sqlstore.Options{Serving: true}) }
	first, err := serve()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = serve()
	wantCode(t, err, zhufang.ECONFLICT, "another zhufang (process "+strconv.Itoa(os.Getpid())+") is serving the database "+path)

	beside, err := sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatalf("an open that does not serve, beside the server: %v", err)
	}
	if _, err := beside.SchemaVersion(ctx); err != nil {
		t.Fatal(err)
	}
	beside.Close()

	backup := filepath.Join(dir, "backup.db")
	if err := first.Backup(ctx, backup); err != nil {
		t.Fatalf("a backup of the served file: %v", err)
	}
	wantCode(t, sqlstore.Restore(ctx, backup, path, true), zhufang.ECONFLICT, "is serving the database "+path)

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := serve()
	if err != nil {
		t.Fatalf("serving once the first server closed: %v", err)
	}
	again.Close()
	if err := sqlstore.Restore(ctx, backup, path, true); err != nil {
		t.Fatalf("a restore with no server: %v", err)
	}
}
