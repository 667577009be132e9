package dispatch

import (
	"testing"
	"time"

	"zhufang"
)

func TestStraightLine(t *testing.T) {
	from := zhufang.Point{Lon: 111.6, Lat: 26.4}
	est := DefaultEstimator()
	// ETA grows with distance for every kind and zone, and is zero at zero.
	for _, k := range zhufang.UnitKinds {
		for _, z := range zhufang.ZoneKinds {
			prev := est.ETA(from, from, k, z)
			if prev != 0 {
				t.Errorf("%s in %s: ETA to itself %s", k, z, prev)
			}
			for _, m := range []float64{10, 100, 500, 1000, 5000, 20000} {
				to := zhufang.Point{Lon: from.Lon, Lat: from.Lat + m/111195}
				eta := est.ETA(from, to, k, z)
				if eta <= prev {
					t.Errorf("%s in %s: ETA over %g m is %s, not more than %s", k, z, m, eta, prev)
				}
				prev = eta
			}
		}
	}
	to := zhufang.Point{Lon: from.Lon, Lat: from.Lat + 1000/111195.0} // ~1 km north
	for _, tc := range []struct {
		name string
		est  StraightLine
		kind zhufang.UnitKind
		zone zhufang.ZoneKind
		want time.Duration // for 1 km, to the second
	}{
		{"car in the core: 1000 × 1.35 / 8", est, zhufang.UnitPatrolCar, zhufang.ZoneUrbanCore, 169 * time.Second},
		{"car urban: / 11", est, zhufang.UnitPatrolCar, zhufang.ZoneUrban, 123 * time.Second},
		{"car suburban: / 14", est, zhufang.UnitPatrolCar, zhufang.ZoneSuburban, 96 * time.Second},
		{"car rural: / 16", est, zhufang.UnitPatrolCar, zhufang.ZoneRural, 84 * time.Second},
		{"motorcycle in the core: / 10", est, zhufang.UnitMotorcycle, zhufang.ZoneUrbanCore, 135 * time.Second},
		{"foot: / 1.4", est, zhufang.UnitFoot, zhufang.ZoneUrban, 964 * time.Second},
		{"guard team: / 1.5", est, zhufang.UnitGuardTeam, zhufang.ZoneUrbanCore, 900 * time.Second},
		{"volunteer team: / 1.5", est, zhufang.UnitVolunteerTeam, zhufang.ZoneRural, 900 * time.Second},
		{"drone flies straight: 1000 / 15", est, zhufang.UnitDrone, zhufang.ZoneUrbanCore, 67 * time.Second},
		{"zero value is the default", StraightLine{}, zhufang.UnitPatrolCar, zhufang.ZoneUrbanCore, 169 * time.Second},
		{"unknown zone counts as urban", est, zhufang.UnitPatrolCar, "moon", 123 * time.Second},
		{"detour below 1 is the default", StraightLine{Detour: 0.5}, zhufang.UnitPatrolCar, zhufang.ZoneUrbanCore, 169 * time.Second},
		{"own detour", StraightLine{Detour: 1}, zhufang.UnitPatrolCar, zhufang.ZoneUrbanCore, 125 * time.Second},
		{"own speed", StraightLine{Speed: map[zhufang.UnitKind]map[zhufang.ZoneKind]float64{
			zhufang.UnitPatrolCar: {zhufang.ZoneUrbanCore: 13.5}}}, zhufang.UnitPatrolCar, zhufang.ZoneUrbanCore, 100 * time.Second},
		{"missing speed is the default", StraightLine{Speed: map[zhufang.UnitKind]map[zhufang.ZoneKind]float64{
			zhufang.UnitPatrolCar: {zhufang.ZoneUrbanCore: 13.5}}}, zhufang.UnitFoot, zhufang.ZoneUrbanCore, 964 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.est.ETA(from, to, tc.kind, tc.zone).Round(time.Second); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	// Looser zones are faster for vehicles; the motorcycle beats the car
	// where traffic is dense.
	for _, k := range []zhufang.UnitKind{zhufang.UnitPatrolCar, zhufang.UnitMotorcycle} {
		for i := 1; i < len(zhufang.ZoneKinds); i++ {
			if est.Pace(k, zhufang.ZoneKinds[i]) >= est.Pace(k, zhufang.ZoneKinds[i-1]) {
				t.Errorf("%s is not faster in %s than in %s", k, zhufang.ZoneKinds[i], zhufang.ZoneKinds[i-1])
			}
		}
	}
	if est.Pace(zhufang.UnitMotorcycle, zhufang.ZoneUrbanCore) >= est.Pace(zhufang.UnitPatrolCar, zhufang.ZoneUrbanCore) {
		t.Error("a motorcycle is not faster than a car in the urban core")
	}
	if got := seconds(1e300); got != 1<<63-1 {
		t.Errorf("seconds(1e300) = %d, want the largest Duration", got)
	}
}
