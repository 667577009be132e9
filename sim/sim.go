// Package sim replays a day of street incidents against the city's fleet
// under a dispatch policy, faster than real time, and measures the 1-3-5
// shares each zone profile reaches. It is how zhufang shows, on a
// city-shaped model, what central dispatch, guard teams and posture gain
// over the station-only model.
package sim

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"zhufang"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/posture"
)

// Policy is a way of choosing the unit to send.
type Policy string

// The policies compared.
const (
	// Station is the old model: the incident's own station sends its own
	// nearest available unit; units wait at their base.
	Station Policy = "station"
	// Nearest sends the nearest available police unit in a straight line,
	// of any station.
	Nearest Policy = "nearest"
	// Zhufang sends the recommender's unit (soonest arrival by kind and
	// zone), with the nearest guard team going ahead (警保联动).
	Zhufang Policy = "zhufang"
	// Posture is Zhufang with idle cars and motorcycles waiting at the
	// rapid-response posts of the hour, moved up as cover drops.
	Posture Policy = "zhufang_posture"
)

// Policies lists the policies in the order they are reported.
var Policies = []Policy{Station, Nearest, Zhufang, Posture}

// ParsePolicy checks a policy's name.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range Policies {
		if string(p) == s {
			return p, nil
		}
	}
	return "", zhufang.Errorf(zhufang.EINVALID, "unknown policy %q: use station, nearest, zhufang or zhufang_posture", s)
}

// Incident is one street incident to answer.
type Incident struct {
	At        time.Time
	Position  zhufang.Point
	Zone      zhufang.ZoneKind
	StationID int64
	BureauID  int64
}

// City is what the simulation needs of the city.
type City struct {
	Units    []zhufang.Unit  // the fleet, with each unit's home
	Bureaus  map[int64]int64 // station → bureau
	Zones    zhufang.ZoneProfiles
	Demand   [24][]posture.Cell // expected street incidents by hour of day, for posture
	Estimate dispatch.StraightLine
}

// Row is the 1-3-5 standing of one zone profile under one policy.
type Row struct {
	Policy          string  `json:"policy"`
	ZoneProfile     string  `json:"zone_profile"`
	StreetIncidents int     `json:"street_incidents"`
	Ack1            float64 `json:"ack_within_1min"`
	Scene3          float64 `json:"on_scene_within_3min"`
	Handling5       float64 `json:"handling_within_5min"`
	MedianOnScene   float64 `json:"median_on_scene_s"`
	P90OnScene      float64 `json:"p90_on_scene_s"`
}

// Durations every policy shares, drawn per incident from the seed so that
// each policy meets the same calls: the dispatcher's decision (the 110
// call, the recommendation, the click), the crew's acknowledgement, the
// first look at the scene before handling starts, and the job itself.
const (
	decideMedian = 20 * time.Second
	ackMedian    = 12 * time.Second
	lookMedian   = 40 * time.Second
	jobMedian    = 25 * time.Minute
	// guardHold is how long a guard team stays on after the police arrive.
	guardHold = 10 * time.Minute
)

// DispatchAllowance is the median time from receipt to a crew setting
// off (decision plus acknowledgement), which posture subtracts from the
// on-scene threshold to get the travel budget of a zone.
const DispatchAllowance = decideMedian + ackMedian

// Options tune a run.
type Options struct {
	Seed uint64
	// Progress, if set, is told after each incident.
	Progress func(done, total int)
}

// Run replays the incidents (street incidents of one day, in order of
// receipt) under the policy and returns a row per zone profile.
func Run(incs []Incident, city City, policy Policy, opt Options) ([]Row, error) {
	if _, err := ParsePolicy(string(policy)); err != nil {
		return nil, err
	}
	if len(incs) == 0 {
		return nil, zhufang.Errorf(zhufang.EINVALID, "no street incidents to simulate")
	}
	if !sort.SliceIsSorted(incs, func(i, j int) bool { return incs[i].At.Before(incs[j].At) }) {
		return nil, zhufang.Errorf(zhufang.EINVALID, "incidents must be in order of receipt")
	}
	s, err := newRun(incs, city, policy, opt)
	if err != nil {
		return nil, err
	}
	s.run()
	return s.rows(), nil
}

// unitState is a unit in the simulation: where it goes and when it is
// free.
type unitState struct {
	u        zhufang.Unit
	bureau   int64
	busy     bool
	movable  bool // a car or motorcycle that posture may post
	from, to zhufang.Point
	t0, t1   time.Time // leaving from, reaching to
	stamp    time.Time // time of the last position given to the index
}

