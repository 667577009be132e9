package dispatch

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"

	"zhufang"
)

// FuzzUpdate feeds the index arbitrary reports: any bits for longitude and
// latitude, times from a day and a half before to a day and a half after
// now, known and unknown units, in any order. No report may panic the
// index; each must be applied or refused as the model says; and Nearest
// must still agree with a scan of every unit.
func FuzzUpdate(f *testing.F) {
	report := func(id byte, lon, lat float64, dt int16) []byte {
		b := []byte{id}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(lon))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(lat))
		return binary.LittleEndian.AppendUint16(b, uint16(dt))
	}
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	f.Add(cat(report(1, 111.6, 26.4, -1), report(1, 111.7, 26.5, -1), report(1, 111.5, 26.3, -2)), 111.6, 26.4)
	f.Add(cat(report(2, 180, 90, 0), report(3, -180, -90, 0), report(4, math.NaN(), 0, 0)), 0.0, 0.0)
	f.Add(cat(report(5, 111.6, 26.4, 100), report(19, 111.6, 26.4, 0), report(6, 1e300, 26.4, 0)), 111.6, 91.0)
	f.Add(cat(report(7, 110.9, 24.6, -30000), report(8, 112.4, 26.9, 32767), report(9, 112.40001, 26.9, -3)), 112.4, 26.9)
	// Units on the equator, all a quarter of the planet from the pole: ties.
	f.Add(cat(report(9, 0, -90, 0), report(5, 10, 0, 0), report(8, 100, 0, 0)), -177.5, -90.0)
	f.Fuzz(func(t *testing.T, data []byte, qlon, qlat float64) {
		ix := newIndex(t, IndexOptions{Clock: zhufang.FixedClock(t0), CellMeters: 2000})
		m := newModel()
		for id := int64(1); id <= 16; id++ {
			u := mkUnit(id, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable)
			switch id % 4 {
			case 0: // no position
			case 1: // at home, never reported
				u.Position = zhufang.Point{Lon: 111 + float64(id)/10, Lat: 25 + float64(id)/10}
			default:
				u.Position, u.PositionAt = zhufang.Point{Lon: 111 + float64(id)/10, Lat: 26 - float64(id)/10}, t0.Add(-time.Duration(id)*time.Second)
			}
			if err := ix.Put(u); err != nil {
				t.Fatal(err)
			}
			m.put(u)
		}
		var points []zhufang.Point
		for i := 0; len(data) >= 19 && i < 64; i++ {
			r := zhufang.PositionReport{
				UnitID: 1 + int64(data[0]%20), // 17..20 are unknown
				Point: zhufang.Point{Lon: math.Float64frombits(binary.LittleEndian.Uint64(data[1:])),
					Lat: math.Float64frombits(binary.LittleEndian.Uint64(data[9:]))},
				At: t0.Add(time.Duration(int16(binary.LittleEndian.Uint16(data[17:]))) * 4 * time.Second),
			}
			data = data[19:]
			applied, err := ix.Update(r)
			switch {
			case r.Validate(t0) != nil || r.Point.IsZero():
				if zhufang.ErrorCode(err) != zhufang.EINVALID || applied {
					t.Fatalf("Update(%+v) of an invalid report = %v, %v", r, applied, err)
				}
			case m.units[r.UnitID] == nil:
				if zhufang.ErrorCode(err) != zhufang.ENOTFOUND || applied {
					t.Fatalf("Update(%+v) for an unknown unit = %v, %v", r, applied, err)
				}
			default:
				// The index judges a report dated ahead of its clock at
				// the clock's time (PositionReport.Clamp); so does the model.
				mr := r
				mr.Clamp(t0)
				if want := m.update(mr); err != nil || applied != want {
					t.Fatalf("Update(%+v) = %v, %v; want %v", r, applied, err, want)
				}
				points = append(points, r.Point)
			}
		}
		q := zhufang.Point{Lon: qlon, Lat: qlat}
		if q.Validate() == nil {
			points = append(points, q)
		} else if got := ix.Nearest(q, 3, nil); got != nil {
			t.Fatalf("Nearest of an invalid point %v gave %v", q, ids(got))
		}
		for i, p := range points {
			k := 1 + i%16
			checkNearest(t, fmt.Sprintf("Nearest(%v, %d)", p, k), m, ix.Nearest(p, k, nil), m.nearest(p, t0, DefaultStaleAfter, nil), k)
		}
	})
}
