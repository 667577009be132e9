package zhufang_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"zhufang"
)

func ring(pts ...float64) zhufang.Ring {
	var r zhufang.Ring
	for i := 0; i+1 < len(pts); i += 2 {
		r = append(r, zhufang.Point{Lon: pts[i], Lat: pts[i+1]})
	}
	return r
}

func TestRingValidate(t *testing.T) {
	tests := []struct {
		name string
		ring zhufang.Ring
		says string // "" for valid
	}{
		{"square", ring(0, 0, 1, 0, 1, 1, 0, 1, 0, 0), ""},
		{"clockwise square", ring(0, 0, 0, 1, 1, 1, 1, 0, 0, 0), ""},
		{"concave", ring(0, 0, 3, 0, 3, 3, 2, 3, 2, 1, 1, 1, 1, 3, 0, 3, 0, 0), ""},
		{"repeated position", ring(0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0), ""},
		{"not closed", ring(0, 0, 1, 0, 1, 1, 0, 1), "does not close"},
		{"too short", ring(0, 0, 1, 0, 0, 0), "at least 4"},
		{"bowtie", ring(0, 0, 1, 1, 1, 0, 0, 1, 0, 0), "crosses itself"},
		{"touches itself", ring(0, 0, 2, 0, 2, 2, 1, 0, 0, 2, 0, 0), "crosses itself"},
		{"folds back", ring(0, 0, 2, 0, 1, 0, 1, 1, 0, 0), "crosses itself"},
		{"flat", ring(0, 0, 1, 0, 2, 0, 0, 0), "crosses itself"},
		{"off the planet", ring(0, 0, 200, 0, 1, 1, 0, 0), "off the planet"},
		{"not a number", ring(0, 0, math.NaN(), 0, 1, 1, 0, 0), "finite"},
		{"comb touching far edge", ring(0, 0, 4, 0, 4, 1, 3, 1, 3, 0.5, 2.5, 0, 2, 1, 0, 1, 0, 0), "crosses itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ring.Validate()
			if tt.says == "" {
				if err != nil {
					t.Fatalf("valid ring refused: %v", err)
				}
				return
			}
			if err == nil || zhufang.ErrorCode(err) != zhufang.EINVALID || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v, want EINVALID saying %q", err, tt.says)
			}
		})
	}
}