// pos returns where the unit is at t, moving in a straight line at a
// steady pace between from and to.
func (u *unitState) pos(t time.Time) zhufang.Point {
	switch {
	case !t.Before(u.t1):
		return u.to
	case !t.After(u.t0):
		return u.from
	}
	f := float64(t.Sub(u.t0)) / float64(u.t1.Sub(u.t0))
	return zhufang.Point{Lon: u.from.Lon + f*(u.to.Lon-u.from.Lon), Lat: u.from.Lat + f*(u.to.Lat-u.from.Lat)}
}

// outcome is how one incident went.
type outcome struct {
	ack, scene, handling time.Duration // from receipt
	done                 bool
}

// event is something that happens to a unit at a time.
type event struct {
	at   time.Time
	seq  int
	kind int // clearEvent or releaseEvent
	unit int
}

const (
	clearEvent   = iota // a unit finishes its job and is free
	releaseEvent        // a guard team leaves the scene
	hourEvent           // a new hour: posture plans again
)

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if !e[i].at.Equal(e[j].at) {
		return e[i].at.Before(e[j].at)
	}
	return e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

type run struct {
	incs   []Incident
	city   City
	policy Policy
	opt    Options

	now     time.Time
	clock   *simClock
	ix      *dispatch.Index
	units   []*unitState
	byID    map[int64]int
	queue   events
	seq     int
	waiting []int // incidents no unit could take yet, oldest first
	out     []outcome
	covers  map[[2]int64]*posture.Cover // (hour, bureau) → covering problem
	budget  func(zhufang.ZoneKind) float64
}

// simClock is the index's clock: the simulation's time.
type simClock struct{ t time.Time }

func (c *simClock) Now() time.Time { return c.t }

