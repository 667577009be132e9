// Package load drives the API of one server or a cluster at a steady rate
// of 110 intakes (each then dispatched and acknowledged) and of unit
// position reports, records every step a server acknowledged, and later
// checks the record against the API: what a crash test needs to show that
// nothing acknowledged was lost.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zhufang"
)

// The load tool's bounds: one request may take Timeout, at most
// maxInFlight are out at once (a due request that finds them all taken
// is skipped and counted behind, so a dying cluster cannot pile requests
// up), and at most MaxUnits devices report positions.
const (
	Timeout     = 5 * time.Second
	maxInFlight = 64
	MaxRate     = 10000
	MaxUnits    = 50
	latencyKept = 1 << 16 // latency samples kept; past that, a uniform sample
)

// CheckURL checks that s is the http(s) base URL of a node, with no user,
// query or fragment, and returns it without its trailing slash.
func CheckURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		shown := "(unparseable)"
		if err == nil {
			shown = u.Redacted()
		}
		return "", zhufang.Errorf(zhufang.EINVALID, "%q must be an http:// or https:// base URL, e.g. http://127.0.0.1:8080", shown)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Config is what Drive is asked to do.
type Config struct {
	URLs      []string      // base URLs of the nodes, used in turn
	Creds     Creds         // from Provision
	Rate      float64       // incident intakes per second
	Positions float64       // position reports per second; 0 sends none
	Duration  time.Duration // 0 runs until ctx ends
	// Record, if set, gets one JSON line (a Record) for every step a
	// server acknowledged: the intake, then each transition.
	Record io.Writer
}

// Record is one line of a record file: an incident as far as the
// servers acknowledged it. A later line for the same ID supersedes an
// earlier one.
type Record struct {
	ID         int64                   `json:"id"`
	ReceivedAt time.Time               `json:"received_at"`
	States     []zhufang.IncidentState `json:"states"`
	URL        string                  `json:"url,omitempty"` // the node that took the intake
}

// Failures counts requests that were not acknowledged, by why.
type Failures struct {
	Refused int64 `json:"refused_or_reset"` // no answer: the node is down or died mid-request
	Server  int64 `json:"server_5xx"`
	Client  int64 `json:"client_4xx"`
	Timeout int64 `json:"timeout"`
	Other   int64 `json:"other"` // cancelled, or an answer that made no sense
}

func (f *Failures) add(class string) {
	switch class {
	case classRefused:
		f.Refused++
	case class5xx:
		f.Server++
	case class4xx:
		f.Client++
	case classTimeout:
		f.Timeout++
	default:
		f.Other++
	}
}

// Count is one stream's requests.
type Count struct {
	Attempted    int64    `json:"attempted"`
	Acknowledged int64    `json:"acknowledged"`
	Failed       int64    `json:"failed"`
	Failures     Failures `json:"failures"`
	Behind       int64    `json:"behind"` // due but skipped: every slot was taken
}

func (c *Count) add(err error) {
	c.Attempted++
	if err == nil {
		c.Acknowledged++
		return
	}
	c.Failed++
	c.Failures.add(failureClass(err))
}

// Latency is the intake latency of acknowledged intakes, in ms.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Report is what a load run did.
type Report struct {
	Seconds     float64           `json:"seconds"` // from the first due request to the last
	URLs        []string          `json:"urls"`
	Intakes     Count             `json:"intakes"`
	Transitions Count             `json:"transitions"`
	Positions   Count             `json:"position_requests"`
	Sent        int64             `json:"positions_sent"`
	Accepted    int64             `json:"positions_accepted"`
	IntakeRate  float64           `json:"intakes_per_second"`   // acknowledged
	PosRate     float64           `json:"positions_per_second"` // accepted
	Latency     Latency           `json:"intake_latency_ms"`
	ByURL       map[string]*Count `json:"intakes_by_url"`
	Records     int64             `json:"record_lines"`
	FirstErrors map[string]string `json:"first_errors,omitempty"` // "stream class" → what it said
}

