package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"zhufang"
)

// approx absorbs the rounding of the projection's own arithmetic.
var approx = cmpopts.EquateApprox(0, 1e-9)

// pt is a short way to write a position.
func pt(lon, lat float64) zhufang.Point { return zhufang.Point{Lon: lon, Lat: lat} }

// ring closes the given positions into a ring.
func ring(ps ...zhufang.Point) zhufang.Ring { return append(zhufang.Ring(ps), ps[0]) }

func TestProjectionCorners(t *testing.T) {
	// Lengshuitan-sized box: wider than tall once longitude is shrunk.
	const minLon, minLat, maxLon, maxLat, width = 111.3, 26.1, 111.9, 26.6, 1000.0
	p := newProjection(minLon, minLat, maxLon, maxLat, width)
	m := width * mapMargin
	tests := []struct {
		name string
		in   zhufang.Point
		want [2]float64
	}{
		{"north-west", pt(minLon, maxLat), [2]float64{m, m}},
		{"north-east", pt(maxLon, maxLat), [2]float64{width - m, m}},
		{"south-west", pt(minLon, minLat), [2]float64{m, p.H - m}},
		{"south-east", pt(maxLon, minLat), [2]float64{width - m, p.H - m}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, y := p.XY(tt.in)
			if diff := cmp.Diff(tt.want, [2]float64{x, y}, approx); diff != "" {
				t.Errorf("XY(%v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
	t.Run("aspect ratio", func(t *testing.T) {
		c := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
		want := (width - 2*m) * (maxLat - minLat) / ((maxLon - minLon) * c)
		if diff := cmp.Diff(want, p.H-2*m, approx); diff != "" {
			t.Errorf("drawn height (-want +got):\n%s", diff)
		}
	})
}

func TestProjectionNorthUp(t *testing.T) {
	p := newProjection(111.3, 26.1, 111.9, 26.6, 1000)
	tests := []struct {
		name         string
		from, to     zhufang.Point
		wantX, wantY int // sign of the change in x and y
	}{
		{"north is up", pt(111.5, 26.2), pt(111.5, 26.3), 0, -1},
		{"east is right", pt(111.5, 26.2), pt(111.6, 26.2), 1, 0},
		{"south-west is down-left", pt(111.5, 26.2), pt(111.4, 26.1), -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x0, y0 := p.XY(tt.from)
			x1, y1 := p.XY(tt.to)
			got := [2]int{sign(x1 - x0), sign(y1 - y0)}
			if diff := cmp.Diff([2]int{tt.wantX, tt.wantY}, got); diff != "" {
				t.Errorf("direction of (dx, dy) (-want +got):\n%s", diff)
			}
		})
	}
}

// sign returns -1, 0 or 1.
func sign(v float64) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func TestProjectionDegenerate(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name                           string
		minLon, minLat, maxLon, maxLat float64
	}{
		{"one point", 111.6, 26.4, 111.6, 26.4},
		{"north-south line", 111.6, 26.1, 111.6, 26.6},
		{"east-west line", 111.3, 26.4, 111.9, 26.4},
		{"empty area's bounds", inf, inf, -inf, -inf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProjection(tt.minLon, tt.minLat, tt.maxLon, tt.maxLat, 1000)
			x, y := p.XY(pt(tt.minLon, tt.maxLat))
			if !allFinite(p.Lon0, p.Lat0, p.KX, p.KY, p.W, p.H) || p.KX <= 0 || p.KY <= 0 {
				t.Errorf("newProjection = %+v, want finite positive scales", p)
			}
			if allFinite(tt.minLon) && !allFinite(x, y) {
				t.Errorf("XY of a corner = (%g, %g), want finite", x, y)
			}
		})
	}
}

func TestProjectionViewBox(t *testing.T) {
	// At the equator a degree is as wide as it is tall, so the height is
	// easy to work out: 960 units for 10°, 2 × 96 + 2 × 20 for 2°.
	p := newProjection(0, -1, 10, 1, 1000)
	if diff := cmp.Diff("0 0 1000 232", p.ViewBox()); diff != "" {
		t.Errorf("ViewBox (-want +got):\n%s", diff)
	}
}

// TestProjectionXY1 checks the rounding every position sent to the
// browser gets: to the nearest 0.1 of XY, so the page's markers and the
// live updates that move them agree to the digit.
func TestProjectionXY1(t *testing.T) {
	p := newProjection(111.3, 26.1, 111.9, 26.6, 1000)
	tests := []struct {
		name string
		in   zhufang.Point
	}{
		{"corner", pt(111.3, 26.6)},
		{"inside", pt(111.6123456, 26.3987654)},
		{"outside the bounds", pt(112.5, 25.5)},
		{"west of the map", pt(110.9, 26.3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, y := p.XY(tt.in)
			x1, y1 := p.XY1(tt.in)
			want := [2]string{strconv.FormatFloat(x, 'f', 1, 64), strconv.FormatFloat(y, 'f', 1, 64)}
			got := [2]string{strconv.FormatFloat(x1, 'f', -1, 64), strconv.FormatFloat(y1, 'f', -1, 64)}
			for i := range want {
				want[i] = strings.TrimSuffix(want[i], ".0")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("XY1(%v) written shortest vs XY written to one decimal (-want +got):\n%s", tt.in, diff)
			}
			if math.Abs(x1-x) > 0.05+1e-9 || math.Abs(y1-y) > 0.05+1e-9 {
				t.Errorf("XY1(%v) = (%g, %g), more than 0.05 from XY's (%g, %g)", tt.in, x1, y1, x, y)
			}
		})
	}
}

func TestSVGPath(t *testing.T) {
	// At the equator with 10° across 960 units: x = 20 + 96·lon and
	// y = 20 + 96·(1 - lat), so lon 2..8 → x 212..788 and lat -0.5..0.5
	// → y 164..68.
	p := newProjection(0, -1, 10, 1, 1000)
	square := ring(pt(2, -0.5), pt(8, -0.5), pt(8, 0.5), pt(2, 0.5))
	const squareD = "M212 164L788 164L788 68L212 68Z"
	hole := ring(pt(4, -0.25), pt(4, 0.25), pt(6, 0.25), pt(6, -0.25))
	const holeD = "M404 140L404 92L596 92L596 140Z"
	tests := []struct {
		name      string
		m         zhufang.MultiPolygon
		tolerance float64
		want      string
		rings     int
	}{
		{"empty", nil, 1, "", 0},
		{"empty polygon", zhufang.MultiPolygon{{}}, 1, "", 0},
		{"square keeps its corners", zhufang.MultiPolygon{{square}}, 1, squareD, 1},
		{"square keeps its corners at zero tolerance", zhufang.MultiPolygon{{square}}, 0, squareD, 1},
		{"collinear points dropped", zhufang.MultiPolygon{{ring(
			pt(2, -0.5), pt(3, -0.5), pt(5, -0.5), pt(8, -0.5),
			pt(8, 0), pt(8, 0.5), pt(5, 0.5), pt(2, 0.5), pt(2, 0),
		)}}, 0, squareD, 1},
		{"bump under tolerance dropped", zhufang.MultiPolygon{{ring(
			pt(2, -0.5), pt(5, -0.505), pt(8, -0.5), pt(8, 0.5), pt(2, 0.5),
		)}}, 1, squareD, 1},
		{"bump over tolerance kept", zhufang.MultiPolygon{{ring(
			pt(2, -0.5), pt(5, -0.505), pt(8, -0.5), pt(8, 0.5), pt(2, 0.5),
		)}}, 0.1, "M212 164L500 164.5L788 164L788 68L212 68Z", 1},
		{"unclosed ring closed", zhufang.MultiPolygon{{square[:4]}}, 1, squareD, 1},
		{"negative coordinates need no space", zhufang.MultiPolygon{{ring(
			pt(2, 1.5), pt(8, 1.5), pt(8, 2), pt(2, 2),
		)}}, 1, "M212-28L788-28L788-76L212-76Z", 1},
		{"collinear ring dropped", zhufang.MultiPolygon{{ring(pt(2, 0), pt(5, 0), pt(8, 0))}, {square}}, 1, squareD, 1},
		{"ring of two positions dropped", zhufang.MultiPolygon{{zhufang.Ring{pt(2, 0), pt(5, 0), pt(2, 0)}}}, 1, "", 0},
		{"ring under tolerance dropped", zhufang.MultiPolygon{{square}, {ring(pt(5, 0), pt(5.001, 0), pt(5.001, 0.001))}}, 1, squareD, 1},
		{"ring merged by rounding dropped", zhufang.MultiPolygon{{ring(pt(5, 0), pt(5.0001, 0), pt(5.0001, 0.0001))}}, 0, "", 0},
		{"hole kept", zhufang.MultiPolygon{{square, hole}}, 1, squareD + holeD, 2},
		{"collapsed hole dropped", zhufang.MultiPolygon{{square, ring(pt(5, 0), pt(5.001, 0), pt(5.001, 0.001))}}, 1, squareD, 1},
		{"holes dropped with their outer ring", zhufang.MultiPolygon{{ring(pt(2, 0), pt(5, 0), pt(8, 0)), hole}}, 1, "", 0},
		{"exclaves", zhufang.MultiPolygon{{square}, {hole}}, 1, squareD + holeD, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := svgPath(p, tt.m, tt.tolerance)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("svgPath (-want +got):\n%s", diff)
			}
			rings, err := parsePath(got)
			if err != nil {
				t.Fatalf("parsePath(%q): %v", got, err)
			}
			if diff := cmp.Diff(tt.rings, len(rings)); diff != "" {
				t.Errorf("rings parsed back (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSVGPathParsesBack(t *testing.T) {
	p := newProjection(111.3, 26.1, 111.9, 26.6, 1000)
	tests := []struct {
		name      string
		m         zhufang.MultiPolygon
		tolerance float64
	}{
		{"fine circle", zhufang.MultiPolygon{{circle(111.6, 26.35, 0.2, 3000)}}, 0.1},
		{"coarse circle", zhufang.MultiPolygon{{circle(111.6, 26.35, 0.2, 3000)}}, 5},
		{"county with a lake and an exclave", zhufang.MultiPolygon{
			{circle(111.6, 26.35, 0.2, 800), circle(111.6, 26.35, 0.05, 200)},
			{circle(111.35, 26.15, 0.03, 100)},
		}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := svgPath(p, tt.m, tt.tolerance)
			rings, err := parsePath(d)
			if err != nil {
				t.Fatalf("parsePath: %v", err)
			}
			want := 0
			for _, poly := range tt.m {
				want += len(poly)
			}
			if diff := cmp.Diff(want, len(rings)); diff != "" {
				t.Errorf("ring count (-want +got):\n%s", diff)
			}
			for i, r := range rings {
				if len(r) < 3 {
					t.Errorf("ring %d has %d points, want at least 3", i, len(r))
				}
			}
		})
	}
}

func TestBBoxAttr(t *testing.T) {
	p := newProjection(0, -1, 10, 1, 1000)
	tests := []struct {
		name string
		m    zhufang.MultiPolygon
		want string
	}{
		{"empty", nil, ""},
		{"square", zhufang.MultiPolygon{{ring(pt(2, -0.5), pt(8, -0.5), pt(8, 0.5), pt(2, 0.5))}}, "212,68,576,96"},
		{"rounded outwards", zhufang.MultiPolygon{{ring(pt(2.0001, -0.4999), pt(7.9999, -0.4999), pt(7.9999, 0.4999), pt(2.0001, 0.4999))}}, "212,68,576,96"},
		{"two polygons", zhufang.MultiPolygon{
			{ring(pt(2, -0.5), pt(3, -0.5), pt(3, 0), pt(2, 0))},
			{ring(pt(7, 0), pt(8, 0), pt(8, 0.5), pt(7, 0.5))},
		}, "212,68,576,96"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, bboxAttr(p, tt.m)); diff != "" {
				t.Errorf("bboxAttr (-want +got):\n%s", diff)
			}
		})
	}
}

// circle returns a closed ring of n positions around (lon, lat), wobbling
// like a surveyed boundary so simplification has real work to do.
func circle(lon, lat, r float64, n int) zhufang.Ring {
	out := make(zhufang.Ring, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		w := r * (1 + 0.05*math.Sin(17*a) + 0.01*math.Sin(131*a))
		out = append(out, pt(lon+w*math.Cos(a), lat+w*math.Sin(a)))
	}
	return append(out, out[0])
}

// parsePath reads back the subset of SVG path syntax svgPath writes —
// absolute M, L and Z with plain decimals — and fails on anything else, so
// the test also guards the output's shape.
func parsePath(d string) ([][][2]float64, error) {
	var rings [][][2]float64
	var cur [][2]float64
	i := 0
	number := func() (float64, error) {
		j := i
		if j < len(d) && d[j] == '-' {
			j++
		}
		for j < len(d) && (d[j] >= '0' && d[j] <= '9' || d[j] == '.') {
			j++
		}
		v, err := strconv.ParseFloat(d[i:j], 64)
		if err != nil {
			return 0, fmt.Errorf("at %d: %w", i, err)
		}
		i = j
		return v, nil
	}
	for i < len(d) {
		c := d[i]
		i++
		switch c {
		case 'M', 'L':
			if (c == 'M') != (cur == nil) {
				return nil, fmt.Errorf("at %d: %c out of place", i-1, c)
			}
			x, err := number()
			if err != nil {
				return nil, err
			}
			if i < len(d) && d[i] == ' ' {
				i++
			}
			y, err := number()
			if err != nil {
				return nil, err
			}
			cur = append(cur, [2]float64{x, y})
		case 'Z':
			if cur == nil {
				return nil, fmt.Errorf("at %d: Z without M", i-1)
			}
			rings = append(rings, cur)
			cur = nil
		default:
			return nil, fmt.Errorf("at %d: unexpected %q", i-1, c)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("last ring not closed with Z")
	}
	return rings, nil
}

func BenchmarkSVGPath(b *testing.B) {
	p := newProjection(111.3, 26.1, 111.9, 26.6, 1000)
	m := zhufang.MultiPolygon{{circle(111.6, 26.35, 0.2, 5000)}}
	for b.Loop() {
		svgPath(p, m, 0.5)
	}
}
