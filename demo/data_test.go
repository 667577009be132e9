package demo

import (
	"io/fs"
	"maps"
	"strings"
	"testing"

	"zhufang"
	"zhufang/data"
)

func TestLoadData(t *testing.T) {
	counties, towns, err := loadData(data.FS)
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

// FuzzParseCSV feeds arbitrary counties.csv and townships.csv text to the
// readers, against the real boundary file: they return an error or
// counties and townships whose codes validate, each township in a listed
// county, and never panic.
func FuzzParseCSV(f *testing.F) {
	counties, err := fs.ReadFile(data.FS, "yongzhou/counties.csv")
	if err != nil {
		f.Fatal(err)
	}
	towns, err := fs.ReadFile(data.FS, "yongzhou/townships.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(counties), string(towns))
	f.Add("code,name,parent\n431102,零陵区,431100\n", "code,name,county\n431102001,七里店街道,431102\n")
	f.Add("code,name,parent\n431102,零陵区\n", "")
	f.Add("code,name,parent\n\"431102,x,y\n", "code,name,county\n43110X001,坏,431102\n")
	f.Add("", "code,name,county\n431199001,外,431199\n")
	bounds, err := loadBoundaries(data.FS, "yongzhou/431100_full.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, countiesCSV, townsCSV string) {
		rows, err := parseCSV(strings.NewReader(countiesCSV), "counties.csv", 3)
		if err != nil {
			return
		}
		cs, err := parseCounties(rows, maps.Clone(bounds))
		if err != nil {
			return
		}
		known := map[string]bool{}
		for _, c := range cs {
			if zhufang.ValidateCountyCode(c.Code) != nil {
				t.Fatalf("county code %q accepted", c.Code)
			}
			known[c.Code] = true
		}
		rows, err = parseCSV(strings.NewReader(townsCSV), "townships.csv", 3)
		if err != nil {
			return
		}
		ts, err := parseTownships(rows, cs)
		if err != nil {
			return
		}
		for _, tw := range ts {
			if zhufang.ValidateTownshipCode(tw.Code, tw.County) != nil || !known[tw.County] {
				t.Fatalf("township %+v accepted", tw)
			}
		}
	})
}