// Drive runs the load cfg asks for until cfg.Duration passes or ctx
// ends, then waits for the requests still out and reports. A request a
// node does not acknowledge (refused, reset, 5xx, timeout) is counted and
// the next request goes to the next URL. The error is for a run that could
// not start or could not write its record, not for failed requests.
func Drive(ctx context.Context, cfg Config) (Report, error) {
	l := &loader{cfg: cfg, client: newClient(), slots: make(chan struct{}, maxInFlight),
		rep: Report{URLs: cfg.URLs, ByURL: map[string]*Count{}, FirstErrors: map[string]string{}}}
	defer l.client.CloseIdleConnections()
	switch {
	case len(cfg.URLs) == 0:
		return l.rep, zhufang.Errorf(zhufang.EINVALID, "no URL to drive")
	case !(cfg.Rate > 0 && cfg.Rate <= MaxRate) || !(cfg.Positions >= 0 && cfg.Positions <= MaxRate):
		return l.rep, zhufang.Errorf(zhufang.EINVALID, "rates must be within 0 to %d a second", MaxRate)
	case len(cfg.Creds.Points) == 0 || cfg.Creds.Session == "":
		return l.rep, zhufang.Errorf(zhufang.EINVALID, "no session or no ground: provision the run first")
	case cfg.Positions > 0 && len(cfg.Creds.Units) == 0:
		return l.rep, zhufang.Errorf(zhufang.EINVALID, "position reports need at least one unit device")
	}
	for _, u := range cfg.URLs {
		l.rep.ByURL[u] = &Count{}
	}
	for _, u := range cfg.Creds.Units {
		l.units = append(l.units, &movingUnit{Unit: u, at: u.Home, heading: mrand.Float64() * 360, speed: 3 + mrand.Float64()*12})
	}
	if err := l.categories(ctx); err != nil {
		return l.rep, err
	}
	run, stop := context.WithCancel(ctx)
	defer stop()
	if cfg.Duration > 0 {
		run, stop = context.WithTimeoutCause(run, cfg.Duration, errRanCourse)
		defer stop()
	}
	l.stop = stop
	start := time.Now()
	var streams sync.WaitGroup
	streams.Go(func() {
		l.pace(run, start, cfg.Rate, func() int { return 1 }, func(int) { l.intake(ctx) },
			func(int) { l.mu.Lock(); l.rep.Intakes.Behind++; l.mu.Unlock() })
	})
	if cfg.Positions > 0 {
		streams.Go(func() {
			l.pace(run, start, cfg.Positions, func() int { return 1 + mrand.IntN(5) }, func(n int) { l.positions(ctx, n) },
				func(int) { l.mu.Lock(); l.rep.Positions.Behind++; l.mu.Unlock() })
		})
	}
	streams.Wait()
	elapsed := time.Since(start)
	if errors.Is(context.Cause(run), errRanCourse) {
		elapsed = cfg.Duration // ran its course: the last due request went at that moment
	}
	l.inflight.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rep.Seconds = elapsed.Seconds()
	if s := l.rep.Seconds; s > 0 {
		l.rep.IntakeRate = float64(l.rep.Intakes.Acknowledged) / s
		l.rep.PosRate = float64(l.rep.Accepted) / s
	}
	l.rep.Latency = l.latency()
	if l.recordErr != nil {
		return l.rep, zhufang.Errorf(zhufang.EUNAVAILABLE, "cannot write the record, so the run stopped: %v", l.recordErr)
	}
	return l.rep, nil
}

// errRanCourse ends a run whose duration has passed, as opposed to one
// interrupted or stopped by a failing record.
var errRanCourse = errors.New("the load ran its course")

// loader is one run of Drive.
type loader struct {
	cfg      Config
	client   *http.Client
	cats     []zhufang.Category
	units    []*movingUnit
	next     atomic.Uint64 // round robin over the URLs
	nextUnit atomic.Uint64
	slots    chan struct{} // one per request out
	inflight sync.WaitGroup
	stop     context.CancelFunc // ends the run early, when the record cannot be written

	mu        sync.Mutex // guards what follows, and writes to cfg.Record
	rep       Report
	lat       []time.Duration
	latSeen   int64
	latMax    time.Duration
	recordErr error
}

