package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"zhufang"
)

// Metrics is what a node tells Prometheus at GET /metrics: how its requests
// went, the position reports it took, its live consoles, the breaches it
// raised, and the cluster's state read at scrape time. A nil *Metrics
// counts nothing.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.HistogramVec
	positions prometheus.Counter
	breaches  *prometheus.CounterVec
	handler   http.Handler // set by Server.Handler
}

// StateSource is where a scrape reads the cluster's state from. A nil
// function leaves its metrics out.
type StateSource struct {
	// Database reads incident counts and the outbox lag: the
	// zhufang_incidents and zhufang_outbox_* gauges, and zhufang_database_up.
	// Its answer is kept for 10 s, so that frequent scrapes do not scan the
	// incidents table each time. It is given a context that ends after 2 s,
	// and must return when it does: the error then makes
	// zhufang_database_up 0 rather than a scrape that hangs on a dead
	// database.
	Database func(ctx context.Context) (DatabaseState, error)
	// NATS reports whether the NATS connection is up (zhufang_nats_up); nil
	// for a node without NATS.
	NATS func() bool
	// Leader reports whether this node runs the cluster's background jobs
	// (zhufang_leader).
	Leader func() bool
	// Clock times the cache and ages the oldest unpublished event. Default
	// the system clock.
	Clock zhufang.Clock
}

// DatabaseState is the part of the cluster's state a scrape reads from the
// database.
type DatabaseState struct {
	Incidents         []zhufang.IncidentCount // open incidents
	Recent            []zhufang.IncidentCount // received in the last 24 hours
	OutboxUnpublished int64
	OutboxOldest      time.Time // when the oldest unpublished event was written; zero when none waits
}

// StoreState is a StateSource's Database read from a store: the open
// incidents and those of the last 24 hours, and the outbox's lag.
func StoreState(st interface {
	IncidentCounts(ctx context.Context, since time.Time) (open, recent []zhufang.IncidentCount, err error)
	OutboxLag(ctx context.Context) (n int64, oldest time.Time, err error)
}) func(context.Context) (DatabaseState, error) {
	return func(ctx context.Context) (DatabaseState, error) {
		open, recent, err := st.IncidentCounts(ctx, time.Now().Add(-24*time.Hour))
		if err != nil {
			return DatabaseState{}, err
		}
		n, oldest, err := st.OutboxLag(ctx)
		if err != nil {
			return DatabaseState{}, err
		}
		return DatabaseState{Incidents: open, Recent: recent, OutboxUnpublished: n, OutboxOldest: oldest}, nil
	}
}

// How long a database read is kept, and how long it may take.
const (
	stateTTL     = 10 * time.Second
	stateTimeout = 2 * time.Second
)

// NewMetrics returns a node's metrics on a registry of their own, with the
// Go runtime's and the process's collectors, reading the cluster's state
// from src at scrape time.
func NewMetrics(src StateSource) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zhufang_http_request_duration_seconds",
			Help:    "How long HTTP requests took, by the route pattern that matched (or unmatched), method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
		positions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zhufang_position_reports_total",
			Help: "Position reports accepted by POST /api/v1/positions on this node.",
		}),
		breaches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhufang_breaches_raised_total",
			Help: "1-3-5 breaches raised by this node's watcher, by stage.",
		}, []string{"stage"}),
	}
	for _, st := range zhufang.Stages {
		m.breaches.WithLabelValues(string(st)) // a series from the start, so that increase() sees the first breach
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.positions, m.breaches)
	if src.Clock == nil {
		src.Clock = zhufang.SystemClock{}
	}
	if src.Database != nil {
		m.reg.MustRegister(&stateCollector{read: src.Database, clock: src.Clock})
	}
	if src.NATS != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "zhufang_nats_up", Help: "1 when this node's NATS connection is up.",
		}, func() float64 { return oneIf(src.NATS()) }))
	}
	if src.Leader != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "zhufang_leader", Help: "1 when this node runs the cluster's background jobs.",
		}, func() float64 { return oneIf(src.Leader()) }))
	}
	return m
}

// BreachRaised counts a breach this node's watcher raised.
func (m *Metrics) BreachRaised(stage zhufang.Stage) {
	if m != nil {
		m.breaches.WithLabelValues(string(stage)).Inc()
	}
}

func (m *Metrics) positionsAccepted(n int) {
	if m != nil {
		m.positions.Add(float64(n))
	}
}

func (m *Metrics) observeRequest(route, method string, code int, d time.Duration) {
	if m != nil {
		m.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(code)).Observe(d.Seconds())
	}
}

// attach adds what only the server knows, its live consoles, and builds
// the exposition handler, which logs through the server's logger.
func (m *Metrics) attach(s *Server) error {
	clients := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "zhufang_sse_clients", Help: "Consoles connected to this node's live updates.",
	}, func() float64 { return float64(s.Clients()) })
	if err := m.reg.Register(clients); err != nil {
		return err // one Metrics serves one Server
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError, // a bad collector costs its metrics, not the scrape
	})
	return nil
}

