package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"zhufang"
	"zhufang/auth"
	"zhufang/sqlstore"
)

// The commands that keep a database: its schema, devices, users, audit
// trail and backups.

func runMigrate(ctx context.Context, c call) error {
	var cfg Config
	fs := c.flags("migrate", "Applies the schema migrations this zhufang knows to the database.")
	cfg.dbFlag(fs, c.getenv)
	if err := fs.parseConfig(c.args, &cfg); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, cfg.DB, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	before, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	after, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "database %s: schema version %d → %d\n", db.Where(), before, after)
	return nil
}

// runDevice registers or revokes the token a unit's device reports with.
func runDevice(ctx context.Context, c call) error {
	verb, args, err := splitVerb(c.args, "device: say add --unit ID or revoke --id N (see zhufang device --help)", "add", "revoke")
	if err != nil {
		return err
	}
	var cfg Config
	var unit, id int64
	fs := c.flags("device", "device add --unit ID prints a new token for the unit's device (shown once);\ndevice revoke --id N stops a device's token from working.")
	cfg.dbFlag(fs, c.getenv)
	fs.Int64Var(&unit, "unit", 0, "add: the unit the device reports for")
	fs.Int64Var(&id, "id", 0, "revoke: the device to revoke")
	if err := fs.parseConfig(args, &cfg); err != nil {
		return err
	}
	switch {
	case verb == "add" && unit <= 0:
		return usageError{"device add: --unit ID is required: the unit whose device reports with the token (see zhufang device --help)"}
	case verb == "revoke" && id <= 0:
		return usageError{"device revoke: --id N is required: the device whose token stops working (see zhufang device --help)"}
	}
	return withDB(ctx, cfg, func(db *sqlstore.DB) error {
		if verb == "revoke" {
			if err := db.RevokeDevice(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "device %d revoked\n", id)
			return nil
		}
		dev, token, err := db.CreateDevice(ctx, unit)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "device %d of unit %d: token %s\n", dev, unit, token)
		return nil
	})
}

// runUser manages the console's users: add, passwd, disable, enable, list.
func runUser(ctx context.Context, c call) error {
	verb, args, err := splitVerb(c.args, "user: say add, passwd, disable, enable or list (see zhufang user --help)",
		"add", "passwd", "disable", "enable", "list")
	if err != nil {
		return err
	}
	var cfg Config
	var u zhufang.User
	var role, level, passwordFile string
	var roles []string
	for _, r := range zhufang.Roles {
		roles = append(roles, string(r))
	}
	fs := c.flags("user", `user add --name NAME --role ROLE --scope LEVEL [--org ID] USERNAME   add a user; prints a new password unless --password-file
user passwd USERNAME      set a new password (printed, or read from --password-file); ends the user's sessions
user disable USERNAME     stop a user signing in and end their sessions
user enable USERNAME      let a disabled user sign in again
user list                 list the users

roles: `+strings.Join(roles, ", ")+`
scope levels: city, county (--org bureau ID), station (--org station ID), community (--org community ID);
zhufang org list shows the IDs`)
	cfg.dbFlag(fs, c.getenv)
	fs.StringVar(&u.Name, "name", "", "add: the user's full name")
	fs.StringVar(&role, "role", "", "add: the user's role")
	fs.StringVar(&level, "scope", "", "add: city, county, station or community")
	var org int64
	fs.Int64Var(&org, "org", 0, "add: the ID of the bureau, station or community the scope names")
	fs.StringVar(&u.Lang, "lang", "zh", "add: the console's language for the user, zh or en")
	fs.StringVar(&passwordFile, "password-file", "", "add, passwd: read the password from this file (- for standard input) instead of making one")
	// Flags may come before or after the username.
	var names []string
	for rest := args; len(rest) > 0; {
		if err := fs.FlagSet.Parse(rest); err != nil {
			return fs.parse(rest) // the same error, said as a usage error
		}
		if rest = fs.Args(); len(rest) > 0 {
			names, rest = append(names, rest[0]), rest[1:]
		}
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if verb == "list" && len(names) != 0 || verb != "list" && len(names) != 1 {
		return usageError{"user " + verb + ": give exactly one USERNAME (list takes none)"}
	}
	if verb == "add" {
		u.Username, u.Role, u.Scope = names[0], zhufang.Role(role), zhufang.ScopeOf(zhufang.ScopeLevel(level), org)
		if err := checkUserAdd(&u, role, level, org, roles); err != nil {
			return err
		}
	}
	return withDB(ctx, cfg, func(db *sqlstore.DB) error {
		switch verb {
		case "list":
			return listUsers(ctx, db, c.stdout)
		case "disable", "enable":
			if err := db.SetUserDisabled(ctx, names[0], verb == "disable"); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "user %s %sd\n", names[0], verb)
			return nil
		}
		password, shown, err := readPassword(passwordFile, c.stdin)
		if err != nil {
			return err
		}
		if verb == "passwd" {
			if err := db.SetPassword(ctx, names[0], password); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "password of %s changed; their sessions are ended\n", names[0])
		} else {
			if err := db.CreateUser(ctx, &u, password); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "user %s added: %s, %s\n", u.Username, u.Role, u.Scope)
		}
		if shown {
			fmt.Fprintf(c.stdout, "password: %s\n(shown once; it is stored only as an argon2id hash)\n", password)
		}
		return nil
	})
}

