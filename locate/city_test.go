package locate_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"zhufang"
	"zhufang/data"
	"zhufang/demo"
	"zhufang/locate"
	"zhufang/tiling"
)

// demoCity builds the index of the demo city once for the tests and
// benchmarks of this file.
var demoCity = sync.OnceValues(func() (*zhufang.City, error) {
	return demo.Build(demo.Options{Seed: 1, Data: data.FS, Cells: tiling.Cells})
})

func demoIndex(tb testing.TB) (*zhufang.City, *locate.Index) {
	tb.Helper()
	city, err := demoCity()
	if err != nil {
		tb.Fatal(err)
	}
	stations := map[int64]*zhufang.Station{}
	for _, s := range city.Stations {
		stations[s.ID] = s
	}
	bureaus := map[int64]*zhufang.Bureau{}
	for _, b := range city.Bureaus {
		bureaus[b.ID] = b
	}
	var areas []locate.Area
	for _, c := range city.Communities {
		s := stations[c.StationID]
		areas = append(areas, locate.Area{Area: c.Area, Jurisdiction: zhufang.Jurisdiction{
			Community: zhufang.AreaRef{ID: c.ID, Code: c.Code},
			Station:   zhufang.AreaRef{ID: s.ID, Code: s.Code},
			County:    zhufang.AreaRef{ID: s.BureauID, Code: bureaus[s.BureauID].Code},
		}})
	}
	ix, err := locate.New(areas)
	if err != nil {
		tb.Fatal(err)
	}
	return city, ix
}

// TestDemoCity checks the index on the real demo city: every seat resolves
// to its own community, every point agrees with a scan of the areas, and the
// communities nest in their stations and bureaus.
func TestDemoCity(t *testing.T) {
	city, ix := demoIndex(t)
	if ix.Len() != 3305 {
		t.Fatalf("%d areas, want 3,305", ix.Len())
	}
	for _, c := range city.Communities {
		j, ok := ix.Locate(c.Seat)
		if !ok || j.Community.ID != c.ID || j.Station.ID != c.StationID {
			t.Fatalf("seat of %s resolves to %+v, %v", c.Code, j, ok)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	box := ix.Bounds()
	inside := 0
	for range 20000 {
		p := zhufang.Point{Lon: box.Min.Lon + r.Float64()*(box.Max.Lon-box.Min.Lon), Lat: box.Min.Lat + r.Float64()*(box.Max.Lat-box.Min.Lat)}
		j, ok := ix.Locate(p)
		var want *zhufang.Community
		for _, c := range city.Communities {
			if c.Area.Contains(p) {
				want = c
				break
			}
		}
		if (want == nil) != !ok || (ok && j.Community.ID != want.ID) {
			t.Fatalf("%v: index says %+v %v, scan says %v", p, j, ok, want)
		}
		if ok {
			inside++
			st := city.Stations[j.Station.ID-1]
			if !st.Area.Contains(p) {
				t.Fatalf("%v lies in community %s but not in its station %s", p, j.Community.Code, st.Code)
			}
			if !city.Bureaus[j.County.ID-1].Area.Contains(p) {
				t.Fatalf("%v lies in community %s but not in its bureau", p, j.Community.Code)
			}
		} else if city.Bureaus[0].Area.Contains(p) {
			t.Fatalf("%v lies in Yongzhou but in no community: a gap in the tiling", p)
		}
	}
	if inside < 5000 {
		t.Fatalf("only %d of 20,000 points fell inside the city", inside)
	}
}

// BenchmarkLocateDemoCity looks up points spread uniformly over the demo
// city's bounding box, about half of them inside Yongzhou: with the index,
// and with a scan of the areas' bounding boxes and polygons as a baseline.
func BenchmarkLocateDemoCity(b *testing.B) {
	city, ix := demoIndex(b)
	r := rand.New(rand.NewPCG(5, 6))
	box := ix.Bounds()
	pts := make([]zhufang.Point, 1<<16)
	for i := range pts {
		pts[i] = zhufang.Point{Lon: box.Min.Lon + r.Float64()*(box.Max.Lon-box.Min.Lon), Lat: box.Min.Lat + r.Float64()*(box.Max.Lat-box.Min.Lat)}
	}
	b.Run("index", func(b *testing.B) {
		i := 0
		for b.Loop() {
			ix.Locate(pts[i&(len(pts)-1)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("scan", func(b *testing.B) {
		boxes := make([]zhufang.Rect, len(city.Communities))
		for i, c := range city.Communities {
			boxes[i] = c.Area.Bounds()
		}
		i := 0
		for b.Loop() {
			p := pts[i&(len(pts)-1)]
			for k, c := range city.Communities {
				if boxes[k].Contains(p) && c.Area.Contains(p) {
					break
				}
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
}
