package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"zhufang"
)

// Backup writes a consistent copy of an SQLite database to path, which
// must not exist: VACUUM INTO reads the database in one transaction, so a
// server may go on writing meanwhile, and the copy is compact and whole
// (no write-ahead log beside it). PostgreSQL is backed up with pg_dump
// (see the README); comparing Fingerprints checks either.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.engine != SQLite {
		return zhufang.Errorf(zhufang.EINVALID, "back up PostgreSQL with pg_dump -Fc, then compare zhufang backup check on both (see the README)")
	}
	if _, err := os.Stat(path); err == nil {
		return zhufang.Errorf(zhufang.ECONFLICT, "%s exists already; choose a new file", path)
	}
	if strings.ContainsRune(path, 0) {
		return zhufang.Errorf(zhufang.EINVALID, "the backup path holds a NUL byte")
	}
	if _, err := db.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot write the backup "+path, err)
	}
	return nil
}

// Restore copies the SQLite backup at from into the database file to. It
// checks that the backup is a zhufang database this binary can read, and
// refuses a database file that holds anything unless force is set. The
// copy is written beside to and renamed over it, so an interrupted restore
// leaves to as it was. Stop every server using to first.
func Restore(ctx context.Context, from, to string, force bool) error {
	if IsPostgresURL(from) || IsPostgresURL(to) {
		return zhufang.Errorf(zhufang.EINVALID, "restore PostgreSQL with pg_restore, then compare zhufang backup check on both (see the README)")
	}
	if _, err := os.Stat(from); err != nil {
		return zhufang.Errorf(zhufang.ENOTFOUND, "backup %s does not exist", from)
	}
	src, err := Open(ctx, from, Options{})
	if err != nil {
		return err
	}
	defer src.Close()
	v, err := src.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v == 0 {
		return zhufang.Errorf(zhufang.EINVALID, "%s is not a zhufang backup: it has no schema", from)
	}
	if latest := LatestVersion(SQLite); v > latest {
		return zhufang.Errorf(zhufang.EINVALID, "%s is at schema version %d, newer than this zhufang's %d", from, v, latest)
	}
	// A server holding the file would go on with the old database under it;
	// holding its lock also keeps one from starting midway.
	release, err := takeServeLock(to)
	if err != nil {
		return err
	}
	defer release()
	if !force {
		if err := refuseFilled(ctx, to); err != nil {
			return err
		}
	}
	tmp := filepath.Join(filepath.Dir(to), "."+filepath.Base(to)+".restore-"+fmt.Sprint(time.Now().UnixNano()))
	if _, err := src.db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot write "+to, err)
	}
	// The old file's write-ahead log belongs to the old database.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(to + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.Remove(tmp)
			return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot remove "+to+suffix, err)
		}
	}
	if err := os.Rename(tmp, to); err != nil {
		os.Remove(tmp)
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot replace "+to, err)
	}
	return nil
}

// refuseFilled refuses a database file that holds any row: a new or empty
// file, or one only migrated, may be restored over.
func refuseFilled(ctx context.Context, path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || err == nil && st.Size() == 0 {
		return nil
	}
	dst, err := Open(ctx, path, Options{})
	if err != nil {
		return err
	}
	defer dst.Close()
	sums, err := dst.Fingerprint(ctx)
	if err != nil {
		return err
	}
	for _, s := range sums {
		if s.Rows > 0 && s.Table != "schema_migrations" && s.Table != "audit_chain" { // the migrations' own rows
			return zhufang.Errorf(zhufang.ECONFLICT, "%s holds data (%d rows in %s); pass --force to replace it", path, s.Rows, s.Table)
		}
	}
	return nil
}

// TableSum is a table's row count and a hash of its rows in order.
type TableSum struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
	Hash  string `json:"sha256"`
}

// Fingerprint counts and hashes every table of the database, so that a
// backup and its restore, or a pg_dump and its pg_restore, can be
// compared. Rows are read in the order of all their columns.
func (db *DB) Fingerprint(ctx context.Context) ([]TableSum, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if db.engine == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := db.query(ctx, q)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, db.translate(err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.translate(err)
	}
	out := make([]TableSum, 0, len(tables))
	for _, t := range tables {
		s, err := db.sumTable(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (db *DB) sumTable(ctx context.Context, table string) (TableSum, error) {
	rows, err := db.query(ctx, `SELECT * FROM "`+table+`" LIMIT 0`)
	if err != nil {
		return TableSum{}, err
	}
	cols, err := rows.Columns()
	rows.Close()
	if err != nil {
		return TableSum{}, db.translate(err)
	}
	order := make([]string, len(cols))
	for i := range cols {
		order[i] = fmt.Sprint(i + 1)
	}
	rows, err = db.query(ctx, `SELECT * FROM "`+table+`" ORDER BY `+strings.Join(order, ", "))
	if err != nil {
		return TableSum{}, err
	}
	defer rows.Close()
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	s := TableSum{Table: table}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return s, db.translate(err)
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(h, "%d:%v|", len(fmt.Sprint(v)), v)
		}
		h.Write([]byte{'\n'})
		s.Rows++
	}
	s.Hash = hex.EncodeToString(h.Sum(nil))
	return s, db.translate(rows.Err())
}