// serveMetrics serves the node's metrics in Prometheus's text format.
//
// They are operational counts and timings, no personal data, but not for
// the public. A request is served when it carries Authorization: Bearer
// with the server's MetricsToken, or when it comes from a loopback address
// and not through a proxy (no Forwarded, Via, X-Real-IP or X-Forwarded-*
// header, one of which a reverse proxy on the same host adds when set up
// to tell the client's address). Anything else gets 403; behind a proxy
// that adds none of them, set the token and keep /metrics off the proxy.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.Metrics == nil {
		http.NotFound(w, r)
		return
	}
	if !s.metricsAllowed(r) {
		http.Error(w, "403 forbidden: /metrics answers a loopback address, or a request with Authorization: Bearer <metrics token>", http.StatusForbidden)
		return
	}
	s.Metrics.handler.ServeHTTP(w, r)
}

func (s *Server) metricsAllowed(r *http.Request) bool {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.MetricsToken != "" {
		// Compared as digests, so that the time taken tells nothing, not
		// even the token's length.
		got, want := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(s.MetricsToken))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			return true
		}
	}
	proxied := false
	for name := range r.Header { // already canonical: X-Forwarded-For, X-Real-Ip, …
		if name == "Forwarded" || name == "Via" || name == "X-Real-Ip" || strings.HasPrefix(name, "X-Forwarded-") {
			proxied = true
		}
	}
	ip := net.ParseIP(clientAddress(r))
	return ip != nil && ip.IsLoopback() && !proxied
}

// routeLabel is the route pattern the mux matched, or "unmatched". Every
// route we register names its method ("GET /incidents/{id}"); the mux
// leaves the pattern empty for its own not-found and wrong-method answers,
// and may fill in a bare path for a redirect, which must never become a
// label: a client can send paths without end, and each label value is a
// series Prometheus keeps.
func routeLabel(pattern string) string {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") || strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return "unmatched"
	}
	return pattern
}

// methodLabel keeps the method label to the standard methods: a client may
// send any token as a method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// The gauges read from the database.
var (
	incidentsDesc = prometheus.NewDesc("zhufang_incidents",
		"Open incidents (not yet closed, cancelled, duplicate or redirected), by state and lane.", []string{"state", "lane"}, nil)
	recentDesc = prometheus.NewDesc("zhufang_incidents_received_24h",
		"Incidents received in the last 24 hours, by the state they are in now and lane.", []string{"state", "lane"}, nil)
	outboxDesc = prometheus.NewDesc("zhufang_outbox_unpublished",
		"Events committed but not yet published to the event bus.", nil, nil)
	outboxAgeDesc = prometheus.NewDesc("zhufang_outbox_oldest_unpublished_seconds",
		"Age of the oldest event not yet published; 0 when none waits.", nil, nil)
	databaseUpDesc = prometheus.NewDesc("zhufang_database_up",
		"1 when the database answered the last read within its time limit.", nil, nil)
)

// stateCollector reads the database at scrape time, at most once per
// stateTTL. Concurrent scrapes wait for one read rather than each making
// their own.
type stateCollector struct {
	read  func(ctx context.Context) (DatabaseState, error)
	clock zhufang.Clock

	mu    sync.Mutex
	at    time.Time // when the kept answer was read; zero before the first
	state DatabaseState
	err   error
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- incidentsDesc
	ch <- recentDesc
	ch <- outboxDesc
	ch <- outboxAgeDesc
	ch <- databaseUpDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	st, now, err := c.current()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, 0)
		return // no figures rather than stale ones
	}
	ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, 1)
	for _, ic := range st.Incidents {
		ch <- prometheus.MustNewConstMetric(incidentsDesc, prometheus.GaugeValue, float64(ic.N), string(ic.State), string(ic.Lane))
	}
	for _, ic := range st.Recent {
		ch <- prometheus.MustNewConstMetric(recentDesc, prometheus.GaugeValue, float64(ic.N), string(ic.State), string(ic.Lane))
	}
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(st.OutboxUnpublished))
	age := 0.0
	if !st.OutboxOldest.IsZero() {
		age = max(now.Sub(st.OutboxOldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age)
}

// current returns the kept answer, reading afresh when it is older than
// stateTTL. A failed read is kept as long, so that scrapes of a dead
// database do not each wait out the timeout.
func (c *stateCollector) current() (DatabaseState, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if c.at.IsZero() || now.Sub(c.at) >= stateTTL || now.Before(c.at) {
		ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
		c.state, c.err = c.read(ctx)
		cancel()
		c.at = now
	}
	return c.state, now, c.err
}
