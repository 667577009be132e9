package sqltest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/data"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/sqlstore"
	"zhufang/tiling"
	"zhufang/zhufangtest"
)

// demoFiles are the demo cities built so far by this test binary, by
// seed, history and anchor, each in a file of its own.
var demoFiles struct {
	sync.Mutex
	dir   string
	built map[string]*demoFile
}

type demoFile struct {
	once sync.Once
	path string
	err  error
}

// DemoSQLite returns the path of a fresh copy of the demo city that setup
// describes, in an SQLite file in the test's temporary folder. Each city
// is built once per test binary and copied for every test that asks: under
// the race detector a build takes most of a minute. Call RemoveDemoFiles
// from TestMain to remove the built ones.
func DemoSQLite(tb testing.TB, setup demo.Setup) string {
	tb.Helper()
	key := fmt.Sprintf("%d-%d-%s", setup.City.Seed, setup.HistoryDays, setup.Anchor.Format(time.DateOnly))
	demoFiles.Lock()
	if demoFiles.built == nil {
		demoFiles.built = map[string]*demoFile{}
	}
	f := demoFiles.built[key]
	if f == nil {
		f = &demoFile{}
		demoFiles.built[key] = f
	}
	if demoFiles.dir == "" {
		dir, err := os.MkdirTemp("", "zhufang-demo-")
		if err != nil {
			demoFiles.Unlock()
			tb.Fatal(err)
		}
		demoFiles.dir = dir
	}
	dir := demoFiles.dir
	demoFiles.Unlock()
	f.once.Do(func() {
		f.path = filepath.Join(dir, key+".db")
		ctx := context.Background()
		db, err := sqlstore.Open(ctx, f.path, sqlstore.Options{})
		if err != nil {
			f.err = err
			return
		}
		if f.err = db.Migrate(ctx); f.err == nil {
			_, f.err = demo.Install(ctx, db, setup)
		}
		if err := db.Close(); f.err == nil {
			f.err = err
		}
	})
	if f.err != nil {
		tb.Fatalf("building the demo city %s: %v", key, f.err)
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "demo.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// DemoAnchor is the last day of the history of the demo cities tests
// share: a fixed day, so that every test binary draws the same history.
var DemoAnchor = time.Date(2026, 3, 1, 0, 0, 0, 0, zhufang.ChinaTime)

// Demo returns the path of a fresh copy of the demo city of seed 1 with
// days of history ending on DemoAnchor, as DemoSQLite gives it, from the
// embedded data.
func Demo(tb testing.TB, days int) string {
	tb.Helper()
	return DemoSQLite(tb, demo.Setup{City: demo.Options{Seed: 1, Data: data.FS, Cells: tiling.Cells}, HistoryDays: days,
		Anchor: DemoAnchor, Categories: zhufangtest.Categories(tb), ETA: dispatch.DefaultEstimator().ETA})
}

// RemoveDemoFiles removes the demo cities DemoSQLite built.
func RemoveDemoFiles() {
	demoFiles.Lock()
	defer demoFiles.Unlock()
	if demoFiles.dir != "" {
		os.RemoveAll(demoFiles.dir)
	}
}
