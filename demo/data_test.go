package demo

import "testing"

func TestLoadData(t *testing.T) {
	counties, towns, err := loadData("../../shared/data/yongzhou")
	if err != nil {
		t.Fatal(err)
	}
	if len(counties) != 13 || len(towns) != 195 {
		t.Fatalf("got %d counties and %d townships, want 13 and 195", len(counties), len(towns))
	}
	var withArea int
	var km2 float64
	for _, c := range counties {
		if c.Code == "431121" {
			t.Error("Qiyang kept its pre-2021 code 431121")
		}
		if c.Area != nil {
			withArea++
			km2 += c.Area.AreaKm2()
			if !c.Area.Contains(c.Center) {
				t.Errorf("county %s %s: seat %v is outside its boundary", c.Code, c.Name, c.Center)
			}
		}
	}
	if withArea != 11 {
		t.Errorf("%d counties have a boundary, want 11", withArea)
	}
	if km2 < 22000 || km2 > 22700 {
		t.Errorf("Yongzhou covers %.0f km², want about 22,340", km2)
	}
}

// FuzzParseBoundaries feeds arbitrary bytes to the boundary reader: it
// returns an error or counties whose areas validate, and never panics.
func FuzzParseBoundaries(f *testing.F) {
	f.Add([]byte(`{"features":[{"properties":{"adcode":431102,"center":[111.6,26.2]},"geometry":{"type":"MultiPolygon","coordinates":[[[[111,26],[112,26],[112,27],[111,26]]]]}}]}`))
	f.Add([]byte(`{"features":[{"properties":{"adcode":"x"},"geometry":{"type":"Point"}}]}`))
	f.Add([]byte(`{"features":[{"properties":{"adcode":1,"center":[500,0]},"geometry":{"type":"MultiPolygon","coordinates":[]}}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := parseBoundaries(b)
		if err != nil {
			return
		}
		for code, c := range out {
			if err := c.Area.Validate(); err != nil {
				t.Fatalf("county %s accepted with an invalid area: %v", code, err)
			}
			if err := c.Center.Validate(); err != nil {
				t.Fatalf("county %s accepted with an invalid centre: %v", code, err)
			}
		}
	})
}