// scopeLevels are the levels --scope takes, from the whole city down.
var scopeLevels = []zhufang.ScopeLevel{zhufang.ScopeCity, zhufang.ScopeCounty, zhufang.ScopeStation, zhufang.ScopeCommunity}

// checkUserAdd refuses a user add that lacks a flag it needs or gives one
// a value the user cannot have, as a usage error naming the flag, before
// any database is opened. What only the database knows (whether --org
// exists, whether the username is taken) it leaves to the store.
func checkUserAdd(u *zhufang.User, role, level string, org int64, roles []string) error {
	const see = " (see zhufang user --help)"
	switch {
	case strings.TrimSpace(u.Name) == "":
		return usageError{"user add: --name NAME is required: the user's full name, as the console shows it" + see}
	case role == "":
		return usageError{"user add: --role ROLE is required, one of " + strings.Join(roles, ", ") + see}
	case !slices.Contains(zhufang.Roles, u.Role):
		return usageError{fmt.Sprintf("user add: --role %q is not one of %s%s", role, strings.Join(roles, ", "), see)}
	case level == "":
		return usageError{"user add: --scope LEVEL is required: city, county, station or community" + see}
	case !slices.Contains(scopeLevels, zhufang.ScopeLevel(level)):
		return usageError{fmt.Sprintf("user add: --scope %q is not one of city, county, station, community%s", level, see)}
	case level != string(zhufang.ScopeCity) && org <= 0:
		return usageError{fmt.Sprintf("user add: --scope %s needs --org ID, the %s's ID (zhufang org list --kind %s shows them)%s",
			level, level, level, see)}
	case level == string(zhufang.ScopeCity) && org != 0:
		return usageError{"user add: --scope city covers the whole city and takes no --org" + see}
	case !slices.Contains(zhufang.Languages, u.Lang):
		return usageError{fmt.Sprintf("user add: --lang %q is not one of %s%s", u.Lang, strings.Join(zhufang.Languages, ", "), see)}
	}
	// The rest of the user's own rules (the username's form, a role's
	// level) live with the user; broken here, they are still a mistake in
	// the call.
	if err := u.Validate(); err != nil {
		return usageError{"user add: " + zhufang.ErrorMessage(err) + see}
	}
	return nil
}

// listUsers prints the users as a table.
func listUsers(ctx context.Context, db *sqlstore.DB, w io.Writer) error {
	users, err := db.FindUsers(ctx)
	if err != nil {
		return err
	}
	var t table
	t.row("USERNAME", "NAME", "ROLE", "SCOPE", "STATE", "LAST SIGN-IN")
	for _, u := range users {
		state, last := "active", "never"
		if u.Disabled {
			state = "disabled"
		}
		if !u.LastLoginAt.IsZero() {
			last = u.LastLoginAt.In(zhufang.ChinaTime).Format("2006-01-02 15:04")
		}
		t.row(u.Username, u.Name, string(u.Role), u.Scope.String(), state, last)
	}
	return t.write(w, "")
}

