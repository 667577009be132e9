package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/load"
	"zhufang/sqlstore/sqltest"
	"zhufang/zhufangtest"
)

// TestLoadServer drives an in-process server at a steady rate and checks
// that the run did what it was asked, that every acknowledged incident is
// stored with its history, that dead and failing nodes in the URL list
// cost only their own requests, and that verify catches lost incidents.
func TestLoadServer(t *testing.T) {
	if zhufangtest.Race {
		t.Skip("the load tool is checked in the pass without the race detector (here and in the SIGKILL tests); the race pass is CI's longest")
	}
	dsn := filepath.Join(t.TempDir(), "load.db")
	base, stop := startServe(t, demoArgs(t, dsn)...)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve ended with %v", err)
		}
	}()
	ctx := t.Context()
	creds, err := provisionLoad(ctx, Config{DB: dsn}, []string{base}, load.MaxUnits)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.Units) != load.MaxUnits || creds.Session == "" || !strings.HasPrefix(creds.Username, "load-") {
		t.Fatalf("provisioned %d units, session %t, user %q; want %d units, a session and a load- user",
			len(creds.Units), creds.Session != "", creds.Username, load.MaxUnits)
	}

	// A steady run: every due request goes out and is acknowledged.
	var record bytes.Buffer
	rep, err := load.Drive(ctx, load.Config{URLs: []string{base}, Creds: creds, Rate: 10, Positions: 40, Duration: 3 * time.Second, Record: &record})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("steady: %d intakes acknowledged (%.1f/s), %d positions accepted (%.1f/s), latency %+v",
		rep.Intakes.Acknowledged, rep.IntakeRate, rep.Accepted, rep.PosRate, rep.Latency)
	in := rep.Intakes
	if in.Attempted+in.Behind != 30 || in.Behind != 0 || in.Failed != 0 || in.Acknowledged != in.Attempted {
		t.Fatalf("intakes %+v, want 30 attempted and acknowledged at 10/s for 3 s (first errors %v)", in, rep.FirstErrors)
	}
	if rep.Transitions.Acknowledged != 2*in.Acknowledged || rep.Transitions.Failed != 0 {
		t.Fatalf("transitions %+v, want 2 per intake (dispatched, acknowledged)", rep.Transitions)
	}
	if rep.Accepted == 0 || rep.Accepted != rep.Sent || rep.Positions.Failed != 0 || rep.Sent < 3*40-5 || rep.Sent > 3*40 {
		t.Fatalf("positions: %d of %d accepted, requests %+v; want about 120, all accepted (first errors %v)",
			rep.Accepted, rep.Sent, rep.Positions, rep.FirstErrors)
	}
	if rep.IntakeRate < 9 || rep.IntakeRate > 10.5 || rep.PosRate < 0.85*40 || rep.PosRate > 40.5 {
		t.Fatalf("achieved %.1f intakes/s and %.1f positions/s, asked 10 and 40", rep.IntakeRate, rep.PosRate)
	}
	if l := rep.Latency; !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Fatalf("latency %+v is not ordered", l)
	}
	if rep.Records != 3*in.Acknowledged || rep.ByURL[base].Acknowledged != in.Acknowledged {
		t.Fatalf("%d record lines and %d by URL for %d intakes", rep.Records, rep.ByURL[base].Acknowledged, in.Acknowledged)
	}
	// The first unit got the first position request: the server now has it fresh.
	var unit struct {
		Stale    bool
		Position zhufang.Point
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/v1/units/%d", base, creds.Units[0].ID), nil)
	req.Header.Set("Authorization", "Bearer "+creds.Session)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(res.Body).Decode(&unit)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET unit %d: %d, %v", creds.Units[0].ID, res.StatusCode, err)
	}
	if unit.Stale || unit.Position.DistanceMeters(creds.Units[0].Home) > 2000 {
		t.Fatalf("unit %d after the run: %+v, want a fresh position within 2 km of home %v", creds.Units[0].ID, unit, creds.Units[0].Home)
	}
	records, err := load.ReadRecords(&record, "steady")
	if err != nil {
		t.Fatal(err)
	}
	v, err := load.Verify(ctx, []string{base}, creds.Session, records)
	if err != nil {
		t.Fatal(err)
	}
	if want := (load.VerifyReport{Incidents: 30, Present: 30, Lost: []load.Loss{}}); !cmp.Equal(v, want) {
		t.Fatalf("verify (-want +got):\n%s", cmp.Diff(want, v))
	}

	t.Run("dead and failing nodes", func(t *testing.T) { checkLoadDeadNodes(t, base, creds) })
	t.Run("command", func(t *testing.T) { checkLoadCommand(t, base, dsn, creds) })
	t.Run("loss", func(t *testing.T) { checkLoadLoss(t, base, dsn, creds, records) })
}

