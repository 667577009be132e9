package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"zhufang"
	"zhufang/auditkey"
	"zhufang/sqlstore"
)

// The audit chain's keys, its checkpoints and `zhufang audit verify`
// (docs/AUDIT.md).

// auditKeysFlag is --audit-keys: where the chain's keys and checkpoints are
// kept, outside the database.
func (c *Config) auditKeysFlag(fs *flags, getenv func(string) string) {
	fs.StringVar(&c.AuditKeys, "audit-keys", getenv("ZHUFANG_AUDIT_KEYS"),
		"folder of the audit chain's HMAC key, checkpoint signing key and checkpoints, made on first start\n"+
			"(env ZHUFANG_AUDIT_KEYS; default zhufang-audit beside an SQLite file, or the user's config\n"+
			"folder's zhufang/audit for PostgreSQL; every node and command writing one database needs the same keys)")
}

// auditKeyDir is the key folder of the database dsn: dir if given, else
// zhufang-audit beside an SQLite file, or for PostgreSQL zhufang/audit in
// the user's config folder.
func auditKeyDir(dsn, dir string) (string, error) {
	switch {
	case dir != "":
		return dir, nil
	case !sqlstore.IsPostgresURL(dsn):
		return filepath.Join(filepath.Dir(dsn), "zhufang-audit"), nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", usageError{"--audit-keys: this user has no config folder to keep the audit keys in (" + err.Error() + "); name one"}
	}
	return filepath.Join(base, "zhufang", "audit"), nil
}

// openKeyed opens and migrates the database and gives it its audit key,
// making the key folder dir (auditKeyDir) and its keys on first use. A
// chain keyed now gets its first checkpoint at once, so that where its
// keyed rows begin is signed outside the database from the start.
func openKeyed(ctx context.Context, dsn, dir string, opt sqlstore.Options) (*sqlstore.DB, *auditkey.Keys, error) {
	db, err := openMigrated(ctx, dsn, opt)
	if err != nil {
		return nil, nil, err
	}
	keys, err := giveAuditKey(ctx, db, dsn, dir)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, keys, nil
}

// openServed opens a database its servers migrate, not migrating it, with
// its audit key: for a command that writes to a served database.
func openServed(ctx context.Context, cfg Config) (*sqlstore.DB, *auditkey.Keys, error) {
	db, err := sqlstore.Open(ctx, cfg.DB, sqlstore.Options{})
	if err != nil {
		return nil, nil, err
	}
	keys, err := giveAuditKey(ctx, db, cfg.DB, cfg.AuditKeys)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, keys, nil
}

// giveAuditKey gives db the key of its key folder (auditKeyDir of dsn and
// dir), making the folder and its keys on first use.
func giveAuditKey(ctx context.Context, db *sqlstore.DB, dsn, dir string) (*auditkey.Keys, error) {
	dir, err := auditKeyDir(dsn, dir)
	if err != nil {
		return nil, err
	}
	keys, err := auditkey.Create(dir)
	if err != nil {
		return nil, err
	}
	return keys, keyChain(ctx, db, keys)
}

// keyChain gives db the folder's HMAC key.
func keyChain(ctx context.Context, db *sqlstore.DB, keys *auditkey.Keys) error {
	keyed, err := db.UseAuditKey(ctx, keys.MAC)
	if err != nil {
		return fmt.Errorf("audit key folder %s: %w", keys.Dir, err)
	}
	if !keyed {
		return nil
	}
	head, err := db.AuditHead(ctx)
	if err != nil {
		return err
	}
	_, err = keys.AppendCheckpoint(head)
	return err
}

// checkpointAfter runs f and, if the audit chain's head moved while it
// ran, signs a checkpoint of the new head: a command that writes to the
// chain leaves it vouched for when it ends, as serve's leader does while
// it runs.
func checkpointAfter(ctx context.Context, db *sqlstore.DB, keys *auditkey.Keys, f func() error) error {
	before, err := db.AuditHead(ctx)
	if err != nil {
		return err
	}
	ferr := f()
	after, err := db.AuditHead(ctx)
	if err == nil && (after.HeadID != before.HeadID || after.HeadHash != before.HeadHash) {
		_, err = keys.AppendCheckpoint(after)
	}
	return errors.Join(ferr, err)
}

// auditCheckpoints is the leader's job that signs the chain's head every
// minute while it moves, and at a clean shutdown.
func auditCheckpoints(db *sqlstore.DB, keys *auditkey.Keys, logger *slog.Logger) *auditkey.Checkpointer {
	return &auditkey.Checkpointer{Keys: keys, Head: db.AuditHead, Every: time.Minute, Logger: logger}
}

