package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"zhufang"
	"zhufang/sqlstore"
)

// runBackup writes an online backup of an SQLite database, or with check
// prints a database's fingerprint: every table's rows counted and hashed,
// to compare a backup with its source or a pg_restore with its pg_dump.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	check := len(args) > 0 && args[0] == "check"
	if check {
		args = args[1:]
	}
	var cfg Config
	var out string
	fs := flagSet("backup", "backup --db SRC --out FILE writes a consistent copy of an SQLite database, safe while a server\n"+
		"runs on it; backup check --db DB prints every table's row count and hash, to compare two databases\n"+
		"(a backup and its source, a PostgreSQL pg_dump and its pg_restore).", stdout)
	cfg.dbFlag(fs, getenv)
	fs.StringVar(&out, "out", "", "backup: the new file to write")
	fs.BoolVar(&cfg.JSON, "json", false, "check: print the fingerprint as JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if !check && out == "" {
		return usageError{"backup: --out FILE is required (see zhufang backup --help)"}
	}
	if !sqlstore.IsPostgresURL(cfg.DB) {
		if _, err := os.Stat(cfg.DB); err != nil {
			return zhufang.Errorf(zhufang.ENOTFOUND, "database file %s does not exist", cfg.DB)
		}
	}
	db, err := sqlstore.Open(ctx, cfg.DB, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if check {
		sums, err := db.Fingerprint(ctx)
		if err != nil {
			return err
		}
		if cfg.JSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(sums)
		}
		for _, s := range sums {
			fmt.Fprintf(stdout, "%-24s %10d  %s\n", s.Table, s.Rows, s.Hash)
		}
		return nil
	}
	if err := db.Backup(ctx, out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup of %s written to %s\n", db.Where(), out)
	return nil
}

// runRestore copies an SQLite backup into a database file.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var cfg Config
	var from string
	fs := flagSet("restore", "Copies an SQLite backup into the database file. Refuses a database that holds data unless --force.\n"+
		"Stop every server using the database first.", stdout)
	cfg.dbFlag(fs, getenv)
	fs.StringVar(&from, "from", "", "the backup file to restore")
	fs.BoolVar(&cfg.Force, "force", false, "replace a database that holds data")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if from == "" {
		return usageError{"restore: --from FILE is required (see zhufang restore --help)"}
	}
	if err := sqlstore.Restore(ctx, from, cfg.DB, cfg.Force); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s restored into %s\n", from, cfg.DB)
	return nil
}
