package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/data"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/inmem"
	"zhufang/locate"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
	"zhufang/tiling"
	"zhufang/web"
	"zhufang/zhufangtest"
)

// BenchmarkBoard renders the dispatcher's board with 1,000 open incidents,
// server-side: the store's reads (scoped to a city dispatcher), the clocks
// and the template, into an in-process response. Goal: ≤ 100 ms.
func BenchmarkBoard(b *testing.B) {
	ctx := context.Background()
	db := sqltest.Open(b, sqlstore.SQLite, sqlstore.Options{})
	city, err := demo.Build(demo.Options{Seed: 1, Data: data.FS, Cells: tiling.Cells})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.ImportCity(ctx, city); err != nil {
		b.Fatal(err)
	}
	idx, _, err := locate.FromOrg(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	intake := &zhufang.Intake{Categories: zhufangtest.Categories(b), Locator: idx, Triage: zhufang.DefaultTriage(), Zones: zhufang.DefaultZoneProfiles(),
		Clock: zhufang.SystemClock{}, Store: db}
	r := rand.New(rand.NewPCG(1, 2))
	codes := []string{"200100", "209100", "100100", "300100", "500300", "600300"}
	for n := 0; n < 1000; {
		inc := &zhufang.Incident{Source: zhufang.SourceCall110, ReceivedAt: time.Now().UTC().Add(-time.Duration(r.IntN(240)) * time.Second).Truncate(time.Microsecond),
			CallerPhone: "13812345678", Address: fmt.Sprintf("测试路%d号", n), Position: zhufang.Point{Lon: 111.55 + r.Float64()*0.1, Lat: 26.38 + r.Float64()*0.1},
			Category: codes[r.IntN(len(codes))], Description: "压测警情"}
		if err := intake.Receive(ctx, inc, "bench"); err != nil {
			if zhufang.ErrorCode(err) == zhufang.EINVALID { // drawn outside the city
				continue
			}
			b.Fatal(err)
		}
		n++
	}
	u := &zhufang.User{Username: "dispatcher", Name: "接警员", Role: zhufang.RoleDispatcher, Scope: zhufang.Scope{Level: zhufang.ScopeCity}}
	if err := db.CreateUser(ctx, u, "a long bench password"); err != nil {
		b.Fatal(err)
	}
	token, _, err := db.CreateSession(ctx, u.ID, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	fl, err := dispatch.NewFleet(ctx, db, 2*time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	srv := &web.Server{Org: db, Locator: idx, Incidents: db, Compliance: db, Assignments: db, Devices: db, Units: db,
		Users: db, Audit: db, EventLog: db, Fleet: fl, Events: inmem.NewBus(16), Intake: intake,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h, err := srv.Handler()
	if err != nil {
		b.Fatal(err)
	}
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/board", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := get() // builds the city reference once, as the first request after start does
	if rec.Code != 200 || strings.Count(rec.Body.String(), `<tr id="inc-`) != 1000 {
		b.Fatalf("board: %d with %d rows", rec.Code, strings.Count(rec.Body.String(), `<tr id="inc-`))
	}
	b.ReportMetric(float64(rec.Body.Len())/1024, "KB/page")
	b.ResetTimer()
	for b.Loop() {
		if rec := get(); rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkSSEFanout connects 200 consoles to a served demo city over
// loopback and measures how long one change takes to reach each: from just
// before the intake POST is sent to the moment each console reads the
// event. Reports p50 and p99 over all consoles and rounds. Goal: p99 ≤ 100 ms.
func BenchmarkSSEFanout(b *testing.B) {
	const consoles = 200
	dsn := sqltest.DSN(b, sqlstore.SQLite)
	base, stop := startServeB(b, demoArgs(b, dsn)...)
	defer stop()
	token := signIn(b, base, dsn, "fanout", zhufang.RoleDispatcher)
	type seen struct {
		id int64
		at time.Time
	}
	got := make(chan seen, consoles*4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: consoles + 10}}
	var ready sync.WaitGroup
	for range consoles {
		ready.Add(1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				ready.Done()
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			first := true
			for sc.Scan() {
				line := sc.Text()
				if first && line == "" {
					first = false
					ready.Done() // the retry line came: connected
					continue
				}
				if rest, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(rest, `"incident.created"`) {
					var id int64
					fmt.Sscanf(rest[strings.Index(rest, `"incident_id":`)+len(`"incident_id":`):], "%d", &id)
					got <- seen{id, time.Now()}
				}
			}
		}()
	}
	ready.Wait()
	var lat []time.Duration
	n := 0
	for b.Loop() {
		n++
		body := fmt.Sprintf(`{"source":"call_110","address":"测试路%d号","position":[111.6015,26.4372],"category":"200100","description":"扇出"}`, n)
		t0 := time.Now()
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/incidents", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var inc struct{ ID int64 }
		if res.StatusCode != 201 {
			b.Fatalf("intake %d", res.StatusCode)
		}
		fmt.Fscanf(strings.NewReader(readID(res.Body)), "%d", &inc.ID)
		res.Body.Close()
		for i := 0; i < consoles; {
			select {
			case s := <-got:
				if s.id == inc.ID {
					lat = append(lat, s.at.Sub(t0))
					i++
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("only %d of %d consoles saw incident %d", i, consoles, inc.ID)
			}
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(consoles, "consoles")
}

// readID reads an incident's ID from its JSON.
func readID(r io.Reader) string {
	b, _ := io.ReadAll(r)
	s := string(b)
	i := strings.Index(s, `"id": `)
	if i < 0 {
		return "0"
	}
	return strings.TrimSpace(strings.SplitN(s[i+6:], ",", 2)[0])
}
