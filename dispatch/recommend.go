package dispatch

import (
	"math"
	"slices"
	"strconv"
	"time"

	"zhufang"
)

// DefaultK is how many units Recommend proposes when the query does not say.
const DefaultK = 5

// Query asks Recommend for units to send to an incident.
type Query struct {
	At        zhufang.Point
	Zone      zhufang.ZoneKind // the incident's zone profile, which sets speeds
	StationID int64            // the incident's own station, preferred on ties
	K         int              // how many; 0 means DefaultK
	Needs     []string         // capabilities every unit must have
	// Platform is the platform the units answer to; "" means police.
	Platform zhufang.Platform
	// Kinds limits the unit kinds; empty means every kind but drones,
	// which fly first response of their own and cannot detain or treat.
	Kinds []zhufang.UnitKind
	// Estimator estimates travel; nil means the straight-line estimator
	// with its defaults. One that is not a LinearEstimator is asked about
	// every eligible unit, under the index's read lock: it must be quick
	// and must not call the index.
	Estimator Estimator
}

// pick is a unit Recommend has found, with what it needs to rank and to
// explain it after the index lock is released.
type pick struct {
	eta      time.Duration // whole seconds
	own      bool
	id       int64
	meters   float64
	callSign string
	kind     zhufang.UnitKind
	status   zhufang.UnitStatus
}

// better orders picks: sooner arrival, then the own station, then unit ID.
func (a *pick) better(b *pick) bool {
	if a.eta != b.eta {
		return a.eta < b.eta
	}
	if a.own != b.own {
		return a.own
	}
	return a.id < b.id
}

// Recommend returns the best q.K units to send to q.At by estimated time of
// arrival: units whose status is recommendable (available, or returning
// from a job), whose position is fresh, on the platform and of the kinds
// asked for, with every capability needed. ETAs are rounded to the second;
// equal ETAs go to the own station first, then to the lower unit ID. Each
// recommendation says why in Chinese and English.
func Recommend(ix *Index, q Query) []zhufang.Recommendation {
	picks := recommend(ix, q)
	out := make([]zhufang.Recommendation, len(picks))
	for i := range picks {
		p := &picks[i]
		out[i] = zhufang.Recommendation{UnitID: p.id, CallSign: p.callSign, Kind: p.kind, ETA: p.eta, Meters: p.meters,
			Reason: reason(i, picks, q.StationID != 0, [2]string{})}
	}
	return out
}

// FirstResponder returns the nearest recommendable guard team to a street
// incident, to go ahead of the police unit (警保联动), and false if none has
// a fresh position.
func FirstResponder(ix *Index, at zhufang.Point, zone zhufang.ZoneKind) (zhufang.Recommendation, bool) {
	picks := recommend(ix, Query{At: at, Zone: zone, K: 1, Platform: zhufang.PlatformMass,
		Kinds: []zhufang.UnitKind{zhufang.UnitGuardTeam}})
	if len(picks) == 0 {
		return zhufang.Recommendation{}, false
	}
	p := &picks[0]
	return zhufang.Recommendation{UnitID: p.id, CallSign: p.callSign, Kind: p.kind, ETA: p.eta, Meters: p.meters,
		Reason: reason(0, picks, false, [2]string{"警保联动先期处置：", "police–security linkage, first responder: "})}, true
}

func recommend(ix *Index, q Query) []pick {
	k := q.K
	if k <= 0 {
		k = DefaultK
	}
	if q.At.Validate() != nil {
		return nil
	}
	platform := q.Platform
	if platform == "" {
		platform = zhufang.PlatformPolice
	}
	var kinds uint64 // bit i: zhufang.UnitKinds[i] wanted (of the first 64)
	for i, kind := range zhufang.UnitKinds {
		if len(q.Kinds) == 0 && kind != zhufang.UnitDrone || slices.Contains(q.Kinds, kind) {
			kinds |= 1 << i
		}
	}
	est := q.Estimator
	if est == nil {
		est = StraightLine{}
	}
	// With a linear estimator, the paces of the wanted kinds, and the
	// fastest of them to bound what a farther unit can do.
	lin, linear := est.(LinearEstimator)
	var pace [64]float64
	minPace := math.Inf(1)
	if linear {
		for i, kind := range zhufang.UnitKinds[:min(64, len(zhufang.UnitKinds))] {
			if kinds&(1<<i) != 0 {
				pace[i] = lin.Pace(kind, q.Zone)
				minPace = min(minPace, pace[i])
			}
		}
		linear = minPace > 0
	}

	cutoff := ix.cutoff()
	qv := toVec(q.At)
	top := make([]pick, 0, k)
	maxC2 := 4.0 // squared chord beyond which no unit can make the top k
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ix.search(q.At, func(es []entry) {
		for j := range es {
			e := &es[j]
			if e.at < cutoff {
				continue
			}
			c2 := chord2(qv, e.v)
			if c2 > maxC2 {
				continue
			}
			rec := &ix.units[e.idx]
			u := &rec.view.Unit
			if kinds&(1<<rec.kind) == 0 || u.Platform != platform || !u.Status.Recommendable() || !u.Has(q.Needs) {
				continue
			}
			p := pick{id: u.ID, own: u.StationID == q.StationID && q.StationID != 0, meters: chordMeters(c2)}
			if linear {
				p.eta = time.Duration(math.Round(p.meters*pace[rec.kind])) * time.Second
			} else {
				p.eta = est.ETA(u.Position, q.At, u.Kind, q.Zone).Round(time.Second)
			}
			if len(top) == k && !p.better(&top[k-1]) {
				continue
			}
			p.callSign, p.kind, p.status = u.CallSign, u.Kind, u.Status
			top = insertPick(top, k, p)
			if len(top) == k && linear {
				// A unit farther than this rounds to a later ETA than the
				// k-th best even at the fastest pace.
				maxC2 = metersChord2((top[k-1].eta.Seconds() + 1) / minPace)
			}
		}
	}, func(b bound) bool {
		return len(top) < k || !linear || time.Duration(math.Round(b.meters()*minPace))*time.Second <= top[k-1].eta
	})
	return top
}

