package web

import (
	"math"
	"testing"

	"zhufang"
)

// FuzzFormPoint feeds the intake form's position parser anything: it
// accepts only points on the planet and never panics.
func FuzzFormPoint(f *testing.F) {
	for _, s := range []string{"111.6130, 26.4205", "111.6130 26.4205", "111.6，26.4", "NaN, 1", "1e999,0", ",", "200, 95", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := formPoint(s)
		if err != nil {
			if zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Fatalf("%q: error code %s, want invalid", s, zhufang.ErrorCode(err))
			}
			return
		}
		if math.IsNaN(p.Lon) || math.IsNaN(p.Lat) || math.Abs(p.Lon) > 180 || math.Abs(p.Lat) > 90 {
			t.Fatalf("%q accepted as %+v", s, p)
		}
	})
}

// FuzzMapXY feeds the map's picked place ("x,y" in map units) anything:
// it accepts only two finite numbers, which the inverse projection turns
// back into the place XY put there.
func FuzzMapXY(f *testing.F) {
	for _, s := range []string{"120.5,340.1", " 1 , 2 ", "NaN,1", "1e999,0", ",", "1,2,3", "", "x,y"} {
		f.Add(s)
	}
	p := newProjection(111.0, 24.6, 112.4, 26.9, 1000)
	f.Fuzz(func(t *testing.T, s string) {
		x, y, ok := mapXY(s)
		if !ok {
			return
		}
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			t.Fatalf("%q accepted as %v, %v", s, x, y)
		}
		if math.Abs(x) > 1e6 || math.Abs(y) > 1e6 {
			return // far off the map: no round trip to speak of
		}
		bx, by := p.XY(p.Point(x, y))
		if math.Abs(bx-x) > 1e-6 || math.Abs(by-y) > 1e-6 {
			t.Fatalf("%q: (%v, %v) came back as (%v, %v)", s, x, y, bx, by)
		}
	})
}

// TestProjectionPoint: a place drawn at XY is picked back at the same
// position, to well under a metre.
func TestProjectionPoint(t *testing.T) {
	p := newProjection(111.0, 24.6, 112.4, 26.9, 1000)
	for _, pt := range []zhufang.Point{{Lon: 111.6130, Lat: 26.4205}, {Lon: 111.0, Lat: 24.6}, {Lon: 112.4, Lat: 26.9}} {
		x, y := p.XY(pt)
		if back := p.Point(x, y); back.DistanceMeters(pt) > 0.01 {
			t.Errorf("%+v came back as %+v", pt, back)
		}
	}
}
