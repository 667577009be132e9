package zhufang_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"zhufang"
)

func TestGCJ02RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		// Anywhere in Hunan and a margin around it.
		w := zhufang.Point{Lon: 108 + r.Float64()*7, Lat: 24 + r.Float64()*6}
		g := zhufang.WGS84ToGCJ02(w)
		shift := w.DistanceMeters(g)
		if shift < 50 || shift > 1000 {
			t.Fatalf("offset at %v is %.0f m, want a few hundred metres", w, shift)
		}
		back := zhufang.GCJ02ToWGS84(g)
		if math.Abs(back.Lon-w.Lon) > 1e-8 || math.Abs(back.Lat-w.Lat) > 1e-8 {
			t.Fatalf("round trip %v → %v → %v", w, g, back)
		}
	}
	out := zhufang.Point{Lon: -87.6, Lat: 41.9} // Chicago: no offset outside China
	if zhufang.WGS84ToGCJ02(out) != out || zhufang.GCJ02ToWGS84(out) != out {
		t.Fatal("a point outside China was moved")
	}
}
