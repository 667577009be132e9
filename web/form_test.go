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
