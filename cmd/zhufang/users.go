package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"zhufang"
	"zhufang/auth"
	"zhufang/demo"
)

// runUser manages the console's users: add, passwd, disable, enable, list.
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	verbs := []string{"add", "passwd", "disable", "enable", "list"}
	if len(args) == 0 || !slices.Contains(verbs, args[0]) && args[0] != "--help" && args[0] != "-h" {
		return usageError{"user: say add, passwd, disable, enable or list (see zhufang user --help)"}
	}
	verb := args[0]
	var cfg Config
	var u zhufang.User
	var role, level, passwordFile string
	fs := flagSet("user", `user add --name NAME --role ROLE --scope LEVEL [--org ID] USERNAME   add a user; prints a new password unless --password-file
user passwd USERNAME      set a new password (printed, or read from --password-file); ends the user's sessions
user disable USERNAME     stop a user signing in and end their sessions
user enable USERNAME      let a disabled user sign in again
user list                 list the users

roles: `+rolesList()+`
scope levels: city, county (--org bureau ID), station (--org station ID), community (--org community ID)`, stdout)
	cfg.dbFlag(fs, getenv)
	fs.StringVar(&u.Name, "name", "", "add: the user's full name")
	fs.StringVar(&role, "role", "", "add: the user's role")
	fs.StringVar(&level, "scope", "", "add: city, county, station or community")
	var org int64
	fs.Int64Var(&org, "org", 0, "add: the ID of the bureau, station or community the scope names")
	fs.StringVar(&u.Lang, "lang", "zh", "add: the console's language for the user, zh or en")
	fs.StringVar(&passwordFile, "password-file", "", "add, passwd: read the password from this file (- for standard input) instead of making one")
	rest := args[1:]
	if !slices.Contains(verbs, verb) {
		rest = args
	}
	// Flags may come before or after the username.
	var names []string
	for len(rest) > 0 {
		if err := fs.parse2(rest); err != nil {
			return err
		}
		rest = fs.Args()
		if len(rest) > 0 {
			names, rest = append(names, rest[0]), rest[1:]
		}
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if verb == "list" && len(names) != 0 || verb != "list" && len(names) != 1 {
		return usageError{"user " + verb + ": give exactly one USERNAME (list takes none)"}
	}
	db, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	switch verb {
	case "list":
		users, err := db.FindUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tNAME\tROLE\tSCOPE\tSTATE\tLAST SIGN-IN")
		for _, u := range users {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			last := "never"
			if !u.LastLoginAt.IsZero() {
				last = u.LastLoginAt.In(zhufang.ChinaTime).Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.Name, u.Role, scopeText(u.Scope), state, last)
		}
		return tw.Flush()
	case "disable", "enable":
		if err := db.SetUserDisabled(ctx, names[0], verb == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s %sd\n", names[0], verb)
		return nil
	}
	password, shown, err := readPassword(passwordFile, stdin)
	if err != nil {
		return err
	}
	if verb == "passwd" {
		if err := db.SetPassword(ctx, names[0], password); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s changed; their sessions are ended\n", names[0])
	} else {
		u.Username, u.Role = names[0], zhufang.Role(role)
		u.Scope = scopeOf(zhufang.ScopeLevel(level), org)
		if err := db.CreateUser(ctx, &u, password); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s added: %s, %s\n", u.Username, u.Role, scopeText(u.Scope))
	}
	if shown {
		fmt.Fprintf(stdout, "password: %s\n(shown once; it is stored only as an argon2id hash)\n", password)
	}
	return nil
}

// parse2 parses flags without refusing what follows them.
func (fs *flags) parse2(args []string) error {
	if err := fs.FlagSet.Parse(args); err != nil {
		return fs.parse(args)
	}
	return nil
}

func rolesList() string {
	var s []string
	for _, r := range zhufang.Roles {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

// scopeOf names a scope by its level and the ID of its record.
func scopeOf(level zhufang.ScopeLevel, id int64) zhufang.Scope {
	s := zhufang.Scope{Level: level}
	switch level {
	case zhufang.ScopeCounty:
		s.BureauID = id
	case zhufang.ScopeStation:
		s.StationID = id
	case zhufang.ScopeCommunity:
		s.CommunityID = id
	}
	return s
}

func scopeText(s zhufang.Scope) string {
	switch s.Level {
	case zhufang.ScopeCounty:
		return fmt.Sprintf("county %d", s.BureauID)
	case zhufang.ScopeStation:
		return fmt.Sprintf("station %d", s.StationID)
	case zhufang.ScopeCommunity:
		return fmt.Sprintf("community %d", s.CommunityID)
	}
	return string(s.Level)
}

// readPassword reads a password from a file or standard input, or makes a
// random one (and says it must be shown).
func readPassword(file string, stdin io.Reader) (string, bool, error) {
	if file == "" {
		p, err := auth.NewPassword()
		return p, true, err
	}
	var r io.Reader = stdin
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

// runAudit verifies the audit chain.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" && args[0] != "--help" && args[0] != "-h" {
		return usageError{"audit: say verify (see zhufang audit --help)"}
	}
	var cfg Config
	fs := flagSet("audit", "audit verify walks the hash-chained audit trail and reports its first broken link.", stdout)
	cfg.dbFlag(fs, getenv)
	rest := args[1:]
	if args[0] != "verify" {
		rest = args
	}
	if err := fs.parse(rest); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	db, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	brk, n, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if brk != nil {
		fmt.Fprintf(stdout, "audit chain BROKEN at row %d (%d rows before it verify): %s\n", brk.ID, n, brk.Reason)
		return errAuditBroken
	}
	fmt.Fprintf(stdout, "audit chain intact: %d rows verified\n", n)
	return nil
}

// errAuditBroken makes audit verify exit non-zero.
var errAuditBroken = zhufang.Errorf(zhufang.ECONFLICT, "the audit chain is broken")

// printDemoUsers shows the demo users and their passwords, once.
func printDemoUsers(w io.Writer, users []demo.User) {
	fmt.Fprintln(w, "demo users (passwords are shown only now; change one with zhufang user passwd NAME):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  USERNAME\tPASSWORD\tROLE\tSCOPE")
	for _, u := range users {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", u.Username, u.Password, u.Role, scopeText(u.Scope))
	}
	tw.Flush()
}