func TestMultiPolygonContainsAndArea(t *testing.T) {
	// A 3×3 square with a 1×1 hole in the middle, and a separate island.
	m := zhufang.MultiPolygon{
		{ring(0, 0, 3, 0, 3, 3, 0, 3, 0, 0), ring(1, 1, 2, 1, 2, 2, 1, 2, 1, 1)},
		{ring(5, 5, 6, 5, 6, 6, 5, 6, 5, 5)},
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    zhufang.Point
		want bool
	}{
		{zhufang.Point{Lon: 0.5, Lat: 0.5}, true},
		{zhufang.Point{Lon: 1.5, Lat: 1.5}, false}, // in the hole
		{zhufang.Point{Lon: 5.5, Lat: 5.5}, true},  // on the island
		{zhufang.Point{Lon: 4, Lat: 4}, false},
		{zhufang.Point{Lon: -1, Lat: 1}, false},
	} {
		if got := m.Contains(c.p); got != c.want {
			t.Errorf("Contains(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	// One degree square at the equator is about 111.32 × 110.57 km.
	unit := zhufang.MultiPolygon{{ring(0, -0.5, 1, -0.5, 1, 0.5, 0, 0.5, 0, -0.5)}}
	if a := unit.AreaKm2(); math.Abs(a-12309) > 15 {
		t.Errorf("area of a degree square at the equator: %.0f km², want about 12,309", a)
	}
	// A tiny ring far from the origin still has an area.
	tiny := ring(111.6, 26.4, 111.6000002, 26.4, 111.6000002, 26.4000002, 111.6, 26.4)
	if err := tiny.Validate(); err != nil {
		t.Errorf("a 2 cm triangle at Yongzhou: %v", err)
	}
}

func TestPolygonRings(t *testing.T) {
	outer := ring(0, 0, 4, 0, 4, 4, 0, 4, 0, 0)
	for _, tt := range []struct {
		name string
		p    zhufang.Polygon
		says string
	}{
		{"hole inside", zhufang.Polygon{outer, ring(1, 1, 2, 1, 2, 2, 1, 2, 1, 1)}, ""},
		{"hole outside", zhufang.Polygon{outer, ring(5, 5, 6, 5, 6, 6, 5, 6, 5, 5)}, "outside"},
		{"hole crossing the outer ring", zhufang.Polygon{outer, ring(3, 3, 5, 3, 5, 5, 3, 5, 3, 3)}, "cross each other"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if (err == nil) != (tt.says == "") || (err != nil && !strings.Contains(err.Error(), tt.says)) {
				t.Fatalf("got %v, want %q", err, tt.says)
			}
		})
	}
}

func BenchmarkRingValidate(b *testing.B) {
	// A star of 10,000 positions, the largest ring accepted.
	n := zhufang.MaxRingPoints - 1
	r := make(zhufang.Ring, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		rad := 1.0
		if i%2 == 1 {
			rad = 0.6
		}
		r = append(r, zhufang.Point{Lon: 111 + rad*math.Cos(a), Lat: 26 + rad*math.Sin(a)})
	}
	r = append(r, r[0])
	for b.Loop() {
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPointJSON(t *testing.T) {
	b, err := json.Marshal(zhufang.Point{Lon: 111.6, Lat: 26.4})
	if err != nil || string(b) != "[111.6,26.4]" {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	var p zhufang.Point
	if err := json.Unmarshal([]byte("[111.6, 26.4]"), &p); err != nil || p != (zhufang.Point{Lon: 111.6, Lat: 26.4}) {
		t.Fatalf("unmarshal: %v, %v", p, err)
	}
	if err := json.Unmarshal([]byte("[111.6, 26.4, 120.5]"), &p); err != nil || p != (zhufang.Point{Lon: 111.6, Lat: 26.4}) {
		t.Fatalf("a GeoJSON position with altitude: %v, %v", p, err)
	}
	for _, bad := range []string{`{"lon":1}`, `[1]`, `[1,2,3,4]`, `["a","b"]`, `[1e999,0]`, `null`} {
		var p zhufang.Point
		err := json.Unmarshal([]byte(bad), &p)
		if bad == "null" {
			continue // null leaves a value unset, as for any type
		}
		if err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

func TestPointValidate(t *testing.T) {
	for _, p := range []zhufang.Point{{Lon: 181, Lat: 0}, {Lon: 0, Lat: -90.0001}, {Lon: math.Inf(1), Lat: 0}, {Lon: 0, Lat: math.NaN()}} {
		if err := p.Validate(); zhufang.ErrorCode(err) != zhufang.EINVALID {
			t.Errorf("%v: got %v, want EINVALID", p, err)
		}
	}
	for _, p := range []zhufang.Point{{Lon: 180, Lat: 90}, {Lon: -180, Lat: -90}, {Lon: 111.6, Lat: 26.4}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%v: %v", p, err)
		}
	}
}

// FuzzMultiPolygonJSON feeds arbitrary JSON to the area decoder and
// validation: nothing may panic, and what validates must contain no point
// off the planet and survive a round trip.
func FuzzMultiPolygonJSON(f *testing.F) {
	f.Add(`[[[[0,0],[1,0],[1,1],[0,1],[0,0]]]]`)
	f.Add(`[[[[0,0],[1,1],[1,0],[0,1],[0,0]]]]`)
	f.Add(`[[[[0,0],[1,0],[1,1]]]]`)
	f.Add(`[[[[1e308,0],[1,0],[1,1],[0,0]]]]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		var m zhufang.MultiPolygon
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			if zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Fatalf("validation error with code %s: %v", zhufang.ErrorCode(err), err)
			}
			return
		}
		b := m.Bounds()
		if b.Min.Validate() != nil || b.Max.Validate() != nil {
			t.Fatalf("a valid area reaches off the planet: %v", b)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back zhufang.MultiPolygon
		if err := json.Unmarshal(out, &back); err != nil || back.Validate() != nil {
			t.Fatalf("round trip failed: %s: %v", out, err)
		}
		m.Contains(zhufang.Point{Lon: b.Min.Lon, Lat: b.Max.Lat})
	})
}
