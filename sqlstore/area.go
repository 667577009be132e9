package sqlstore

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"zhufang"
)

// encodeArea writes an area as GeoJSON MultiPolygon coordinates. Written by
// hand because the demo stores tens of thousands of polygons and a
// per-position MarshalJSON call would dominate the import.
func encodeArea(m zhufang.MultiPolygon) any {
	if m == nil {
		return nil
	}
	b := make([]byte, 0, 64)
	b = append(b, '[')
	for i, p := range m {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, r := range p {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for k, pt := range r {
				if k > 0 {
					b = append(b, ',')
				}
				b = append(b, '[')
				b = strconv.AppendFloat(b, pt.Lon, 'f', -1, 64)
				b = append(b, ',')
				b = strconv.AppendFloat(b, pt.Lat, 'f', -1, 64)
				b = append(b, ']')
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	b = append(b, ']')
	return string(b)
}

// decodeArea reads what encodeArea wrote.
func decodeArea(s []byte) (zhufang.MultiPolygon, error) {
	if len(s) == 0 {
		return nil, nil
	}
	var raw [][][][2]float64
	if err := json.Unmarshal(s, &raw); err != nil {
		return nil, fmt.Errorf("stored area is not GeoJSON MultiPolygon coordinates: %w", err)
	}
	m := make(zhufang.MultiPolygon, len(raw))
	for i, p := range raw {
		m[i] = make(zhufang.Polygon, len(p))
		for j, r := range p {
			ring := make(zhufang.Ring, len(r))
			for k, pt := range r {
				ring[k] = zhufang.Point{Lon: pt[0], Lat: pt[1]}
			}
			m[i][j] = ring
		}
	}
	return m, nil
}

// areaColumn scans a nullable area column.
type areaColumn struct{ m *zhufang.MultiPolygon }

// Scan decodes the column's GeoJSON coordinates.
func (a areaColumn) Scan(v any) error {
	var b []byte
	switch v := v.(type) {
	case nil:
		*a.m = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("area column holds %T", v)
	}
	m, err := decodeArea(b)
	*a.m = m
	return err
}

// timeColumn scans a timestamp stored as TEXT (SQLite) or TIMESTAMPTZ
// (PostgreSQL).
type timeColumn struct{ t *time.Time }

const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// Scan reads either engine's timestamp.
func (c timeColumn) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		*c.t = v.UTC()
		return nil
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	case nil:
		*c.t = time.Time{}
		return nil
	}
	return fmt.Errorf("time column holds %T", v)
}

func (c timeColumn) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("stored time %q: %w", s, err)
	}
	*c.t = t.UTC()
	return nil
}

// timeArg turns a time into the engine's column value.
func (db *DB) timeArg(t time.Time) driver.Value {
	if db.engine == SQLite {
		return t.UTC().Format(sqliteTimeLayout)
	}
	return t.UTC()
}

// nullID stores 0 as NULL for an optional reference.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