// pace starts a job each time another size() of rate per second falls due
// since start, until ctx ends; a job that finds every slot taken is
// skipped and passed to behind. Counting what is due from the start keeps
// the rate steady whatever the ticker's resolution.
func (l *loader) pace(ctx context.Context, start time.Time, rate float64, size func() int, job, behind func(n int)) {
	tick := min(max(time.Duration(float64(time.Second)/rate), time.Millisecond), 20*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var issued int64
	n := size()
	issue := func(elapsed time.Duration) {
		for due := int64(elapsed.Seconds() * rate); due-issued >= int64(n); n = size() {
			issued += int64(n)
			k := n
			select {
			case l.slots <- struct{}{}:
				l.inflight.Go(func() {
					defer func() { <-l.slots }()
					job(k)
				})
			default:
				behind(n)
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			// The last ticks of a run that ran its course.
			if errors.Is(context.Cause(ctx), errRanCourse) {
				issue(l.cfg.Duration)
			}
			return
		case <-t.C:
			issue(time.Since(start))
		}
	}
}

// url is the next node's base URL, round robin.
func (l *loader) url() string { return l.cfg.URLs[l.pick()] }

func (l *loader) pick() int { return int((l.next.Add(1) - 1) % uint64(len(l.cfg.URLs))) }

// categories reads the 110 category table from the first node that answers.
func (l *loader) categories(ctx context.Context) error {
	var err error
	for _, base := range l.cfg.URLs {
		var got struct{ Categories []zhufang.Category }
		if err = call(ctx, l.client, http.MethodGet, base+"/api/v1/categories", l.cfg.Creds.Session, nil, http.StatusOK, &got); err == nil {
			if len(got.Categories) == 0 {
				return zhufang.Errorf(zhufang.EINVALID, "%s lists no incident categories", base)
			}
			l.cats = got.Categories
			return nil
		}
	}
	return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot read the incident categories at any --url", err)
}

// intakeBody is the body of POST /api/v1/incidents.
type intakeBody struct {
	Source      zhufang.IncidentSource `json:"source"`
	CallerPhone string                 `json:"caller_phone"`
	Position    zhufang.Point          `json:"position"`
	Category    string                 `json:"category"`
	Description string                 `json:"description"`
}

// intake takes one 110 call in, then dispatches and acknowledges it,
// recording each step a node acknowledged. An intake is never sent twice
// (a node that died may have stored it: a second one would be another
// incident). A transition that got no answer or a 5xx is sent to the next
// node, as a dispatcher would click again: the state machine refuses it
// with 409 if the first one was stored after all. A step that fails for
// good ends the incident's walk.
func (l *loader) intake(ctx context.Context) {
	cat := l.cats[mrand.IntN(len(l.cats))]
	body := intakeBody{Source: zhufang.SourceCall110, CallerPhone: fmt.Sprintf("1380000%04d", mrand.IntN(10000)),
		Position: l.point(), Category: cat.Code, Description: "报警人称" + cat.NameZH + "，请求出警（压力测试）"}
	var inc struct {
		ID         int64                 `json:"id"`
		ReceivedAt time.Time             `json:"received_at"`
		State      zhufang.IncidentState `json:"state"`
	}
	base := l.url()
	start := time.Now()
	err := call(ctx, l.client, http.MethodPost, base+"/api/v1/incidents", l.cfg.Creds.Session, body, http.StatusCreated, &inc)
	took := time.Since(start)
	if err == nil && (inc.ID <= 0 || inc.State != zhufang.StateReceived) {
		err = &Failure{Class: classOther, Detail: fmt.Sprintf("201 for incident %d in state %q", inc.ID, inc.State)}
	}
	l.mu.Lock()
	l.rep.Intakes.add(err)
	l.rep.ByURL[base].add(err)
	l.noteError("intake", err)
	if err == nil {
		l.addLatency(took)
	}
	l.mu.Unlock()
	if err != nil {
		return
	}
	rec := Record{ID: inc.ID, ReceivedAt: inc.ReceivedAt, States: []zhufang.IncidentState{inc.State}, URL: base}
	l.record(rec)
	for _, to := range []zhufang.IncidentState{zhufang.StateDispatched, zhufang.StateAcknowledged} {
		if !l.transition(ctx, inc.ID, to) {
			return
		}
		rec.States = append(rec.States, to)
		l.record(rec)
	}
}

// transition moves an incident to a state, trying each node once, from
// the next in turn, while they give no answer or a 5xx; it reports whether
// one acknowledged.
func (l *loader) transition(ctx context.Context, id int64, to zhufang.IncidentState) bool {
	first, n := l.pick(), len(l.cfg.URLs)
	for i := range n {
		var got struct {
			State zhufang.IncidentState `json:"state"`
		}
		u := l.cfg.URLs[(first+i)%n] + "/api/v1/incidents/" + strconv.FormatInt(id, 10) + "/transitions"
		err := call(ctx, l.client, http.MethodPost, u, l.cfg.Creds.Session, zhufang.TransitionRequest{To: to, Note: "压力测试"}, http.StatusOK, &got)
		if err == nil && got.State != to {
			err = &Failure{Class: classOther, Detail: fmt.Sprintf("moved incident %d to %s, the answer says %s", id, to, got.State)}
		}
		l.mu.Lock()
		l.rep.Transitions.add(err)
		l.noteError("transition", err)
		l.mu.Unlock()
		switch failureClass(err) {
		case classRefused, class5xx, classTimeout:
			if ctx.Err() == nil {
				continue
			}
		}
		return err == nil
	}
	return false
}

// record appends rec to the record; the first write that fails stops the
// run, since what follows could not be verified.
func (l *loader) record(rec Record) {
	if l.cfg.Record == nil {
		return
	}
	b, err := json.Marshal(rec)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recordErr != nil {
		return
	}
	if err == nil {
		_, err = l.cfg.Record.Write(append(b, '\n'))
	}
	if err != nil {
		l.recordErr = err
		l.stop()
		return
	}
	l.rep.Records++
}

// point draws where an incident happens: within 400 m of a unit's home,
// inside the city.
func (l *loader) point() zhufang.Point {
	pts := l.cfg.Creds.Points
	home := pts[mrand.IntN(len(pts))]
	for range 4 {
		a, d := mrand.Float64()*2*math.Pi, mrand.Float64()*400
		if p := home.OffsetMeters(d*math.Sin(a), d*math.Cos(a)); l.inside(p) {
			return p
		}
	}
	return home
}

func (l *loader) inside(p zhufang.Point) bool {
	return l.cfg.Creds.Inside == nil || l.cfg.Creds.Inside(p)
}

// positions sends n reports of the next unit in one request.
func (l *loader) positions(ctx context.Context, n int) {
	u := l.units[(l.nextUnit.Add(1)-1)%uint64(len(l.units))]
	reports := u.move(n, time.Now(), l.inside)
	var got struct{ Received int64 }
	err := call(ctx, l.client, http.MethodPost, l.url()+"/api/v1/positions", u.Token, map[string]any{"reports": reports}, http.StatusOK, &got)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rep.Positions.add(err)
	l.noteError("positions", err)
	l.rep.Sent += int64(n)
	if err == nil {
		l.rep.Accepted += got.Received
	}
}

// movingUnit is a unit wandering about its home, inside the city.
type movingUnit struct {
	Unit
	mu      sync.Mutex
	at      zhufang.Point
	heading float64 // degrees from north
	speed   float64 // m/s
	last    time.Time
}

// move advances the unit through n reports, timed evenly from its last
// report (at most 5 s back) to now, and returns them.
func (u *movingUnit) move(n int, now time.Time, inside func(zhufang.Point) bool) []zhufang.PositionReport {
	u.mu.Lock()
	defer u.mu.Unlock()
	from := now.Add(-5 * time.Second)
	if u.last.After(from) {
		from = u.last
	}
	step := max(now.Sub(from)/time.Duration(n), time.Microsecond) // the server keeps microseconds
	out := make([]zhufang.PositionReport, n)
	for i := range out {
		at := from.Add(step * time.Duration(i+1)).Truncate(time.Microsecond)
		d := math.Min(u.speed*step.Seconds(), 200)
		u.heading += mrand.Float64()*50 - 25
		if u.at.DistanceMeters(u.Home) > 1500 {
			u.heading = u.at.BearingTo(u.Home)
		}
		p := u.at.OffsetMeters(d*math.Sin(u.heading*math.Pi/180), d*math.Cos(u.heading*math.Pi/180))
		if !inside(p) {
			u.heading = u.at.BearingTo(u.Home)
			if p = u.at.OffsetMeters(d*math.Sin(u.heading*math.Pi/180), d*math.Cos(u.heading*math.Pi/180)); !inside(p) {
				p = u.Home
			}
		}
		u.heading = math.Mod(math.Mod(u.heading, 360)+360, 360)
		if !(u.heading < 360) {
			u.heading = 0
		}
		u.at = p
		out[i] = zhufang.PositionReport{UnitID: u.ID, At: at, Point: p, Speed: math.Min(d/step.Seconds(), 150), Heading: u.heading}
	}
	u.last = out[n-1].At
	return out
}

// noteError keeps the first error of each stream and class, to show why.
func (l *loader) noteError(stream string, err error) {
	if err == nil {
		return
	}
	key := stream + " " + failureClass(err)
	if _, ok := l.rep.FirstErrors[key]; !ok {
		l.rep.FirstErrors[key] = err.Error()
	}
}

// addLatency keeps an intake's latency: all of them up to latencyKept,
// then a uniform sample (reservoir) of that many.
func (l *loader) addLatency(d time.Duration) {
	l.latSeen++
	l.latMax = max(l.latMax, d)
	if len(l.lat) < latencyKept {
		l.lat = append(l.lat, d)
	} else if j := mrand.Int64N(l.latSeen); j < latencyKept {
		l.lat[j] = d
	}
}

func (l *loader) latency() Latency {
	s := slices.Clone(l.lat)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
	q := func(p float64) float64 {
		if len(s) == 0 {
			return 0
		}
		return ms(s[max(0, int(math.Ceil(p*float64(len(s))))-1)])
	}
	return Latency{P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ms(l.latMax)}
}

// Failure classes.
const (
	classRefused = "refused_or_reset"
	class5xx     = "5xx"
	class4xx     = "4xx"
	classTimeout = "timeout"
	classOther   = "other"
)

// Failure is a request a node did not acknowledge.
type Failure struct {
	Class  string
	Status int // the HTTP status, 0 if there was no answer
	Detail string
}

func (f *Failure) Error() string { return f.Detail }

func failureClass(err error) string {
	if f, ok := errors.AsType[*Failure](err); ok {
		return f.Class
	}
	return classOther
}

func newClient() *http.Client {
	return &http.Client{Timeout: Timeout, Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * maxInFlight,
		MaxIdleConnsPerHost: maxInFlight,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// call sends body as JSON (none if nil) and decodes the answer into
// out when its status is want; anything else is a *Failure.
func call(ctx context.Context, client *http.Client, method, url, token string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &Failure{Class: classOther, Detail: err.Error()}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return &Failure{Class: classOther, Detail: err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return &Failure{Class: transportClass(err), Detail: err.Error()}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return &Failure{Class: transportClass(err), Status: res.StatusCode, Detail: method + " " + url + ": reading the answer: " + err.Error()}
	}
	if res.StatusCode != want {
		f := &Failure{Class: classOther, Status: res.StatusCode, Detail: method + " " + url + ": " + res.Status}
		switch {
		case res.StatusCode >= 500:
			f.Class = class5xx
		case res.StatusCode >= 400:
			f.Class = class4xx
		}
		var e struct{ Error struct{ Message string } }
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			f.Detail += ": " + e.Error.Message
		}
		return f
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return &Failure{Class: classOther, Status: res.StatusCode, Detail: method + " " + url + ": the answer is not the JSON expected"}
		}
	}
	return nil
}

// transportClass tells a timeout from a node that is not there.
func transportClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return classOther
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return classTimeout
	}
	return classRefused
}
