package dispatch

import (
	"time"

	"zhufang"
)

// Estimator estimates how long a unit of a kind takes to travel from one
// point to another in a zone. A road-network estimator can replace the
// straight-line one behind this interface.
type Estimator interface {
	ETA(from, to zhufang.Point, kind zhufang.UnitKind, zone zhufang.ZoneKind) time.Duration
}

// LinearEstimator is an Estimator whose ETA is the straight-line distance
// times a pace. Recommend reads the paces once per query instead of calling
// ETA for every unit, and stops its search when even the fastest pace
// cannot bring a farther unit in sooner. For any other Estimator Recommend
// must ask about every eligible unit.
type LinearEstimator interface {
	Estimator
	// Pace returns seconds per straight-line metre; it must be positive.
	Pace(kind zhufang.UnitKind, zone zhufang.ZoneKind) float64
}

// StraightLine estimates travel time as straight-line distance times a
// detour factor, over a speed per unit kind and zone. Drones fly straight:
// the detour does not apply to them.
type StraightLine struct {
	// Detour is road distance over straight-line distance; below 1 (the
	// zero value) means DefaultDetour.
	Detour float64
	// Speed is in m/s; a missing or non-positive speed means the default
	// one (see DefaultEstimator).
	Speed map[zhufang.UnitKind]map[zhufang.ZoneKind]float64
}

// DefaultDetour is the usual ratio of road to straight-line distance in
// towns and rolling country: measured circuity factors cluster at 1.2–1.4
// (denser grids lower, rivers, hills and rail lines higher), and Yongzhou's
// towns sit on the Xiang river among hills, so the upper middle: 1.35.
const DefaultDetour = 1.35

// DefaultEstimator returns the straight-line estimator with the default
// detour and speeds, written out so that they can be adjusted.
func DefaultEstimator() StraightLine {
	s := StraightLine{Detour: DefaultDetour, Speed: map[zhufang.UnitKind]map[zhufang.ZoneKind]float64{}}
	for _, k := range zhufang.UnitKinds {
		s.Speed[k] = map[zhufang.ZoneKind]float64{}
		for _, z := range zhufang.ZoneKinds {
			s.Speed[k][z] = defaultSpeed(k, z)
		}
	}
	return s
}

// defaultSpeed returns the average door-to-door speed, in m/s, of a unit of
// kind k answering a call in zone z. An unknown zone counts as urban; an
// unknown kind as on foot, the slowest.
func defaultSpeed(k zhufang.UnitKind, z zhufang.ZoneKind) float64 {
	switch k {
	case zhufang.UnitPatrolCar:
		// With lights and siren a car still averages under 30 km/h through a
		// town centre's signals and congestion, about 40 km/h on urban
		// arterials, 50 on suburban roads; rural county roads are open but
		// winding and hilly, so 58 km/h rather than highway speed.
		return byZone(z, 8, 11, 14, 16)
	case zhufang.UnitMotorcycle:
		// 铁骑 filter through queues, so they beat cars where traffic is
		// dense and lose the edge where roads are open.
		return byZone(z, 10, 12, 14, 15)
	case zhufang.UnitGuardTeam, zhufang.UnitVolunteerTeam:
		// Teams go on foot, posted near their beat, and hurry: a fast walk
		// or slow jog, 5.4 km/h.
		return 1.5
	case zhufang.UnitDrone:
		// Police multirotors cruise at about 15 m/s (top speeds are 20–23
		// m/s, but range and control link favour cruise); zone does not
		// matter in the air.
		return 15
	}
	// Foot patrols walk briskly: 1.4 m/s, 5 km/h, the usual walking pace.
	return 1.4
}

func byZone(z zhufang.ZoneKind, core, urban, suburban, rural float64) float64 {
	switch z {
	case zhufang.ZoneUrbanCore:
		return core
	case zhufang.ZoneSuburban:
		return suburban
	case zhufang.ZoneRural:
		return rural
	}
	return urban
}

// Pace returns seconds per straight-line metre for a unit of kind in zone.
func (s StraightLine) Pace(kind zhufang.UnitKind, zone zhufang.ZoneKind) float64 {
	speed := s.Speed[kind][zone]
	if !(speed > 0) {
		speed = defaultSpeed(kind, zone)
	}
	detour := s.Detour
	if !(detour >= 1) {
		detour = DefaultDetour
	}
	if kind == zhufang.UnitDrone {
		detour = 1
	}
	return detour / speed
}

// ETA returns the straight-line distance times the detour over the speed.
func (s StraightLine) ETA(from, to zhufang.Point, kind zhufang.UnitKind, zone zhufang.ZoneKind) time.Duration {
	return seconds(from.DistanceMeters(to) * s.Pace(kind, zone))
}

// seconds converts seconds to a Duration, saturating instead of
// overflowing.
func seconds(s float64) time.Duration {
	if !(s < float64(1<<63-1)/float64(time.Second)) {
		return 1<<63 - 1
	}
	return time.Duration(s * float64(time.Second))
}