// checkLoadDeadNodes drives a list of three nodes, one refusing
// connections and one answering 503: only their own requests fail, every
// transition reaches the live node, and verify finds every incident through
// the list.
func checkLoadDeadNodes(t *testing.T, base string, creds load.Creds) {
	dead := deadURL(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":{"code":"unavailable","message":"draining"}}`))
	}))
	defer failing.Close()
	urls := []string{base, dead, failing.URL}
	var record bytes.Buffer
	rep, err := load.Drive(t.Context(), load.Config{URLs: urls, Creds: creds, Rate: 15, Positions: 30, Duration: 2 * time.Second, Record: &record})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("with dead nodes: intakes %+v, transitions %+v", rep.Intakes, rep.Transitions)
	in, live, gone, sick := rep.Intakes, rep.ByURL[base], rep.ByURL[dead], rep.ByURL[failing.URL]
	if in.Attempted != 30 || live.Attempted == 0 || gone.Attempted == 0 || sick.Attempted == 0 {
		t.Fatalf("intakes %+v by URL %+v %+v %+v: want 30, some to each node", in, live, gone, sick)
	}
	if live.Failed != 0 || in.Acknowledged != live.Acknowledged ||
		gone.Acknowledged != 0 || gone.Failures.Refused != gone.Attempted ||
		sick.Acknowledged != 0 || sick.Failures.Server != sick.Attempted {
		t.Fatalf("by URL: live %+v, dead %+v, 503 %+v; want the live node to take all it got, the others none", live, gone, sick)
	}
	// A transition that got no answer or a 503 goes to the next node.
	if rep.Transitions.Acknowledged != 2*in.Acknowledged || rep.Transitions.Failures.Refused == 0 || rep.Transitions.Failures.Server == 0 {
		t.Fatalf("transitions %+v for %d intakes: want every one acknowledged after retries on the other nodes", rep.Transitions, in.Acknowledged)
	}
	// The URLs are shared in turn by intakes, transitions and positions, so
	// which of the two bad nodes a position request meets is chance; that
	// some meet one, and none is acknowledged there, is not.
	if f := rep.Positions.Failures; rep.Accepted == 0 || f.Refused+f.Server == 0 || rep.Positions.Failed != f.Refused+f.Server {
		t.Fatalf("positions: %d accepted, requests %+v", rep.Accepted, rep.Positions)
	}
	records, err := load.ReadRecords(&record, "dead")
	if err != nil {
		t.Fatal(err)
	}
	v, err := load.Verify(t.Context(), []string{dead, failing.URL, base}, creds.Session, records)
	if err != nil || v.Present != int(in.Acknowledged) || v.Incidents != v.Present || v.Err() != nil {
		t.Fatalf("verify through dead nodes: %+v %v", v, err)
	}
	// Where no node answers, nothing is checked, and verify says so.
	v, err = load.Verify(t.Context(), []string{dead, failing.URL}, creds.Session, records)
	if err != nil || v.Unchecked != v.Incidents || v.Present != 0 || !strings.Contains(fmt.Sprint(v.Err()), "could not be checked") {
		t.Fatalf("verify with no node answering: %+v %v (%v)", v, err, v.Err())
	}
}