// runAudit verifies the audit chain.
func runAudit(ctx context.Context, c call) error {
	_, args, err := splitVerb(c.args, "audit: say verify (see zhufang audit --help)", "verify")
	if err != nil {
		return err
	}
	var cfg Config
	var checkpoints string
	fs := c.flags("audit", "audit verify checks every row of the audit trail with the chain's HMAC key, and holds the chain\n"+
		"against its signed checkpoints: it names rows altered, rows deleted (from the tail too), IDs given\n"+
		"twice and checkpoints whose signature fails, and exits 1 on any of them.")
	cfg.dbFlag(fs, c.getenv)
	fs.StringVar(&checkpoints, "checkpoints", "", "file of signed checkpoints to hold the chain against (default the key folder's\n"+
		"checkpoints; a copy kept on another host, or gathered from the logs, is better)")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	if err := fs.parseConfig(args, &cfg); err != nil {
		return err
	}
	dir, err := auditKeyDir(cfg.DB, cfg.AuditKeys)
	if err != nil {
		return err
	}
	if err := mustExist(cfg.DB, ""); err != nil {
		return err
	}
	keys, err := auditkey.Load(dir)
	if err != nil && zhufang.ErrorCode(err) != zhufang.ENOTFOUND {
		return err
	}
	if keys == nil {
		keys = &auditkey.Keys{Dir: dir} // no folder: an unkeyed chain still verifies
	}
	if checkpoints == "" {
		checkpoints = keys.CheckpointPath()
	} else if _, err := os.Stat(checkpoints); err != nil {
		return zhufang.Errorf(zhufang.ENOTFOUND, "--checkpoints %s cannot be read: %v", checkpoints, err)
	}
	db, err := openMigrated(ctx, cfg.DB, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := verifyAudit(ctx, db, keys, checkpoints)
	if err != nil {
		return err
	}
	if cfg.JSON {
		if err := printJSON(c.stdout, r); err != nil {
			return err
		}
	} else {
		printAudit(c.stdout, r, checkpoints)
	}
	if len(r.Findings) > 0 {
		return errAuditBroken
	}
	return nil
}

// verifyAudit checks db's chain with keys and the checkpoints in the file
// at path.
func verifyAudit(ctx context.Context, db *sqlstore.DB, keys *auditkey.Keys, path string) (*zhufang.AuditReport, error) {
	cps, bad, err := auditkey.ReadCheckpoints(path, keys.Public)
	if err != nil {
		return nil, fmt.Errorf("audit key folder %s: %w", keys.Dir, err)
	}
	r, err := db.CheckAudit(ctx, keys.MAC, cps)
	if err != nil {
		if keys.MAC == nil && zhufang.ErrorCode(err) == zhufang.EINVALID {
			return nil, zhufang.Errorf(zhufang.EINVALID, "%s; %s holds no %s: pass --audit-keys naming the folder the chain's keys were made in",
				zhufang.ErrorMessage(err), keys.Dir, auditkey.MACFile)
		}
		return nil, err
	}
	r.Findings = append(bad, r.Findings...)
	// A chain that is keyed, or verified where there is a key, was given
	// a checkpoint when keyed: none means the file is not this chain's, or
	// the chain's ID or keyed boundary was changed to escape it.
	if r.Checkpoint == nil && (r.KeyedFrom > 0 || keys.MAC != nil) {
		r.Findings = append(r.Findings, zhufang.AuditFinding{Kind: zhufang.AuditUnverified, Detail: fmt.Sprintf(
			"%s holds no checkpoint of chain %s: nothing outside the database vouches for its tail or for where its keyed rows begin "+
				"(pass --checkpoints FILE naming a copy of this chain's checkpoints)", path, r.Chain)})
	}
	return r, nil
}

// printAudit prints a report for a person.
func printAudit(w io.Writer, r *zhufang.AuditReport, path string) {
	if len(r.Findings) == 0 {
		fmt.Fprintf(w, "audit chain intact: %d rows verified\n", r.Rows)
	} else {
		fmt.Fprintf(w, "audit chain BROKEN: %s; %d of %d rows verify before the first break\n", plural(len(r.Findings), "finding"), r.Verified, r.Rows)
		for _, f := range r.Findings {
			fmt.Fprintf(w, "  %s: %s\n", f.Kind, f.Detail)
		}
	}
	if r.Unkeyed > 0 {
		fmt.Fprintf(w, "note: %s written before the chain had a key, checked by the unkeyed rule only: "+
			"anyone with the database could have rewritten them consistently\n", plural(int(r.Unkeyed), "row"))
	}
	if cp := r.Checkpoint; cp != nil {
		fmt.Fprintf(w, "held against the checkpoint of %s in %s: %d rows up to ID %d\n", cp.At.Format(time.RFC3339), path, cp.Count, cp.HeadID)
	}
}

// plural says n things.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// errAuditBroken makes audit verify exit non-zero.
var errAuditBroken = zhufang.Errorf(zhufang.ECONFLICT, "the audit chain is broken")