func insertPick(top []pick, k int, p pick) []pick {
	if len(top) < k {
		top = append(top, p)
	} else {
		top[k-1] = p
	}
	for i := len(top) - 1; i > 0 && top[i].better(&top[i-1]); i-- {
		top[i], top[i-1] = top[i-1], top[i]
	}
	return top
}

// kindNames are the kinds' names in Chinese and English.
var kindNames = map[zhufang.UnitKind][2]string{
	zhufang.UnitPatrolCar:     {"巡逻车", "patrol car"},
	zhufang.UnitMotorcycle:    {"铁骑", "motorcycle"},
	zhufang.UnitFoot:          {"步巡组", "foot patrol"},
	zhufang.UnitGuardTeam:     {"保安队", "guard team"},
	zhufang.UnitVolunteerTeam: {"义警队", "volunteer team"},
	zhufang.UnitDrone:         {"无人机", "drone"},
}

// reason explains picks[i], Chinese first, then English: its rank, kind
// and state, its station when the incident has one, distance and ETA, and
// when it won a tie on its station. It appends to a buffer rather than
// formatting, as it runs five times a recommendation.
func reason(i int, picks []pick, station bool, prefix [2]string) string {
	var buf [512]byte
	b := append(buf[:0], prefix[zh]...)
	b = describe(b, zh, i, picks, station)
	b = append(b, " / "...)
	b = append(b, prefix[en]...)
	b = describe(b, en, i, picks, station)
	return string(b)
}

// Languages, as indexes into the text pairs.
const (
	zh = 0
	en = 1
)

func describe(b []byte, lang, i int, picks []pick, station bool) []byte {
	p := &picks[i]
	kind := kindNames[p.kind][lang]
	switch {
	case i == 0 && lang == zh:
		b = append(b, "最近"...)
	case i == 0:
		b = append(b, "nearest "...)
	case lang == zh:
		b = append(b, "第"...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, "选"...)
	default:
		b = appendOrdinal(b, i+1)
		b = append(b, " choice, "...)
	}
	switch {
	case p.status == zhufang.UnitReturning && lang == zh:
		b = append(append(b, kind...), "（处警返程中）"...)
	case p.status == zhufang.UnitReturning:
		b = append(append(b, kind...), " returning from another job"...)
	case lang == zh:
		b = append(append(b, "可用"...), kind...)
	default:
		b = append(append(b, "available "...), kind...)
	}
	if station {
		b = append(b, pair(lang, p.own, "，本所", ", own station", "，外所", ", another station")...)
	}
	b = append(b, pair(lang, true, "，", ", ", "", "")...)
	b = appendMeters(b, lang, p.meters)
	b = append(b, pair(lang, true, "约", ", about ", "", "")...)
	b = appendETA(b, lang, p.eta)
	if station && p.own {
		for j := range picks {
			if j != i && !picks[j].own && picks[j].eta == p.eta {
				b = append(b, pair(lang, true, "，与外所单位同时到达，本所优先", ", same ETA as another station's unit: own station first", "", "")...)
				break
			}
		}
	}
	return b
}

// pair picks the text for lang, from the first two when cond holds and the
// last two when not.
func pair(lang int, cond bool, zhYes, enYes, zhNo, enNo string) string {
	switch {
	case cond && lang == zh:
		return zhYes
	case cond:
		return enYes
	case lang == zh:
		return zhNo
	}
	return enNo
}

func appendOrdinal(b []byte, n int) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return append(b, "th"...)
	case n%10 == 1:
		return append(b, "st"...)
	case n%10 == 2:
		return append(b, "nd"...)
	case n%10 == 3:
		return append(b, "rd"...)
	}
	return append(b, "th"...)
}

func appendMeters(b []byte, lang int, m float64) []byte {
	if m < 1000 {
		b = strconv.AppendFloat(b, m, 'f', 0, 64)
		return append(b, pair(lang, true, "米", " m", "", "")...)
	}
	b = strconv.AppendFloat(b, m/1000, 'f', 1, 64)
	return append(b, pair(lang, true, "公里", " km", "", "")...)
}

func appendETA(b []byte, lang int, d time.Duration) []byte {
	s := int64(d / time.Second)
	if s < 60 {
		b = strconv.AppendInt(b, s, 10)
		return append(b, pair(lang, true, "秒", " s", "", "")...)
	}
	b = strconv.AppendInt(b, s/60, 10)
	if s%60 == 0 {
		return append(b, pair(lang, true, "分钟", " min", "", "")...)
	}
	b = append(b, pair(lang, true, "分", " min ", "", "")...)
	b = strconv.AppendInt(b, s%60, 10)
	return append(b, pair(lang, true, "秒", " s", "", "")...)
}
