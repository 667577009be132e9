package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// fuzzServer serves the demo city on SQLite for a fuzz test, signs a
// dispatcher in and takes one incident, for the targets to work on.
func fuzzServer(f *testing.F) (base, token string, inc struct{ ID int64 }) {
	dsn := sqltest.DSN(f, sqlstore.SQLite)
	base, stop := startServe(f, append(demoArgs(f, dsn), "--live=false")...)
	f.Cleanup(func() { stop() })
	token = signIn(f, base, dsn, "fuzz-dispatcher", zhufang.RoleDispatcher)
	if code := postJSON(f, base+"/api/v1/incidents", `{"source":"call_110","address":"梅湾路","position":[111.6015,26.4372],
		"category":"200100","description":"有人打架"}`, &inc); code != 201 {
		f.Fatalf("intake: %d", code)
	}
	return base, token, inc
}

// FuzzAPIBodies throws arbitrary bodies at the API's write endpoints that
// take JSON, on a real server and store (the demo city on SQLite): a
// transition, a lane override, an assignment, an assignment's step and a
// unit's status. Every answer is a success or a JSON error with a code
// and a message in words that name no Go type, never a 5xx, and a refused
// request changes nothing: the incident, its assignments and the unit read
// the same before and after.
// Intake, positions and sign-in have fuzz tests of their own.
func FuzzAPIBodies(f *testing.F) {
	seeds := []struct {
		endpoint uint8
		body     string
	}{
		{0, `{"to":"dispatched","note":"派车"}`},
		{0, `{"to":"closed"}`},
		{0, `{"to":"acknowledged","at":"2026-11-29T04:00:00Z"}`},
		{1, `{"lane":"station","reason":"纠纷","assign_to":"社区民警"}`},
		{1, `{"lane":"nowhere"}`},
		{2, `{"unit_id":1,"role":"primary","eta_seconds":120}`},
		{2, `{"unit_id":-5,"eta_seconds":1e30}`},
		{3, `{"to":"acknowledged"}`},
		{3, `{"to":"cleared","actor":"x"}`},
		{4, `{"status":"available"}`},
		{4, `{"status":"on_fire"}`},
		{0, `{"to":`},
		{1, `[]`},
		{2, `{"unit_id":"1"}`},
		{4, strings.Repeat(`{"status":`, 1000)},
		{0, `{"TO":"closed"}`},
		{0, `{"to":"dispatched","to":"closed"}`},
		{2, `{"unit_id":{"id":1}}`},
	}
	for _, s := range seeds {
		f.Add(s.endpoint, s.body)
	}
	base, token, inc := fuzzServer(f)
	var units struct{ Units []struct{ ID int64 } }
	getJSON(f, base+"/api/v1/units", &units)
	if len(units.Units) == 0 {
		f.Fatal("no units")
	}
	unit := units.Units[0].ID
	// An assignment for the step endpoint to work on.
	var a struct{ ID int64 }
	if code := postJSON(f, fmt.Sprintf("%s/api/v1/incidents/%d/assignments", base, inc.ID), fmt.Sprintf(`{"unit_id":%d}`, unit), &a); code != 201 {
		f.Fatalf("assign: %d", code)
	}
	targets := []string{
		fmt.Sprintf("/api/v1/incidents/%d/transitions", inc.ID),
		fmt.Sprintf("/api/v1/incidents/%d/lane", inc.ID),
		fmt.Sprintf("/api/v1/incidents/%d/assignments", inc.ID),
		fmt.Sprintf("/api/v1/assignments/%d/transitions", a.ID),
		fmt.Sprintf("/api/v1/units/%d/status", unit),
	}
	state := func(t *testing.T) string {
		var b strings.Builder
		for _, p := range []string{fmt.Sprintf("/api/v1/incidents/%d", inc.ID), fmt.Sprintf("/api/v1/incidents/%d/assignments", inc.ID),
			fmt.Sprintf("/api/v1/units/%d", unit)} {
			req, _ := http.NewRequest(http.MethodGet, base+p, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			b.Write(timeless(body))
		}
		return b.String()
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body string) {
		target := targets[int(endpoint)%len(targets)]
		before := state(t)
		req, _ := http.NewRequest(http.MethodPost, base+target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("POST %s %q: %d %s", target, body, res.StatusCode, out)
		}
		if res.StatusCode < 300 {
			return
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(out, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("POST %s %q: %d without a JSON error: %s", target, body, res.StatusCode, out)
		}
		if strings.Contains(e.Error.Message, "json:") || strings.Contains(e.Error.Message, "Go struct") || strings.Contains(e.Error.Message, "zhufang.") {
			t.Fatalf("POST %s %q: the message names Go's insides: %s", target, body, e.Error.Message)
		}
		if after := state(t); !bytes.Equal([]byte(before), []byte(after)) {
			t.Fatalf("POST %s %q was refused (%d %s) but changed:\n%s\n---\n%s", target, body, res.StatusCode, e.Error.Message, before, after)
		}
	})
}

// timeless drops from a JSON answer what changes by itself as time passes
// (whether a stage is breached yet), so that two reads compare equal when
// nothing but the clock moved in between.
func timeless(body []byte) []byte {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return body
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "breached")
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	out, _ := json.Marshal(v)
	return out
}

// FuzzAPIQueries throws arbitrary query strings at the API's and the
// console's reads that take parameters, on a real server and store: the
// incident list, compliance, units, recommendations, the audit trail, the
// board and the map. Every answer is a 200 or a 4xx (JSON under /api/),
// never a 5xx, and the query is never echoed into a page unescaped.
func FuzzAPIQueries(f *testing.F) {
	seeds := []struct {
		endpoint uint8
		query    string
	}{
		{0, "state=received&lane=street&limit=20"},
		{0, "from=2026-11-01&to=2026-11-30&station_id=16"},
		{0, "state=nonsense&limit=-1"},
		{1, "from=2026-11-01T00:00:00%2B08:00&to=2026-11-30T00:00:00%2B08:00"},
		{1, "from=yesterday"},
		{2, "station_id=16"},
		{2, "station_id=99999999999999999999"},
		{3, "k=5&needs=armed,medic"},
		{3, "k=0"},
		{4, "actor=x&record=incident/1&from=2026-01-01"},
		{5, "sel=1&msg=%3Cscript%3Ealert(1)%3C%2Fscript%3E"},
		{6, "hours=24"},
		{6, "hours=1e9"},
	}
	for _, s := range seeds {
		f.Add(s.endpoint, s.query)
	}
	base, token, inc := fuzzServer(f)
	paths := []string{"/api/v1/incidents", "/api/v1/compliance", "/api/v1/units",
		fmt.Sprintf("/api/v1/incidents/%d/recommendations", inc.ID), "/api/v1/audit", "/board", "/map"}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, endpoint uint8, query string) {
		path := paths[int(endpoint)%len(paths)]
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' }) {
			return // not a request line: net/http answers it before any handler
		}
		req, err := http.NewRequest(http.MethodGet, base+path+"?"+query, nil)
		if err != nil {
			return // not a URL a client could send
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("GET %s?%s: %d %s", path, query, res.StatusCode, out)
		}
		if strings.HasPrefix(path, "/api/") && res.StatusCode >= 400 {
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(out, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("GET %s?%s: %d without a JSON error: %s", path, query, res.StatusCode, out)
			}
		}
		if bytes.Contains(out, []byte("<script>alert")) {
			t.Fatalf("GET %s?%s echoed markup into the page", path, query)
		}
	})
}
