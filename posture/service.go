package posture

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"zhufang"
)

// Service is the posture plan for the command room: for the current hour,
// where each idle car and motorcycle should wait, and which parts of the
// ground no idle unit reaches within the on-scene threshold now.
type Service struct {
	// History reads the street incidents of the past weeks, on the
	// actor's ground.
	History interface {
		FindReceived(ctx context.Context, from, to time.Time, lane zhufang.Lane) ([]*zhufang.Incident, error)
	}
	Bureaus map[int64]int64 // station → county bureau
	Zones   zhufang.ZoneProfiles
	// Pace is seconds per straight-line metre of a unit kind in a zone
	// (the recommender's estimator).
	Pace func(zhufang.UnitKind, zhufang.ZoneKind) float64
	// Allowance is the time from receipt to a crew setting off, taken
	// from the on-scene threshold to give the travel budget.
	Allowance time.Duration
	// Days of history to learn from; 0 means 28.
	Days int

	mu    sync.Mutex
	cache map[string]cached // demand by ground and hour, for ten minutes
}

type cached struct {
	made  time.Time
	cells []Cell
}

var _ zhufang.PostureService = (*Service)(nil)

// Posture plans the hour of now.
func (s *Service) Posture(ctx context.Context, now time.Time, units []zhufang.LiveUnit) (*zhufang.Posture, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewUnits); err != nil {
		return nil, err
	}
	start := time.Now()
	days := s.Days
	if days <= 0 {
		days = 28
	}
	cells, err := s.demand(ctx, now, days)
	if err != nil {
		return nil, err
	}
	reach := Reach{
		Budget: func(z zhufang.ZoneKind) float64 { return max(0, (s.Zones[z].OnScene - s.Allowance).Seconds()) },
		Pace:   func(z zhufang.ZoneKind) float64 { return s.Pace(zhufang.UnitPatrolCar, z) },
	}
	byBureau := map[int64][]Cell{}
	for _, c := range cells {
		byBureau[c.BureauID] = append(byBureau[c.BureauID], c)
	}
	idle := map[int64][]zhufang.LiveUnit{}
	for _, u := range units {
		if u.Platform == zhufang.PlatformPolice && (u.Kind == zhufang.UnitPatrolCar || u.Kind == zhufang.UnitMotorcycle) &&
			u.Status.Recommendable() {
			b := s.Bureaus[u.StationID]
			idle[b] = append(idle[b], u)
		}
	}
	var ids []int64
	for b := range byBureau {
		ids = append(ids, b)
	}
	for b := range idle {
		if _, ok := byBureau[b]; !ok {
			ids = append(ids, b)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := &zhufang.Posture{Hour: now.In(zhufang.ChinaTime).Hour(), HistoryDays: days, Bureaus: []zhufang.BureauPosture{}}
	for _, b := range ids {
		bp, err := s.bureau(b, byBureau[b], idle[b], reach)
		if err != nil {
			return nil, err
		}
		out.Bureaus = append(out.Bureaus, bp)
	}
	out.Took = float64(time.Since(start).Microseconds()) / 1000
	return out, nil
}

// bureau plans one county bureau.
func (s *Service) bureau(id int64, cells []Cell, units []zhufang.LiveUnit, reach Reach) (zhufang.BureauPosture, error) {
	bp := zhufang.BureauPosture{BureauID: id, Units: []zhufang.PostureUnit{}, Posts: []zhufang.PosturePost{}, Uncovered: []zhufang.PostureCell{}}
	var movers []Mover
	var now []zhufang.Point
	for _, u := range units {
		at := u.Position
		if at.IsZero() {
			at = u.Home
		}
		if at.IsZero() {
			continue
		}
		bp.Units = append(bp.Units, zhufang.PostureUnit{UnitID: u.ID, CallSign: u.CallSign, At: at, Stale: u.Stale})
		movers = append(movers, Mover{ID: u.ID, At: at})
		if !u.Stale {
			now = append(now, at)
		}
	}
	if len(cells) == 0 {
		return bp, nil
	}
	cov := NewCover(cells, reach)
	plan, err := cov.Plan(movers)
	if err != nil {
		return bp, err
	}
	bp.Expected = plan.Demand
	uncovered := cov.Uncovered(now, reach)
	missed := 0.0
	for _, c := range uncovered {
		missed += c.Weight
	}
	if plan.Demand > 0 {
		bp.CoveredNow = round4((plan.Demand - missed) / plan.Demand)
		bp.CoveredPlanned = round4(plan.Covered / plan.Demand)
	}
	for _, p := range plan.Posts {
		bp.Posts = append(bp.Posts, zhufang.PosturePost{UnitID: p.UnitID, At: p.At, Meters: float64(int(p.Meters))})
	}
	for _, c := range uncovered[:min(len(uncovered), 200)] {
		bp.Uncovered = append(bp.Uncovered, zhufang.PostureCell{At: c.At, Zone: c.Zone, Expected: c.Weight, Side: c.Side})
	}
	return bp, nil
}

// demand returns the hour's demand cells on the actor's ground, learnt
// from the street incidents of the days before now.
func (s *Service) demand(ctx context.Context, now time.Time, days int) ([]Cell, error) {
	hour := now.In(zhufang.ChinaTime).Truncate(time.Hour)
	key := scopeKey(ctx) + "|" + hour.Format(time.RFC3339)
	s.mu.Lock()
	if c, ok := s.cache[key]; ok && time.Since(c.made) < 10*time.Minute {
		s.mu.Unlock()
		return c.cells, nil
	}
	s.mu.Unlock()
	today := time.Date(hour.Year(), hour.Month(), hour.Day(), 0, 0, 0, 0, zhufang.ChinaTime)
	incs, err := s.History.FindReceived(ctx, today.AddDate(0, 0, -days), today, zhufang.LaneStreet)
	if err != nil {
		return nil, err
	}
	samples := make([]Sample, len(incs))
	for i, inc := range incs {
		samples[i] = Sample{At: inc.ReceivedAt, Position: inc.Position, Zone: inc.Zone, BureauID: inc.BureauID}
	}
	cells := Demand(samples, days)[hour.Hour()]
	s.mu.Lock()
	if s.cache == nil || len(s.cache) > 1000 {
		s.cache = map[string]cached{}
	}
	s.cache[key] = cached{made: time.Now(), cells: cells}
	s.mu.Unlock()
	return cells, nil
}

// scopeKey names the actor's ground, so that cached demand is never shown
// to another ground.
func scopeKey(ctx context.Context) string {
	sc := zhufang.ScopeFromContext(ctx)
	if sc == nil {
		return "none"
	}
	return string(sc.Level) + ":" + strconv.FormatInt(sc.BureauID, 10) + ":" + strconv.FormatInt(sc.StationID, 10) + ":" +
		strconv.FormatInt(sc.CommunityID, 10)
}

func round4(x float64) float64 { return float64(int(x*1e4+0.5)) / 1e4 }