func newRun(incs []Incident, city City, policy Policy, opt Options) (*run, error) {
	start := demo.Midnight(incs[0].At)
	clock := &simClock{t: start}
	ix, err := dispatch.NewIndex(dispatch.IndexOptions{Clock: clock, StaleAfter: 7 * 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	s := &run{incs: incs, city: city, policy: policy, opt: opt, now: start, clock: clock, ix: ix,
		byID: map[int64]int{}, out: make([]outcome, len(incs)), covers: map[[2]int64]*posture.Cover{}}
	s.budget = func(z zhufang.ZoneKind) float64 {
		return (city.Zones[z].OnScene - DispatchAllowance).Seconds()
	}
	for _, u := range city.Units {
		if u.Kind == zhufang.UnitDrone || u.Kind == zhufang.UnitVolunteerTeam || u.Status == zhufang.UnitOffDuty {
			continue
		}
		if policy != Zhufang && policy != Posture && u.Platform != zhufang.PlatformPolice {
			continue
		}
		home := u.Home
		if home.IsZero() {
			home = u.Position
		}
		u.Position, u.PositionAt, u.Status = home, start, zhufang.UnitAvailable
		st := &unitState{u: u, bureau: city.Bureaus[u.StationID], from: home, to: home, t0: start, t1: start, stamp: start,
			movable: u.Platform == zhufang.PlatformPolice && (u.Kind == zhufang.UnitPatrolCar || u.Kind == zhufang.UnitMotorcycle)}
		if err := ix.Put(u); err != nil {
			return nil, err
		}
		s.byID[u.ID] = len(s.units)
		s.units = append(s.units, st)
	}
	if policy == Posture {
		s.postAll(true)
		for h := 1; h < 24; h++ {
			s.push(start.Add(time.Duration(h)*time.Hour), hourEvent, -1)
		}
	}
	return s, nil
}

func (s *run) push(at time.Time, kind, unit int) {
	s.seq++
	heap.Push(&s.queue, event{at: at, seq: s.seq, kind: kind, unit: unit})
}

// run plays the incidents, then the jobs still open, to the end.
func (s *run) run() {
	for i := range s.incs {
		s.advance(s.incs[i].At)
		if !s.dispatch(i) {
			s.waiting = append(s.waiting, i)
		}
		if s.opt.Progress != nil {
			s.opt.Progress(i+1, len(s.incs))
		}
	}
	for len(s.waiting) > 0 && s.queue.Len() > 0 {
		s.advance(s.queue[0].at)
	}
}

// advance handles every event up to t and sets the clock to t.
func (s *run) advance(t time.Time) {
	for s.queue.Len() > 0 && !s.queue[0].at.After(t) {
		e := heap.Pop(&s.queue).(event)
		s.setNow(e.at)
		switch e.kind {
		case clearEvent, releaseEvent:
			s.free(e.unit)
		case hourEvent:
			s.postAll(false)
		}
	}
	s.setNow(t)
}

func (s *run) setNow(t time.Time) {
	if t.After(s.now) {
		s.now = t
		s.clock.t = t
	}
}

// free makes a unit available again where it is, sends it home or to its
// post, and gives it to the incidents waiting.
func (s *run) free(k int) {
	u := s.units[k]
	u.busy = false
	s.ix.SetStatus(u.u.ID, zhufang.UnitReturning)
	s.moveTo(k, u.u.Home)
	if s.policy == Posture && u.movable {
		s.post(u.bureau)
	}
	still := s.waiting[:0]
	for _, i := range s.waiting {
		if !s.dispatch(i) {
			still = append(still, i)
		}
	}
	s.waiting = still
}

// moveTo sets a free unit off from where it is now towards p.
func (s *run) moveTo(k int, p zhufang.Point) {
	u := s.units[k]
	here := u.pos(s.now)
	u.from, u.to, u.t0 = here, p, s.now
	u.t1 = s.now.Add(s.city.Estimate.ETA(here, p, u.u.Kind, zhufang.ZoneUrban))
	s.report(k, here)
}

// report gives the index the unit's position at the current time.
func (s *run) report(k int, p zhufang.Point) {
	u := s.units[k]
	at := s.now
	if !at.After(u.stamp) {
		at = u.stamp.Add(time.Nanosecond)
	}
	u.stamp = at
	s.ix.Update(zhufang.PositionReport{UnitID: u.u.ID, At: at, Point: p})
}

// refresh reports the current position of every free unit on the move.
func (s *run) refresh() {
	for k, u := range s.units {
		if !u.busy && u.t1.After(u.stamp) {
			s.report(k, u.pos(s.now))
		}
	}
}

// dispatch tries to send a unit to incident i now; false if none is free.
func (s *run) dispatch(i int) bool {
	inc := &s.incs[i]
	s.refresh()
	k, ok := s.choose(inc)
	if !ok {
		return false
	}
	r := rand.New(rand.NewPCG(s.opt.Seed, uint64(i)))
	decide, ack, look, job := spread(r, decideMedian, 0.5), spread(r, ackMedian, 0.5), spread(r, lookMedian, 0.5), spread(r, jobMedian, 0.6)
	start := s.now // the moment a unit could be chosen: receipt, or when one came free
	acked := start.Add(decide + ack)
	arrive := s.send(k, inc, acked)
	scene := arrive
	if s.policy == Zhufang || s.policy == Posture {
		if g, ok := dispatch.FirstResponder(s.ix, inc.Position, inc.Zone); ok {
			gk := s.byID[g.UnitID]
			garrive := s.send(gk, inc, acked)
			if garrive.Before(scene) {
				scene = garrive
			}
			s.push(maxTime(garrive, arrive).Add(guardHold), releaseEvent, gk)
		}
	}
	handling := scene.Add(look)
	s.push(arrive.Add(look+job), clearEvent, k)
	s.out[i] = outcome{ack: acked.Sub(inc.At), scene: scene.Sub(inc.At), handling: handling.Sub(inc.At), done: true}
	if s.policy == Posture && s.units[k].movable {
		s.post(s.units[k].bureau)
	}
	return true
}

// send takes unit k off the free list and drives it to the incident,
// setting off at acked; it returns the arrival.
func (s *run) send(k int, inc *Incident, acked time.Time) time.Time {
	u := s.units[k]
	here := u.pos(s.now)
	eta := s.city.Estimate.ETA(here, inc.Position, u.u.Kind, inc.Zone).Round(time.Second)
	arrive := acked.Add(eta)
	u.busy = true
	u.from, u.to, u.t0, u.t1 = here, inc.Position, acked, arrive
	s.ix.SetStatus(u.u.ID, zhufang.UnitDispatched)
	return arrive
}

// choose picks the unit the policy sends.
func (s *run) choose(inc *Incident) (int, bool) {
	police := func(v *dispatch.UnitView) bool {
		return v.Platform == zhufang.PlatformPolice && v.Kind != zhufang.UnitDrone && v.Status.Recommendable()
	}
	var id int64
	switch s.policy {
	case Station:
		c := s.ix.Nearest(inc.Position, 1, func(v *dispatch.UnitView) bool { return police(v) && v.StationID == inc.StationID })
		if len(c) == 0 {
			return 0, false
		}
		id = c[0].ID
	case Nearest:
		c := s.ix.Nearest(inc.Position, 1, police)
		if len(c) == 0 {
			return 0, false
		}
		id = c[0].ID
	default:
		r := dispatch.Recommend(s.ix, dispatch.Query{At: inc.Position, Zone: inc.Zone, StationID: inc.StationID, K: 1,
			Estimator: s.city.Estimate})
		if len(r) == 0 {
			return 0, false
		}
		id = r[0].UnitID
	}
	return s.byID[id], true
}

// postAll plans every bureau's posts for the hour; at the start of the day
// units are placed at their posts, as if posted the evening before.
func (s *run) postAll(place bool) {
	var bureaus []int64
	for _, u := range s.units {
		if u.movable && !slices.Contains(bureaus, u.bureau) {
			bureaus = append(bureaus, u.bureau)
		}
	}
	slices.Sort(bureaus)
	for _, b := range bureaus {
		s.postBureau(b, place)
	}
}

func (s *run) post(bureau int64) { s.postBureau(bureau, false) }

// postBureau sends the bureau's free cars and motorcycles to the posts
// that cover the hour's expected demand best given who is free now.
func (s *run) postBureau(bureau int64, place bool) {
	cov := s.cover(bureau)
	if cov == nil {
		return
	}
	var movers []posture.Mover
	for _, u := range s.units {
		if u.movable && !u.busy && u.bureau == bureau {
			movers = append(movers, posture.Mover{ID: u.u.ID, At: u.pos(s.now)})
		}
	}
	if len(movers) == 0 {
		return
	}
	plan, err := cov.Plan(movers)
	if err != nil {
		return
	}
	for _, p := range plan.Posts {
		k := s.byID[p.UnitID]
		if place {
			u := s.units[k]
			u.from, u.to, u.t0, u.t1 = p.At, p.At, s.now, s.now
			s.report(k, p.At)
			continue
		}
		if s.units[k].to != p.At {
			s.moveTo(k, p.At)
		}
	}
}

// cover returns the covering problem of a bureau's demand in the current
// hour, built on first use.
func (s *run) cover(bureau int64) *posture.Cover {
	h := s.now.In(zhufang.ChinaTime).Hour()
	key := [2]int64{int64(h), bureau}
	if c, ok := s.covers[key]; ok {
		return c
	}
	var cells []posture.Cell
	for _, c := range s.city.Demand[h] {
		if c.BureauID == bureau {
			cells = append(cells, c)
		}
	}
	var c *posture.Cover
	if len(cells) > 0 {
		c = posture.NewCover(cells, posture.Reach{Budget: s.budget, Pace: func(z zhufang.ZoneKind) float64 {
			return s.city.Estimate.Pace(zhufang.UnitPatrolCar, z)
		}})
	}
	s.covers[key] = c
	return c
}

// rows sums the outcomes by zone profile.
func (s *run) rows() []Row {
	out := make([]Row, 0, len(zhufang.ZoneKinds))
	for _, z := range zhufang.ZoneKinds {
		row := Row{Policy: string(s.policy), ZoneProfile: string(z)}
		var scenes []float64
		var ack, scene, handling int
		for i, o := range s.out {
			if s.incs[i].Zone != z {
				continue
			}
			row.StreetIncidents++
			if !o.done { // never answered: fails every stage
				scenes = append(scenes, math.Inf(1))
				continue
			}
			if o.ack <= time.Minute {
				ack++
			}
			if o.scene <= 3*time.Minute {
				scene++
			}
			if o.handling <= 5*time.Minute {
				handling++
			}
			scenes = append(scenes, o.scene.Seconds())
		}
		if n := row.StreetIncidents; n > 0 {
			row.Ack1, row.Scene3, row.Handling5 = share(ack, n), share(scene, n), share(handling, n)
			sort.Float64s(scenes)
			row.MedianOnScene, row.P90OnScene = rank(scenes, 0.5), rank(scenes, 0.9)
		}
		out = append(out, row)
	}
	return out
}

// share is k/n to four places.
func share(k, n int) float64 { return math.Round(float64(k)/float64(n)*1e4) / 1e4 }

// rank is the nearest-rank percentile of sorted values, to a tenth.
func rank(sorted []float64, q float64) float64 {
	i := max(0, int(math.Ceil(q*float64(len(sorted))))-1)
	return math.Round(sorted[i]*10) / 10
}

// spread draws a log-normal duration with the given median.
func spread(r *rand.Rand, median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64())).Round(time.Second)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