// readPassword reads a password from a file or standard input, or makes a
// random one (and says it must be shown).
func readPassword(file string, stdin io.Reader) (string, bool, error) {
	if file == "" {
		p, err := auth.NewPassword()
		return p, true, err
	}
	r := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", false, zhufang.WrapError(zhufang.EINVALID, "cannot read the password file", err)
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, 1024)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", false, zhufang.WrapError(zhufang.EINVALID, "cannot read the password", err)
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

// runBackup writes an online backup of an SQLite database, or with check
// prints a database's fingerprint: every table's rows counted and hashed,
// to compare a backup with its source or a pg_restore with its pg_dump.
func runBackup(ctx context.Context, c call) error {
	args := c.args
	check := len(args) > 0 && args[0] == "check"
	if check {
		args = args[1:]
	}
	var cfg Config
	var out string
	fs := c.flags("backup", "backup --db SRC --out FILE writes a consistent copy of an SQLite database, safe while a server\n"+
		"runs on it; backup check --db DB prints every table's row count and hash, to compare two databases\n"+
		"(a backup and its source, a PostgreSQL pg_dump and its pg_restore).")
	cfg.dbFlag(fs, c.getenv)
	fs.StringVar(&out, "out", "", "backup: the new file to write")
	fs.BoolVar(&cfg.JSON, "json", false, "check: print the fingerprint as JSON")
	if err := fs.parseConfig(args, &cfg); err != nil {
		return err
	}
	if !check && out == "" {
		return usageError{"backup: --out FILE is required (see zhufang backup --help)"}
	}
	if err := mustExist(cfg.DB, ""); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, cfg.DB, sqlstore.Options{}) // as it is: a backup changes nothing
	if err != nil {
		return err
	}
	defer db.Close()
	if !check {
		if err := backupWithProgress(ctx, db, cfg.DB, out, c.stderr); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "backup of %s written to %s\n", db.Where(), out)
		return nil
	}
	sums, err := db.Fingerprint(ctx)
	if err != nil {
		return err
	}
	if cfg.JSON {
		return printJSON(c.stdout, sums)
	}
	for _, s := range sums {
		fmt.Fprintf(c.stdout, "%-24s %10d  %s\n", s.Table, s.Rows, s.Hash)
	}
	return nil
}

// backupWithProgress writes the backup of db (the SQLite file src) to out,
// showing its progress: VACUUM INTO is one statement that says nothing
// until it ends, so the progress is the copy's size against the source's,
// read every half second. The copy leaves free pages out, so it may end
// short of 100%.
func backupWithProgress(ctx context.Context, db *sqlstore.DB, src, out string, stderr io.Writer) error {
	var size int64
	for _, f := range []string{src, src + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	const mb = 1 << 20
	bar := newProgress(stderr, slog.New(slog.NewTextHandler(stderr, nil)), "backup", int(size/mb))
	bar.unit = "MB"
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if st, err := os.Stat(out); err == nil {
					bar.set(int(min(st.Size(), size) / mb))
				}
			}
		}
	}()
	err := db.Backup(ctx, out)
	close(stop)
	<-stopped
	bar.done()
	return err
}

// runRestore copies an SQLite backup into a database file.
func runRestore(ctx context.Context, c call) error {
	var cfg Config
	var from string
	fs := c.flags("restore", "Copies an SQLite backup into the database file. Refuses a database that holds data unless --force.\n"+
		"Stop every server using the database first.")
	cfg.dbFlag(fs, c.getenv)
	fs.StringVar(&from, "from", "", "the backup file to restore")
	fs.BoolVar(&cfg.Force, "force", false, "replace a database that holds data")
	if err := fs.parseConfig(c.args, &cfg); err != nil {
		return err
	}
	if from == "" {
		return usageError{"restore: --from FILE is required (see zhufang restore --help)"}
	}
	if err := sqlstore.Restore(ctx, from, cfg.DB, cfg.Force); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s restored into %s\n", from, cfg.DB)
	return nil
}
