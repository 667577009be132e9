package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"zhufang/cluster"
	"zhufang/load"
	"zhufang/zhufangtest"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// crashRun is what a SIGKILL test measured.
type crashRun struct {
	load     load.Report
	verify   load.VerifyReport
	restarts []time.Duration // from the kill's end to the restarted node answering /readyz 200
	metrics  map[string]*dto.MetricFamily
}

// killDuringLoad drives steady load at the nodes, kills one of them with
// SIGKILL five times (node i%len for kill i), restarting it each time, then
// verifies that every incident the load saw acknowledged is stored with
// its whole history. A /metrics scrape is taken during the load.
func killDuringLoad(t *testing.T, dsn string, nodes []*procNode) crashRun {
	t.Helper()
	ctx := t.Context()
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.url)
	}
	creds, err := provisionLoad(ctx, Config{DB: dsn}, urls, 20)
	if err != nil {
		t.Fatal(err)
	}
	recordPath := filepath.Join(t.TempDir(), "acked.jsonl")
	record, err := os.Create(recordPath)
	if err != nil {
		t.Fatal(err)
	}
	defer record.Close()
	lctx, stopLoad := context.WithCancel(ctx)
	done := make(chan load.Report, 1)
	go func() {
		rep, err := load.Drive(lctx, load.Config{URLs: urls, Creds: creds, Rate: 20, Positions: 50, Record: record})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	var run crashRun
	time.Sleep(2 * time.Second)
	run.metrics = scrapeMetrics(t, nodes[0].url)
	for kill := range 5 {
		time.Sleep(2 * time.Second)
		n := nodes[kill%len(nodes)]
		n.kill()
		time.Sleep(500 * time.Millisecond) // the load meets a dead node
		began := time.Now()
		n.start(t)
		if err := cluster.WaitReady(ctx, n.url, time.Minute); err != nil {
			t.Fatal(err)
		}
		run.restarts = append(run.restarts, time.Since(began))
	}
	time.Sleep(2 * time.Second)
	stopLoad()
	run.load = <-done
	record.Close()
	f, err := os.Open(recordPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := load.ReadRecords(f, recordPath)
	if err != nil {
		t.Fatal(err)
	}
	run.verify, err = load.Verify(ctx, urls, creds.Session, records)
	if err != nil {
		t.Fatal(err)
	}
	in := run.load.Intakes
	t.Logf("load: %.1f s, intakes %d attempted, %d acknowledged (%.1f/s), %d failed %+v; transitions %d acknowledged; positions %d accepted (%.1f/s)",
		run.load.Seconds, in.Attempted, in.Acknowledged, run.load.IntakeRate, in.Failed, in.Failures, run.load.Transitions.Acknowledged,
		run.load.Accepted, run.load.PosRate)
	t.Logf("verify: %d acknowledged incidents, %d present with their history, %d lost, %d unchecked",
		run.verify.Incidents, run.verify.Present, len(run.verify.Lost), run.verify.Unchecked)
	s := slices.Clone(run.restarts)
	slices.Sort(s)
	t.Logf("restart to ready after SIGKILL: %v (median %s)", run.restarts, s[len(s)/2].Round(time.Millisecond))
	if len(run.verify.Lost) > 0 || run.verify.Unchecked > 0 {
		t.Fatalf("%d acknowledged incidents lost, %d unchecked: %+v", len(run.verify.Lost), run.verify.Unchecked, run.verify.Lost)
	}
	if run.verify.Incidents < 100 || run.verify.Present != run.verify.Incidents {
		t.Fatalf("only %d of %d incidents checked present; the load did not run", run.verify.Present, run.verify.Incidents)
	}
	return run
}

// scrapeMetrics reads a node's /metrics (from loopback, so no token) and
// parses the exposition format.
func scrapeMetrics(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics is not in the text exposition format: %v", err)
	}
	return fams
}

// checkLoadMetrics checks that a scrape taken during load has the series
// an operator watches, with values the load must have moved.
func checkLoadMetrics(t *testing.T, fams map[string]*dto.MetricFamily, nats bool) {
	t.Helper()
	get := func(name string) *dto.MetricFamily {
		f, ok := fams[name]
		if !ok || len(f.Metric) == 0 {
			t.Fatalf("/metrics has no %s", name)
		}
		return f
	}
	label := func(m *dto.Metric, name string) string {
		for _, l := range m.Label {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	var intakes uint64
	for _, m := range get("zhufang_http_request_duration_seconds").Metric {
		if label(m, "route") == "POST /api/v1/incidents" && label(m, "code") == "201" {
			intakes += m.GetHistogram().GetSampleCount()
		}
	}
	if intakes == 0 {
		t.Fatal("the latency histogram counted no intake")
	}
	var open float64
	for _, m := range get("zhufang_incidents").Metric {
		if label(m, "state") == "" || label(m, "lane") == "" {
			t.Fatalf("zhufang_incidents without state and lane labels: %v", m)
		}
		open += m.GetGauge().GetValue()
	}
	if open == 0 {
		t.Fatal("zhufang_incidents counts no open incident")
	}
	var recent float64
	for _, m := range get("zhufang_incidents_received_24h").Metric {
		recent += m.GetGauge().GetValue()
	}
	if recent < open {
		t.Fatalf("%.0f incidents received in 24 hours, fewer than the %.0f the load left open", recent, open)
	}
	if get("zhufang_position_reports_total").Metric[0].GetCounter().GetValue() == 0 {
		t.Fatal("no position reports counted during the load")
	}
	if len(get("zhufang_breaches_raised_total").Metric) != 3 {
		t.Fatal("zhufang_breaches_raised_total should have a series per stage")
	}
	get("zhufang_sse_clients")
	get("zhufang_outbox_unpublished")
	get("zhufang_outbox_oldest_unpublished_seconds")
	get("zhufang_leader")
	if get("zhufang_database_up").Metric[0].GetGauge().GetValue() != 1 {
		t.Fatal("zhufang_database_up is not 1")
	}
	if nats && get("zhufang_nats_up").Metric[0].GetGauge().GetValue() != 1 {
		t.Fatal("zhufang_nats_up is not 1")
	}
	t.Logf("/metrics during load: %d families, %d intakes in the histogram, %.0f open incidents, %.0f received in 24 hours", len(fams), intakes, open, recent)
}

// TestSigkillSQLite kills a single SQLite node five times under steady
// load: no incident it acknowledged is lost.
func TestSigkillSQLite(t *testing.T) {
	if zhufangtest.Race {
		t.Skip("measured without the race detector: under it the pure-Go SQLite restarts too slowly for steady load; TestCluster covers the race pass")
	}
	dsn := filepath.Join(t.TempDir(), "crash.db")
	args := demoArgs(t, dsn)
	node := startProcNode(t, "node", freeAddr(t), args...)
	run := killDuringLoad(t, dsn, []*procNode{node})
	checkLoadMetrics(t, run.metrics, false)
}

// TestSigkillCluster kills the nodes of a two-node cluster on PostgreSQL
// and NATS in turn, five times, under steady load spread over both: no
// incident either acknowledged is lost.
func TestSigkillCluster(t *testing.T) {
	if zhufangtest.Race {
		t.Skip("measured without the race detector; TestCluster covers the race pass")
	}
	nurl := clusterServices(t)
	dsn, args := clusterDB(t, nurl, "")
	nodes := []*procNode{
		startProcNode(t, "node1", freeAddr(t), args...),
		startProcNode(t, "node2", freeAddr(t), args...),
	}
	run := killDuringLoad(t, dsn, nodes)
	checkLoadMetrics(t, run.metrics, true)
}
