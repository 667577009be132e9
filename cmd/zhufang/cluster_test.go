package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
	"zhufang/zhufangtest"
)

// procNode is a zhufang serve in a child process of the test binary, so
// that a test can kill it as an operating system would.
type procNode struct {
	name, addr, url string
	args            []string
	cmd             *exec.Cmd
	exited          chan struct{}
	mu              sync.Mutex
	log             strings.Builder
}

// freeAddr returns a loopback address with a port free now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcNode starts serve on addr with args and waits until it serves.
func startProcNode(t testing.TB, name, addr string, args ...string) *procNode {
	t.Helper()
	n := &procNode{name: name, addr: addr, url: "http://" + addr, args: args}
	n.start(t)
	return n
}

func (n *procNode) start(t testing.TB) time.Duration {
	t.Helper()
	took, err := n.launch(t)
	if err != nil {
		t.Fatal(err)
	}
	return took
}

// launch starts the node and waits until it serves, reporting failure as
// an error, so that it may run off the test's goroutine.
func (n *procNode) launch(t testing.TB) (time.Duration, error) {
	args := append([]string{"serve", "--addr", n.addr}, n.args...)
	b, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ZHUFANG_TEST_MAIN_ARGS="+string(b), "ZHUFANG_DB=", "ZHUFANG_ADDR=")
	out, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	serving := make(chan struct{})
	go func() {
		defer close(n.exited)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			n.mu.Lock()
			n.log.WriteString(sc.Text() + "\n")
			n.mu.Unlock()
			if strings.Contains(sc.Text(), "msg=serving") {
				once.Do(func() { close(serving) })
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
	}()
	t.Cleanup(func() { n.kill() })
	select {
	case <-serving:
	case <-n.exited:
		return 0, fmt.Errorf("%s ended before serving:\n%s", n.name, n.logText())
	case <-time.After(2 * time.Minute):
		n.cmd.Process.Kill()
		return 0, fmt.Errorf("%s did not serve within 2 minutes:\n%s", n.name, n.logText())
	}
	return time.Since(began), nil
}

func (n *procNode) logText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// kill ends the node with SIGKILL: no shutdown, no last words.
func (n *procNode) kill() {
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.exited
	}
}

func (n *procNode) alive() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// leading reports whether the node is alive and its log says it leads.
func (n *procNode) leading() bool {
	if !n.alive() {
		return false
	}
	log := n.logText()
	return strings.LastIndex(log, "msg=\"leading the cluster") > strings.LastIndex(log, "msg=\"no longer leading")
}

// clusterServices gives the PostgreSQL and NATS the cluster tests run on:
// missing in CI is a failure, elsewhere a skip.
func clusterServices(t *testing.T) string {
	t.Helper()
	nurl := os.Getenv("ZHUFANG_TEST_NATS")
	if nurl == "" || os.Getenv(sqltest.PostgresEnv) == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ZHUFANG_TEST_NATS and ZHUFANG_TEST_POSTGRES must be set in CI")
		}
		t.Skip("ZHUFANG_TEST_NATS or ZHUFANG_TEST_POSTGRES is not set")
	}
	return nurl
}

// clusterDB makes a PostgreSQL database holding the demo city (no history)
// and returns its URL and the flags every node of a cluster on it takes.
func clusterDB(t *testing.T, nurl string, zones string) (string, []string) {
	t.Helper()
	dsn := sqltest.DSN(t, sqlstore.Postgres)
	ctx := context.Background()
	db, err := openDB(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := installDemo(ctx, db, Config{Seed: 1, AnchorDay: templateAnchor}, false); err != nil {
		t.Fatal(err)
	}
	db.Close()
	stream := testStream(t, nurl)
	args := []string{"--db", dsn, "--nats", nurl, "--nats-stream", stream}
	if zones != "" {
		args = append(args, "--zones", zones)
	}
	return dsn, args
}

// testStream names a NATS stream for one test and deletes it when the test
// ends, with the events the nodes left in it.
func testStream(tb testing.TB, nurl string) string {
	var b [4]byte
	rand.Read(b[:])
	name := "ZT_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		nc, err := nats.Connect(nurl)
		if err != nil {
			return
		}
		defer nc.Close()
		if js, err := jetstream.New(nc); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			js.DeleteStream(ctx, name)
		}
	})
	return name
}

