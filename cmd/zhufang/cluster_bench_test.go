package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// BenchmarkClusterPropagation measures how long a new incident takes to
// reach a console, from just before the intake POST to node 1 until the
// console's stream carries it, on a cluster of two nodes on PostgreSQL and
// NATS JetStream: with the console on node 1 itself (same_node) and on
// node 2 (other_node), side by side, so that the ratio is what the hop
// between nodes costs.
//
//	ZHUFANG_TEST_POSTGRES=… ZHUFANG_TEST_NATS=nats://127.0.0.1:4222 \
//	  go test -run='^$' -bench=ClusterPropagation -benchtime=200x -count=6 ./cmd/zhufang
func BenchmarkClusterPropagation(b *testing.B) {
	nurl := os.Getenv("ZHUFANG_TEST_NATS")
	if nurl == "" || os.Getenv(sqltest.PostgresEnv) == "" {
		b.Skip("needs ZHUFANG_TEST_POSTGRES and ZHUFANG_TEST_NATS")
	}
	dsn := sqltest.DSN(b, sqlstore.Postgres)
	ctx := context.Background()
	db, err := openDB(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := installDemo(ctx, db, Config{Seed: 1, AnchorDay: templateAnchor}, false); err != nil {
		b.Fatal(err)
	}
	db.Close()
	args := []string{"--db", dsn, "--nats", nurl, "--nats-stream", fmt.Sprintf("ZB_%d", time.Now().UnixNano())}
	n1 := startProcNode(b, "node1", freeAddr(b), args...)
	n2 := startProcNode(b, "node2", freeAddr(b), args...)
	token := signIn(b, n1.url, dsn, "bench-dispatcher", zhufang.RoleDispatcher)
	for _, c := range []struct {
		name    string
		console *procNode
	}{{"same_node", n1}, {"other_node", n2}} {
		b.Run(c.name, func(b *testing.B) {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			arrivals := consoleArrivals(b, cctx, c.console.url, token)
			client := &http.Client{Timeout: 10 * time.Second}
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				req, _ := http.NewRequest(http.MethodPost, n1.url+"/api/v1/incidents", strings.NewReader(
					`{"source":"call_110","address":"梅湾路","position":[111.6015,26.4372],"category":"200100","description":"传播"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				if res.StatusCode != 201 {
					b.Fatalf("intake %d", res.StatusCode)
				}
				var id int64
				fmt.Sscanf(readID(res.Body), "%d", &id)
				res.Body.Close()
				for waiting := true; waiting; {
					select {
					case a := <-arrivals:
						if a.id == id {
							lat = append(lat, a.at.Sub(t0))
							waiting = false
						}
					case <-time.After(10 * time.Second):
						b.Fatalf("incident %d never reached the console on %s", id, c.console.name)
					}
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// arrival is a new incident reaching a console.
type arrival struct {
	id int64
	at time.Time
}

// consoleArrivals opens a console's stream and delivers each new incident
// it carries, once the stream is connected.
func consoleArrivals(tb testing.TB, ctx context.Context, base, token string) <-chan arrival {
	tb.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	if res.StatusCode != 200 {
		tb.Fatalf("GET /events: %d", res.StatusCode)
	}
	out := make(chan arrival, 1000)
	connected := make(chan struct{})
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		first := true
		for sc.Scan() {
			line := sc.Text()
			if first && line == "" {
				first = false
				close(connected)
				continue
			}
			if rest, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(rest, `"incident.created"`) {
				var id int64
				fmt.Sscanf(rest[strings.Index(rest, `"incident_id":`)+len(`"incident_id":`):], "%d", &id)
				out <- arrival{id, time.Now()}
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		tb.Fatal("the console's stream did not connect")
	}
	return out
}
