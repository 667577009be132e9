package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// BenchmarkIntakeHTTP takes 110 calls in through POST /api/v1/incidents on
// a served demo city, each durable (committed) before its answer, from 16
// concurrent clients, and reports incidents/s and latency percentiles. One
// sub-benchmark per engine.
func BenchmarkIntakeHTTP(b *testing.B) {
	for _, engine := range sqltest.Engines() {
		b.Run(string(engine), func(b *testing.B) { benchIntake(b, engine) })
	}
}

func benchIntake(b *testing.B, engine sqlstore.Engine) {
	dsn := sqltest.DSN(b, engine)
	base, stop := startServeB(b, "--demo", "--history", "0", "--live=false", "--db", dsn)
	defer stop()
	token := signIn(b, base, dsn, "bench", zhufang.RoleDispatcher)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	cats := []string{"200100", "209100", "100100", "300100", "500300", "600300", "100601", "200400"}
	body := func(r *rand.Rand) string {
		// Points around Lengshuitan's and Lingling's cores, all inside the city.
		lon, lat := 111.58+r.Float64()*0.06, 26.40+r.Float64()*0.06
		if r.IntN(2) == 0 {
			lon, lat = 111.59+r.Float64()*0.05, 26.19+r.Float64()*0.05
		}
		return fmt.Sprintf(`{"source":"call_110","caller_phone":"1381234%04d","address":"测试路%d号","position":[%.6f,%.6f],"category":"%s","description":"压测警情"}`,
			r.IntN(10000), r.IntN(999), lon, lat, cats[r.IntN(len(cats))])
	}
	const clients = 16
	var mu sync.Mutex
	var lat []time.Duration
	work := make(chan struct{})
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 1))
			var mine []time.Duration
			for range work {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/incidents", strings.NewReader(body(r)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					b.Errorf("status %d", res.StatusCode)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "incidents/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
