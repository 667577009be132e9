package dispatch

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"zhufang"
)

// t0 is the "now" the tests start at.
var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func newIndex(tb testing.TB, opt IndexOptions) *Index {
	tb.Helper()
	ix, err := NewIndex(opt)
	if err != nil {
		tb.Fatal(err)
	}
	return ix
}

// mkUnit returns a valid unit of kind with no position.
func mkUnit(id int64, kind zhufang.UnitKind, station int64, status zhufang.UnitStatus, caps ...string) zhufang.Unit {
	u := zhufang.Unit{ID: id, CallSign: fmt.Sprintf("U%d", id), Kind: kind, Platform: zhufang.PlatformPolice,
		StationID: station, Capabilities: caps, Crew: 2, Status: status}
	if kind == zhufang.UnitGuardTeam || kind == zhufang.UnitVolunteerTeam {
		u.Platform = zhufang.PlatformMass
	}
	if kind == zhufang.UnitGuardTeam {
		u.CompanyID = 1
	}
	if kind == zhufang.UnitVolunteerTeam {
		u.CommunityID = 1
	}
	return u
}

// model is what the index should hold, kept the simple way: a map, and a
// scan of every unit for each question.
type model struct {
	units map[int64]*zhufang.Unit
	at    map[int64]time.Time // position time; zero for a home position
}

func newModel() *model {
	return &model{units: map[int64]*zhufang.Unit{}, at: map[int64]time.Time{}}
}

func (m *model) put(u zhufang.Unit) {
	old, ok := m.units[u.ID]
	pos, at := u.Position, u.PositionAt
	if ok {
		u.Position, u.PositionAt = old.Position, old.PositionAt
	}
	m.units[u.ID] = &u
	if pos.IsZero() {
		return
	}
	if !ok || old.Position.IsZero() || (!at.IsZero() && at.After(m.at[u.ID])) || (at.IsZero() && m.at[u.ID].IsZero()) {
		u.Position, u.PositionAt = pos, at
		m.at[u.ID] = at
	}
}

func (m *model) update(r zhufang.PositionReport) bool {
	u := m.units[r.UnitID]
	if u == nil {
		return false
	}
	if !u.Position.IsZero() && !r.At.After(m.at[r.UnitID]) {
		return false
	}
	u.Position, u.PositionAt = r.Point, r.At
	m.at[r.UnitID] = r.At
	return true
}

func (m *model) fresh(id int64, now time.Time, staleAfter time.Duration) bool {
	u := m.units[id]
	at := m.at[id]
	return !u.Position.IsZero() && !at.IsZero() && !at.Before(now.Add(-staleAfter))
}

type bruteHit struct {
	id int64
	m  float64
}

// nearest answers Nearest by scanning every unit. It returns every unit
// that qualifies, nearest first; the answer is the first k.
func (m *model) nearest(p zhufang.Point, now time.Time, staleAfter time.Duration, keep func(*UnitView) bool) []bruteHit {
	var out []bruteHit
	for id, u := range m.units {
		if !m.fresh(id, now, staleAfter) {
			continue
		}
		if keep != nil && !keep(&UnitView{Unit: *u}) {
			continue
		}
		out = append(out, bruteHit{id, p.DistanceMeters(u.Position)})
	}
	slices.SortFunc(out, func(a, b bruteHit) int { return cmp.Or(cmp.Compare(a.m, b.m), cmp.Compare(a.id, b.id)) })
	return out
}

// tolerance is how far the index's distance (from the chord) and the
// haversine may differ: nanometres nearby, more near the antipode where
// both lose precision.
func tolerance(m float64) float64 {
	if m > 1e7 {
		return 1
	}
	return 1e-6 + 1e-9*m
}

// checkNearest compares Nearest's answer with the brute-force one, all (every
// qualifying unit, nearest first): k distinct qualifying units, each at its
// own position, at the k least distances in order; and where a distance
// ties with no other, the very unit.
func checkNearest(t *testing.T, what string, m *model, got []Candidate, all []bruteHit, k int) {
	t.Helper()
	want := all[:min(k, len(all))]
	if len(got) != len(want) {
		t.Fatalf("%s: got %d units, want %d\ngot  %v\nwant %v", what, len(got), len(want), hits(got), want)
	}
	qualifies := map[int64]float64{}
	for _, h := range all {
		qualifies[h.id] = h.m
	}
	seen := map[int64]bool{}
	for i, c := range got {
		w := want[i]
		own, ok := qualifies[c.ID]
		switch {
		case seen[c.ID]:
			t.Fatalf("%s: unit %d twice", what, c.ID)
		case !ok:
			t.Fatalf("%s: unit %d does not qualify\ngot  %v\nwant %v", what, c.ID, hits(got), want)
		case c.Position != m.units[c.ID].Position:
			t.Fatalf("%s: unit %d at %v, want %v", what, c.ID, c.Position, m.units[c.ID].Position)
		case math.Abs(c.Meters-own) > tolerance(own):
			t.Fatalf("%s: unit %d said to be %.9f m away, is %.9f m", what, c.ID, c.Meters, own)
		case math.Abs(c.Meters-w.m) > tolerance(w.m):
			t.Fatalf("%s: #%d is unit %d at %.9f m, want unit %d at %.9f m\ngot  %v\nwant %v", what, i, c.ID, c.Meters, w.id, w.m, hits(got), want)
		}
		seen[c.ID] = true
		if c.ID != w.id {
			j := slices.IndexFunc(all, func(h bruteHit) bool { return h.id == w.id })
			tied := (j > 0 && all[j-1].m >= w.m-tolerance(w.m)) || (j+1 < len(all) && all[j+1].m <= w.m+tolerance(w.m))
			if !tied {
				t.Fatalf("%s: #%d is unit %d, want unit %d (%.9f m)\ngot  %v\nwant %v", what, i, c.ID, w.id, w.m, hits(got), want)
			}
		}
	}
}

func hits(cs []Candidate) []bruteHit {
	out := make([]bruteHit, len(cs))
	for i, c := range cs {
		out[i] = bruteHit{c.ID, c.Meters}
	}
	return out
}

func ids(cs []Candidate) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// randomPoint returns a point mostly in box, sometimes just outside it,
// sometimes anywhere on the planet.
func randomPoint(r *rand.Rand, box zhufang.Rect) zhufang.Point {
	switch x := r.Float64(); {
	case x < 0.85:
		return zhufang.Point{Lon: box.Min.Lon + r.Float64()*(box.Max.Lon-box.Min.Lon), Lat: box.Min.Lat + r.Float64()*(box.Max.Lat-box.Min.Lat)}
	case x < 0.95:
		lon := box.Min.Lon - 0.5 + r.Float64()*(box.Max.Lon-box.Min.Lon+1)
		if lon > 180 {
			lon -= 360
		}
		lat := box.Min.Lat - 0.5 + r.Float64()*(box.Max.Lat-box.Min.Lat+1)
		return zhufang.Point{Lon: lon, Lat: max(-90, min(90, lat))}
	}
	return zhufang.Point{Lon: -180 + 360*r.Float64(), Lat: -90 + 180*r.Float64()}
}

var yongzhou = zhufang.Rect{Min: zhufang.Point{Lon: 110.9, Lat: 24.6}, Max: zhufang.Point{Lon: 112.4, Lat: 26.9}}