// shortZones makes every 1-3-5 stage due within seconds, so a test sees
// breaches without waiting minutes.
const shortZones = "urban_core=2s/4s/6s,urban=2s/4s/6s,suburban=2s/4s/6s,rural=2s/4s/6s"

// waitLeader waits until exactly one of nodes leads and returns it.
func waitLeader(t *testing.T, within time.Duration, nodes ...*procNode) *procNode {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var leaders []*procNode
		for _, n := range nodes {
			if n.leading() {
				leaders = append(leaders, n)
			}
		}
		if len(leaders) > 1 {
			t.Fatalf("%s and %s both lead", leaders[0].name, leaders[1].name)
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no node led within %s", within)
	return nil
}

// intake creates a street incident in Lengshuitan's core through base and
// returns its ID and when the node acknowledged it.
func intake(t *testing.T, base string) (int64, time.Time) {
	t.Helper()
	var inc struct{ ID int64 }
	code := postJSON(t, base+"/api/v1/incidents", `{"source":"call_110","address":"梅湾路","position":[111.6015,26.4372],
		"category":"200100","description":"有人打架"}`, &inc)
	if code != 201 || inc.ID == 0 {
		t.Fatalf("intake on %s: %d", base, code)
	}
	return inc.ID, time.Now()
}

// changes collects a console's change events by incident and topic.
type changes struct {
	mu      sync.Mutex
	first   map[int64]time.Time // when an incident's creation arrived
	breach  map[string]int      // "incident/stage" → alerts seen
	arrived chan int64
}

func watchChanges(t *testing.T, ctx context.Context, base, token string) *changes {
	c := &changes{first: map[int64]time.Time{}, breach: map[string]int{}, arrived: make(chan int64, 1000)}
	stream := sseStream(t, ctx, base, token, "")
	go func() {
		for e := range stream {
			if e.Name != "change" {
				continue
			}
			now := time.Now()
			var m struct {
				Topic      string
				IncidentID int64 `json:"incident_id"`
				Stage      string
			}
			json.Unmarshal([]byte(e.Data), &m)
			c.mu.Lock()
			switch m.Topic {
			case zhufang.TopicIncidentCreated:
				if _, ok := c.first[m.IncidentID]; !ok {
					c.first[m.IncidentID] = now
					select {
					case c.arrived <- m.IncidentID:
					default:
					}
				}
			case zhufang.TopicIncidentBreach:
				c.breach[fmt.Sprintf("%d/%s", m.IncidentID, m.Stage)]++
			}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *changes) createdAt(id int64) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.first[id]
	return at, ok
}

// breaches returns how many alerts each of ids' three stages got.
func (c *changes) breaches(ids []int64) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, id := range ids {
		for _, stage := range []string{"acknowledge", "on_scene", "handling"} {
			k := fmt.Sprintf("%d/%s", id, stage)
			out[k] = c.breach[k]
		}
	}
	return out
}

// waitBreaches waits until every stage of ids has been alerted on c, then
// checks each was alerted exactly once.
func waitBreaches(t *testing.T, c *changes, where string, ids []int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		missing := 0
		for _, n := range c.breaches(ids) {
			if n == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d breaches never alerted", where, missing, 3*len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a second alert would come right behind the first
	for k, n := range c.breaches(ids) {
		if n != 1 {
			t.Fatalf("%s: breach %s alerted %d times, want once", where, k, n)
		}
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// TestCluster runs three nodes on one PostgreSQL and one NATS JetStream:
// an incident taken on node 1 reaches the consoles of nodes 2 and 3 (the
// propagation is measured), a position reported to node 1 moves the unit
// on node 3, every 1-3-5 breach raises exactly one alert in the whole
// cluster, and when the leader is killed another node takes over within
// 10 s and alerts the breaches that fell due meanwhile. Then a second node
// is killed: the survivor keeps serving and its board stays live.
func TestCluster(t *testing.T) {
	nurl := clusterServices(t)
	dsn, args := clusterDB(t, nurl, shortZones)
	nodes := []*procNode{
		startProcNode(t, "node1", freeAddr(t), args...),
		startProcNode(t, "node2", freeAddr(t), args...),
		startProcNode(t, "node3", freeAddr(t), args...),
	}
	leader := waitLeader(t, 15*time.Second, nodes...)
	t.Logf("%s leads", leader.name)
	checkOneLeader(t, leader, nodes...)
	token := signIn(t, nodes[0].url, dsn, "cluster-dispatcher", zhufang.RoleDispatcher)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	boards := map[string]*changes{}
	for _, n := range nodes {
		boards[n.name] = watchChanges(t, ctx, n.url, token)
	}
	time.Sleep(300 * time.Millisecond) // the streams are open

	// Propagation: node 1 takes incidents; consoles on 2 and 3 see them.
	const calls = 60
	var ids []int64
	acked := map[int64]time.Time{}
	for range calls {
		id, at := intake(t, nodes[0].url)
		ids = append(ids, id)
		acked[id] = at
		time.Sleep(30 * time.Millisecond)
	}
	for _, name := range []string{"node2", "node3"} {
		var lat []time.Duration
		deadline := time.Now().Add(10 * time.Second)
		for _, id := range ids {
			for {
				if at, ok := boards[name].createdAt(id); ok {
					lat = append(lat, max(0, at.Sub(acked[id])))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("incident %d never reached %s's console", id, name)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
		t.Logf("node1 → %s console: %d incidents, propagation after node 1's answer p50 %s p99 %s max %s",
			name, len(lat), p50, p99, slices.Max(lat))
		// The goal is p99 ≤ 100 ms, measured by BenchmarkClusterPropagation;
		// this bound only catches a path that has stopped being immediate
		// (events waiting for the relay's one-second tick, say) without
		// failing on a machine busy with other tests.
		limit := 500 * time.Millisecond
		if zhufangtest.Race {
			limit = 2 * time.Second // the detector slows every node several times over
		}
		if p99 > limit {
			t.Errorf("%s: propagation p99 %s, want ≤ %s (goal 100 ms)", name, p99, limit)
		}
	}

	// Positions: reported to node 1, seen on node 3.
	checkPositionsShared(t, dsn, nodes[0].url, nodes[2].url)

	// One alert per breach, whichever node's console looks.
	for _, n := range nodes {
		waitBreaches(t, boards[n.name], n.name, ids, 20*time.Second)
	}
	// The leader's watcher raised them all; the others raised none.
	var raised float64
	for _, m := range scrapeMetrics(t, leader.url)["zhufang_breaches_raised_total"].GetMetric() {
		raised += m.GetCounter().GetValue()
	}
	if raised != float64(3*len(ids)) {
		t.Fatalf("%s raised %.0f breaches, want %d", leader.name, raised, 3*len(ids))
	}
	checkOneLeader(t, leader, nodes...)

	// The leader dies just after an incident came in: its first stage falls
	// due while no node leads.
	gapID, _ := intake(t, nodes[0].url)
	killedAt := time.Now()
	leader.kill()
	var alive []*procNode
	for _, n := range nodes {
		if n.alive() {
			alive = append(alive, n)
		}
	}
	next := waitLeader(t, 10*time.Second, alive...)
	t.Logf("%s killed; %s took over after %s", leader.name, next.name, time.Since(killedAt).Round(time.Millisecond))
	checkOneLeader(t, next, alive...)
	more := []int64{gapID}
	for range 5 {
		id, _ := intake(t, alive[0].url)
		more = append(more, id)
	}
	for _, n := range alive {
		waitBreaches(t, boards[n.name], n.name, more, 20*time.Second)
	}

	// Node loss: of the two left, kill the one that is not the first alive
	// console's, and the survivor keeps serving and its board stays live.
	survivor, victim := alive[0], alive[1]
	victim.kill()
	waitLeader(t, 10*time.Second, survivor)
	id, at := intake(t, survivor.url)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, ok := boards[survivor.name].createdAt(id); ok {
			t.Logf("%s alone: incident %d on its board %s after intake", survivor.name, id, max(0, got.Sub(at)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s alone: incident %d never reached its board", survivor.name, id)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitBreaches(t, boards[survivor.name], survivor.name, []int64{id}, 20*time.Second)
	if code := getJSON(t, survivor.url+"/readyz", nil); code != 200 {
		t.Fatalf("%s alone: /readyz %d", survivor.name, code)
	}
}

// checkOneLeader checks, through /metrics, that leader is the one node of
// nodes that runs the cluster's jobs: zhufang_leader is 1 there and 0 on
// the others, and only the leader's watcher has raised breaches.
func checkOneLeader(t *testing.T, leader *procNode, nodes ...*procNode) {
	t.Helper()
	for _, n := range nodes {
		fams := scrapeMetrics(t, n.url)
		f := fams["zhufang_leader"]
		if f == nil || len(f.Metric) != 1 {
			t.Fatalf("%s: /metrics has no zhufang_leader", n.name)
		}
		want := 0.0
		if n == leader {
			want = 1
		}
		if got := f.Metric[0].GetGauge().GetValue(); got != want {
			t.Fatalf("%s: zhufang_leader %v, want %v (%s leads)", n.name, got, want, leader.name)
		}
		if n != leader {
			for _, m := range fams["zhufang_breaches_raised_total"].GetMetric() {
				if m.GetCounter().GetValue() != 0 {
					t.Fatalf("%s, not leading, raised breaches: %v", n.name, m)
				}
			}
		}
	}
}

// checkPositionsShared reports a unit's position to one node and waits for
// another node's API to show the unit there, fresh.
func checkPositionsShared(t *testing.T, dsn, from, to string) {
	t.Helper()
	var units struct {
		Units []struct {
			ID   int64
			Kind string
		}
	}
	getJSON(t, from+"/api/v1/units", &units)
	var car int64
	for _, u := range units.Units {
		if u.Kind == "patrol_car" {
			car = u.ID
			break
		}
	}
	if car == 0 {
		t.Fatal("no patrol car")
	}
	token := device(t, dsn, car)
	at := time.Now().UTC().Add(-time.Second).Format(time.RFC3339Nano)
	if code, body := postAuth(t, from+"/api/v1/positions", token, `{"reports":[{"at":"`+at+`","position":[111.6011,26.4351]}]}`); code != 200 {
		t.Fatalf("positions on %s: %d %s", from, code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var u struct {
			Stale    bool
			Position *zhufang.Point
		}
		getJSON(t, to+"/api/v1/units/"+strconv.FormatInt(car, 10), &u)
		if !u.Stale && u.Position != nil && u.Position.Lon == 111.6011 && u.Position.Lat == 26.4351 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("unit %d's report to %s never showed on %s: %+v", car, from, to, u)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePortPair returns a port p, as text, with p and p+1 both free now.
func freePortPair(t *testing.T) string {
	t.Helper()
	for range 20 {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		a.Close()
		if err == nil {
			b.Close()
			return strconv.Itoa(p)
		}
	}
	t.Fatal("no two free ports side by side")
	return ""
}

// TestClusterCommand runs `zhufang cluster --nodes 2` with the nodes as
// children of the test binary: both serve and answer /readyz, the output
// names them, and stopping the command stops them.
func TestClusterCommand(t *testing.T) {
	if zhufangtest.Race {
		t.Skip("process management only, checked in the pass without the race detector; TestCluster runs nodes under it")
	}
	nurl := clusterServices(t)
	dsn, args := clusterDB(t, nurl, "")
	var procs []*exec.Cmd
	var mu sync.Mutex
	saved := nodeCommand
	defer func() { nodeCommand = saved }()
	nodeCommand = func(args []string) (*exec.Cmd, error) {
		if strings.Contains(strings.Join(args, " "), dsn) || strings.Contains(strings.Join(args, " "), nurl) {
			t.Errorf("a node's arguments, which ps shows, carry the database or NATS URL: %q", args)
		}
		b, _ := json.Marshal(args)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ZHUFANG_TEST_MAIN_ARGS="+string(b), "ZHUFANG_DB=", "ZHUFANG_ADDR=")
		mu.Lock()
		procs = append(procs, cmd)
		mu.Unlock()
		return cmd, nil
	}
	port := freePortPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := newLineWriter(), newLineWriter()
	done := make(chan error, 1)
	stopped := false
	t.Cleanup(func() { // the nodes never outlive a failed test
		if !stopped {
			cancel()
			<-done
		}
	})
	go func() {
		done <- run(ctx, append([]string{"cluster", "--nodes", "2", "--base-port", port, "--db", dsn, "--nats", nurl, "--"}, args[4:]...),
			func(string) string { return "" }, out, logs)
	}()
	p, _ := strconv.Atoi(port)
	urls := []string{fmt.Sprintf("http://127.0.0.1:%d", p), fmt.Sprintf("http://127.0.0.1:%d", p+1)}
	deadline := time.After(2 * time.Minute)
	var listed []string
	for len(listed) < 2 {
		select {
		case line := <-out.lines:
			for _, u := range urls {
				if strings.Contains(line, u) {
					listed = append(listed, u)
				}
			}
		case err := <-done:
			t.Fatalf("cluster ended: %v", err)
		case <-deadline:
			t.Fatal("the cluster did not list its nodes within 2 minutes")
		}
	}
	for _, u := range urls {
		if code := getJSON(t, u+"/readyz", nil); code != 200 {
			t.Fatalf("%s/readyz: %d", u, code)
		}
	}
	tagged := false
	for !tagged {
		select {
		case line := <-logs.lines:
			tagged = strings.HasPrefix(line, "[node2] ")
		case <-time.After(5 * time.Second):
			t.Fatal("no log line tagged [node2]")
		}
	}
	cancel()
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Fatalf("cluster ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cluster did not stop within 30 s")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range procs {
		if c.ProcessState == nil || !c.ProcessState.Exited() {
			t.Fatalf("node %v still runs after the cluster stopped", c.Args)
		}
	}
}

// TestClusterDemoOnce starts two nodes with --demo on one empty PostgreSQL
// database at the same moment: the city is built once, by one of them,
// and both serve it.
func TestClusterDemoOnce(t *testing.T) {
	if zhufangtest.Race {
		t.Skip("checks a lock between processes, in the pass without the race detector; building the city under it takes minutes")
	}
	nurl := clusterServices(t)
	dsn := sqltest.DSN(t, sqlstore.Postgres)
	args := []string{"--db", dsn, "--nats", nurl, "--nats-stream", testStream(t, nurl), "--demo", "--history", "1", "--live=false"}
	var wg sync.WaitGroup
	nodes := make([]*procNode, 2)
	errs := make([]error, 2)
	for i := range nodes {
		nodes[i] = &procNode{name: fmt.Sprintf("node%d", i+1), addr: freeAddr(t), args: args}
		nodes[i].url = "http://" + nodes[i].addr
		wg.Go(func() { _, errs[i] = nodes[i].launch(t) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	builds := 0
	for _, n := range nodes {
		builds += strings.Count(n.logText(), `msg="demo city built"`)
		if code := getJSON(t, n.url+"/readyz", nil); code != 200 {
			t.Fatalf("%s /readyz: %d", n.name, code)
		}
	}
	if builds != 1 {
		t.Fatalf("the demo city was built %d times, want once", builds)
	}
	db, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec, err := db.FindDemoCity(t.Context())
	if err != nil || rec.HistoryDays != 1 {
		t.Fatalf("demo city record %+v, %v", rec, err)
	}
}
