package demo

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"

	"zhufang"
)

// county is a county-level division as the data folder describes it.
type county struct {
	Code   string
	Name   string
	Center zhufang.Point        // WGS-84 seat of the county government
	Area   zhufang.MultiPolygon // WGS-84; nil for divisions without a boundary of their own
}

// township is a township-level division (street office, town or township).
type township struct {
	Code   string
	Name   string
	County string
}

// Old codes in the boundary file that the division lists no longer use.
var renamedCounties = map[string]string{"431121": "431181"} // 祁阳县 became 祁阳市 in 2021

// hostCounty names, for a division without a boundary of its own, the county
// whose ground it lies on: the development zone lies in Lengshuitan, the
// Huilongxu management area in Jiangyong.
var hostCounty = map[string]string{"431171": "431103", "431173": "431125"}

// loadData reads the Yongzhou boundaries and division lists from the
// yongzhou/ folder of fsys.
func loadData(fsys fs.FS) ([]*county, []*township, error) {
	bounds, err := loadBoundaries(fsys, "yongzhou/431100_full.json")
	if err != nil {
		return nil, nil, err
	}
	rows, err := readCSV(fsys, "yongzhou/counties.csv", 3)
	if err != nil {
		return nil, nil, err
	}
	counties, err := parseCounties(rows, bounds)
	if err != nil {
		return nil, nil, err
	}
	rows, err = readCSV(fsys, "yongzhou/townships.csv", 3)
	if err != nil {
		return nil, nil, err
	}
	towns, err := parseTownships(rows, counties)
	if err != nil {
		return nil, nil, err
	}
	return counties, towns, nil
}

// parseCounties checks the rows of counties.csv and gives each county its
// boundary, which it takes out of bounds.
func parseCounties(rows [][]string, bounds map[string]boundary) ([]*county, error) {
	var counties []*county
	for _, r := range rows {
		c := &county{Code: r[0], Name: r[1]}
		if err := zhufang.ValidateCountyCode(c.Code); err != nil {
			return nil, fmt.Errorf("counties.csv: %w", err)
		}
		if b, ok := bounds[c.Code]; ok {
			c.Center, c.Area = b.Center, b.Area
			delete(bounds, c.Code)
		} else if hostCounty[c.Code] == "" {
			return nil, fmt.Errorf("county %s %s has no boundary and no host county", c.Code, c.Name)
		}
		counties = append(counties, c)
	}
	for code := range bounds {
		return nil, fmt.Errorf("boundary file has county %s that counties.csv does not list", code)
	}
	return counties, nil
}

// parseTownships checks the rows of townships.csv against the counties.
func parseTownships(rows [][]string, counties []*county) ([]*township, error) {
	known := map[string]bool{}
	for _, c := range counties {
		known[c.Code] = true
	}
	var towns []*township
	for _, r := range rows {
		t := &township{Code: r[0], Name: r[1], County: r[2]}
		if err := zhufang.ValidateTownshipCode(t.Code, t.County); err != nil {
			return nil, fmt.Errorf("townships.csv: %w", err)
		}
		if !known[t.County] {
			return nil, fmt.Errorf("townships.csv: township %s lies in unknown county %s", t.Code, t.County)
		}
		towns = append(towns, t)
	}
	return towns, nil
}

// readCSV reads the CSV file name of fsys, with a header and width columns
// a row.
func readCSV(fsys fs.FS, name string, width int) ([][]string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("demo data: %w", err)
	}
	defer f.Close()
	return parseCSV(f, name, width)
}

// parseCSV reads CSV with a header and width columns a row; name is the
// file's, for messages.
func parseCSV(in io.Reader, name string, width int) ([][]string, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = width
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("%s: no header: %w", name, err)
	}
	var rows [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rows = append(rows, rec)
	}
}

type boundary struct {
	Center zhufang.Point
	Area   zhufang.MultiPolygon
}

// loadBoundaries reads the GeoJSON county boundaries, converting their
// GCJ-02 coordinates to WGS-84 and old codes to current ones.
func loadBoundaries(fsys fs.FS, name string) (map[string]boundary, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("demo data: %w", err)
	}
	out, err := parseBoundaries(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// parseBoundaries reads a GeoJSON FeatureCollection of county MultiPolygons.
func parseBoundaries(b []byte) (map[string]boundary, error) {
	var fc struct {
		Features []struct {
			Properties struct {
				Adcode json.Number `json:"adcode"`
				Center [2]float64  `json:"center"`
			} `json:"properties"`
			Geometry struct {
				Type        string           `json:"type"`
				Coordinates [][][][2]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		return nil, fmt.Errorf("not GeoJSON: %w", err)
	}
	out := map[string]boundary{}
	for _, f := range fc.Features {
		code := f.Properties.Adcode.String()
		if _, err := strconv.Atoi(code); err != nil {
			return nil, fmt.Errorf("adcode %q is not a number", code)
		}
		if nc, ok := renamedCounties[code]; ok {
			code = nc
		}
		if f.Geometry.Type != "MultiPolygon" {
			return nil, fmt.Errorf("county %s is a %s, want MultiPolygon", code, f.Geometry.Type)
		}
		var area zhufang.MultiPolygon
		for _, p := range f.Geometry.Coordinates {
			var poly zhufang.Polygon
			for _, r := range p {
				ring := make(zhufang.Ring, len(r))
				for i, c := range r {
					ring[i] = zhufang.GCJ02ToWGS84(zhufang.Point{Lon: c[0], Lat: c[1]})
				}
				poly = append(poly, ring)
			}
			area = append(area, poly)
		}
		if err := area.Validate(); err != nil {
			return nil, fmt.Errorf("county %s: %w", code, err)
		}
		c := zhufang.Point{Lon: f.Properties.Center[0], Lat: f.Properties.Center[1]}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("county %s: centre: %w", code, err)
		}
		if _, dup := out[code]; dup {
			return nil, fmt.Errorf("county %s appears twice", code)
		}
		out[code] = boundary{Center: zhufang.GCJ02ToWGS84(c), Area: area}
	}
	return out, nil
}
