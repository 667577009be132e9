package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"zhufang/sqlstore/sqltest"
)

// columnStarts returns the terminal column at which each cell of a table
// line starts, counting a Han character as two cells. Cells are runs of
// words with single spaces inside (a name such as 接警员 张丽), apart by two
// or more. It counts widths on its own, not with the code under test.
func columnStarts(line string) []int {
	var starts []int
	for _, m := range regexp.MustCompile(`\S+( \S+)*`).FindAllStringIndex(line, -1) {
		w := 0
		for _, r := range line[:m[0]] {
			if unicode.Is(unicode.Han, r) {
				w += 2
			} else {
				w++
			}
		}
		starts = append(starts, w)
	}
	return starts
}

// checkAligned fails unless every line's cells start where the header's do.
func checkAligned(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := columnStarts(lines[0])
	for _, l := range lines[1:] {
		got := columnStarts(l)
		if len(got) > len(want) {
			t.Fatalf("line %q has more cells than the header %q", l, lines[0])
		}
		if diff := cmp.Diff(want[:len(got)], got); diff != "" {
			t.Fatalf("line %q is not aligned with the header %q (-want +got):\n%s", l, lines[0], diff)
		}
		if strings.HasSuffix(l, " ") {
			t.Fatalf("line %q ends in spaces", l)
		}
	}
}

// zhufangOK runs a command in process, failing the test if it fails, and
// returns what it printed.
func zhufangOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("zhufang %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func TestUserListAlignsWideNames(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "users.db")
	pw := writeFile(t, t.TempDir(), "pw", "a long test password\n")
	for _, u := range []struct{ username, name, role string }{
		{"bob", "Bob", "dispatcher"},
		{"zhangli", "接警员 张丽", "analyst"},
		{"ouyang", "欧阳 Li 娜", "admin"},
		{"ascii.long.name", "A rather long English name", "city_commander"},
	} {
		zhufangOK(t, "user", "add", "--db", dsn, "--name", u.name, "--role", u.role, "--scope", "city", "--password-file", pw, u.username)
	}
	out := zhufangOK(t, "user", "list", "--db", dsn)
	if n := strings.Count(out, "\n"); n != 5 {
		t.Fatalf("user list printed %d lines, want a header and 4 users:\n%s", n, out)
	}
	checkAligned(t, out)
}

func TestOrgList(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "org.db")
	b, err := os.ReadFile(sqltest.Demo(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dsn, b, 0o600); err != nil {
		t.Fatal(err)
	}
	levels := func(out string) map[string]int {
		n := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			n[strings.Fields(l)[1]]++
		}
		return n
	}
	all := zhufangOK(t, "org", "list", "--db", dsn)
	checkAligned(t, all)
	if diff := cmp.Diff(map[string]int{"city": 1, "county": 13, "station": 170, "community": 124 + 3181}, levels(all)); diff != "" {
		t.Fatalf("org list counts (-want +got):\n%s", diff)
	}
	counties := zhufangOK(t, "org", "list", "--db", dsn, "--kind", "county")
	if diff := cmp.Diff(map[string]int{"county": 13}, levels(counties)); diff != "" {
		t.Fatalf("org list --kind county (-want +got):\n%s", diff)
	}
	// A station's ID from the list, its communities, and both taken by
	// user add --org.
	var station, community string
	for _, l := range strings.Split(all, "\n") {
		f := strings.Fields(l)
		if len(f) > 2 && f[1] == "station" && station == "" {
			station = f[0]
		}
	}
	one := zhufangOK(t, "org", "list", "--db", dsn, "--station", station)
	checkAligned(t, one)
	n := levels(one)
	if n["station"] != 1 || n["community"] == 0 || n["county"] != 0 || n["city"] != 0 {
		t.Fatalf("org list --station %s: %v\n%s", station, n, one)
	}
	for _, l := range strings.Split(one, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[1] == "community" {
			community = f[0]
		}
	}
	pw := writeFile(t, t.TempDir(), "pw", "a long test password\n")
	zhufangOK(t, "user", "add", "--db", dsn, "--name", "所长", "--role", "station_chief", "--scope", "station", "--org", station, "--password-file", pw, "chief2")
	zhufangOK(t, "user", "add", "--db", dsn, "--name", "民警", "--role", "community_officer", "--scope", "community", "--org", community, "--password-file", pw, "officer2")
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"org", "list", "--db", dsn, "--station", "999999"}, func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(oneLine(err), "no station has ID 999999") {
		t.Fatalf("org list of a missing station: %v", err)
	}
}