// deadURL is the URL of a port where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// checkLoadCommand runs `zhufang load` and `zhufang load --verify` as a
// shell would, provisioning through --db.
func checkLoadCommand(t *testing.T, base, dsn string, creds load.Creds) {
	file := filepath.Join(t.TempDir(), "run.jsonl")
	code, stdout, stderr, _ := runMain(t, "load", "--url", base+"/", "--db", dsn, "--duration", "2s", "--rate", "5", "--positions", "10", "--record", file, "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("load: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var rep load.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("load --json: %v\n%s", err, stdout)
	}
	if rep.Intakes.Acknowledged != 10 || rep.Transitions.Acknowledged != 20 || rep.Accepted == 0 || rep.Records != 30 {
		t.Fatalf("load --json: intakes %+v, transitions %+v, %d positions, %d records", rep.Intakes, rep.Transitions, rep.Accepted, rep.Records)
	}
	code, stdout, stderr, _ = runMain(t, "load", "--verify", file, "--url", base, "--db", dsn)
	if code != 0 || stdout != "10 acknowledged incidents, all present with their history\n" || stderr != "" {
		t.Fatalf("load --verify: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// The command retires what it made: its dispatchers are disabled and
	// its devices revoked. The in-process runs above keep theirs.
	db := sqltest.Raw(t, dsn)
	var users, all, devices int
	if err := db.QueryRow(`SELECT count(*), sum(CASE WHEN disabled THEN 0 ELSE 1 END) FROM users WHERE username LIKE 'load-%'`).Scan(&all, &users); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM devices WHERE revoked_at IS NULL`).Scan(&devices); err != nil {
		t.Fatal(err)
	}
	if all != 3 || users != 1 || devices != len(creds.Units) {
		t.Errorf("%d load users, %d enabled, %d devices not revoked; want 3 (in process, load, verify), 1 and %d",
			all, users, devices, len(creds.Units))
	}
}

// checkLoadLoss deletes one recorded incident and the acknowledgement of
// another straight from the database, adds a record of an incident that
// never was, and checks that verify names all three, in process and as a
// command.
func checkLoadLoss(t *testing.T, base, dsn string, creds load.Creds, records []load.Record) {
	recs := load.MergeRecords(records)
	gone, cut := recs[3].ID, recs[7].ID
	db := sqltest.Raw(t, dsn)
	for _, q := range []string{`DELETE FROM incident_transitions WHERE incident_id = ?`, `DELETE FROM breach_alerts WHERE incident_id = ?`,
		`DELETE FROM incidents WHERE id = ?`} {
		if _, err := db.Exec(q, gone); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`DELETE FROM incident_transitions WHERE incident_id = ? AND to_state = 'acknowledged'`, cut); err != nil {
		t.Fatal(err)
	}
	never := load.Record{ID: 1 << 40, ReceivedAt: recs[0].ReceivedAt, States: []zhufang.IncidentState{zhufang.StateReceived}}
	v, err := load.Verify(t.Context(), []string{base}, creds.Session, append(records, never))
	if err != nil {
		t.Fatal(err)
	}
	want := load.VerifyReport{Incidents: 31, Present: 28, Lost: []load.Loss{
		{ID: gone, Reason: fmt.Sprintf("incident %d does not exist", gone)},
		{ID: cut, Reason: fmt.Sprintf("incident %d lacks its acknowledged (stored: received → dispatched)", cut)},
		{ID: never.ID, Reason: fmt.Sprintf("incident %d does not exist", never.ID)},
	}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Fatalf("verify (-want +got):\n%s", diff)
	}

	var file bytes.Buffer
	for _, r := range append(records, never) {
		b, _ := json.Marshal(r)
		file.Write(append(b, '\n'))
	}
	path := writeFile(t, t.TempDir(), "lost.jsonl", file.String())
	code, stdout, stderr, _ := runMain(t, "load", "--verify", path, "--url", base, "--db", dsn)
	wantErr := fmt.Sprintf("zhufang: 3 of 31 acknowledged incidents lost: incident %d does not exist; incident %d lacks its acknowledged", gone, cut)
	if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, wantErr) {
		t.Fatalf("load --verify after a loss: exit %d\nstdout: %s\nstderr: %s\nwant exit 1 and %q", code, stdout, stderr, wantErr)
	}
}

// TestLoadCommandLine: the mistakes a person can make calling load, each
// answered by one line and the right exit code before anything is driven.
func TestLoadCommandLine(t *testing.T) {
	if zhufangtest.Race {
		// Each case starts the binary and reads its exit code and one
		// line: one goroutine's work, and under the race detector the
		// start is the whole cost. The ordinary pass runs every case.
		t.Skip("the command line's answers are checked in the pass without the race detector")
	}
	dir := t.TempDir()
	u := deadURL(t)
	good := `{"id":7,"received_at":"2026-03-01T08:00:00Z","states":["received","dispatched"]}`
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no url", []string{"load"}, 2, "load: --url is required"},
		{"ftp url", []string{"load", "--url", "ftp://example.org"}, 2, `--url "ftp://example.org" must be an http:// or https:// base URL`},
		{"url without host", []string{"load", "--url", "http://"}, 2, "must be an http:// or https:// base URL"},
		{"url with a password", []string{"load", "--url", "http://who:secret@example.org"}, 2, `--url "http://who:xxxxx@example.org" must be`},
		{"second url bad", []string{"load", "--url", u + ",localhost:8080"}, 2, `--url "localhost:8080" must be`},
		{"zero rate", []string{"load", "--url", u, "--rate", "0"}, 2, "--rate 0 must be more than 0 and at most 10000"},
		{"negative rate", []string{"load", "--url", u, "--rate", "-5"}, 2, "--rate -5 must be"},
		{"absurd rate", []string{"load", "--url", u, "--rate", "20000"}, 2, "--rate 20000 must be"},
		{"NaN rate", []string{"load", "--url", u, "--rate", "NaN"}, 2, "--rate NaN must be"},
		{"rate not a number", []string{"load", "--url", u, "--rate", "fast"}, 2, `invalid value "fast" for flag -rate`},
		{"negative positions", []string{"load", "--url", u, "--positions", "-1"}, 2, "--positions -1 must be from 0 to 10000"},
		{"negative duration", []string{"load", "--url", u, "--duration", "-1s"}, 2, "--duration -1s must not be negative"},
		{"record and verify", []string{"load", "--url", u, "--record", dir + "/r", "--verify", dir + "/v"}, 2, "--record and --verify do not go together"},
		{"missing database", []string{"load", "--url", u, "--db", dir + "/none.db"}, 1, "database file " + dir + "/none.db does not exist"},
		{"record in a missing folder", []string{"load", "--url", u, "--record", dir + "/no/such/run.jsonl"}, 1, "cannot open the record file"},
		{"missing record", []string{"load", "--url", u, "--verify", dir + "/none.jsonl"}, 1, "record file " + dir + "/none.jsonl does not exist"},
		{"malformed record", []string{"load", "--url", u, "--verify", writeFile(t, dir, "bad.jsonl", good+"\n\n{\"id\":8,\n")},
			1, "record file " + dir + "/bad.jsonl line 3: not a load record"},
		{"record skips a state", []string{"load", "--url", u, "--verify", writeFile(t, dir, "skip.jsonl",
			`{"id":7,"received_at":"2026-03-01T08:00:00Z","states":["received","acknowledged"]}`)},
			1, `skip.jsonl line 1: states: an incident cannot go from "received" to "acknowledged"`},
		{"empty record", []string{"load", "--url", u, "--verify", writeFile(t, dir, "empty.jsonl", "\n")}, 1, "empty.jsonl holds no incidents"},
		{"no server to sign in at", []string{"load", "--url", u, "--verify", writeFile(t, dir, "ok.jsonl", good), "--db", loadDemoDB(t)},
			1, `cannot sign in at any --url: Post "` + u + `/api/v1/session"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr, took := runMain(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if took > 10*time.Second {
				t.Fatalf("took %s", took)
			}
			if stdout != "" {
				t.Fatalf("a failure printed on stdout: %q", stdout)
			}
			if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "zhufang: ") ||
				!strings.Contains(lines[0], tt.stderr) {
				t.Fatalf("stderr %q, want one zhufang: line saying %q", stderr, tt.stderr)
			}
			if strings.Contains(stderr, "secret") {
				t.Fatal("stderr shows a password")
			}
		})
	}
	if _, err := os.Stat(dir + "/none.db"); err == nil {
		t.Fatal("load created the database it was pointed at")
	}
	code, stdout, _, _ := runMain(t, "load", "--help")
	if code != 0 || !strings.Contains(stdout, "usage: zhufang load") || !strings.Contains(stdout, "-verify") {
		t.Fatalf("load --help: %d %q", code, stdout)
	}
}

// loadDemoDB is a copy of the demo city's database, served by nobody.
func loadDemoDB(t *testing.T) string {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "demo.db")
	demoArgs(t, dsn)
	return dsn
}
