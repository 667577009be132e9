package zhufang

import "math"

// Chinese web maps publish coordinates in GCJ-02, a WGS-84 position moved by
// an obfuscating offset of a few hundred metres. zhufang stores WGS-84 and
// converts only where data or maps cross that edge.

const (
	gcjA  = 6378245.0              // semi-major axis of the Krasovsky 1940 ellipsoid
	gcjEE = 0.00669342162296594323 // its eccentricity squared
)

// outsideChina reports whether the offset does not apply to p.
func outsideChina(p Point) bool {
	return p.Lon < 72.004 || p.Lon > 137.8347 || p.Lat < 0.8293 || p.Lat > 55.8271
}

// WGS84ToGCJ02 applies the GCJ-02 offset to a WGS-84 position.
func WGS84ToGCJ02(p Point) Point {
	if outsideChina(p) {
		return p
	}
	dLat := gcjLat(p.Lon-105, p.Lat-35)
	dLon := gcjLon(p.Lon-105, p.Lat-35)
	rad := p.Lat / 180 * math.Pi
	magic := math.Sin(rad)
	magic = 1 - gcjEE*magic*magic
	sq := math.Sqrt(magic)
	dLat = (dLat * 180) / ((gcjA * (1 - gcjEE)) / (magic * sq) * math.Pi)
	dLon = (dLon * 180) / (gcjA / sq * math.Cos(rad) * math.Pi)
	return Point{Lon: p.Lon + dLon, Lat: p.Lat + dLat}
}

// GCJ02ToWGS84 removes the GCJ-02 offset. The offset has no closed-form
// inverse; a few fixed-point steps bring the round trip under 1e-9 degrees
// (about 0.1 mm).
func GCJ02ToWGS84(g Point) Point {
	if outsideChina(g) {
		return g
	}
	w := g
	for range 30 {
		f := WGS84ToGCJ02(w)
		dLon, dLat := f.Lon-g.Lon, f.Lat-g.Lat
		w.Lon -= dLon
		w.Lat -= dLat
		if math.Abs(dLon) < 1e-10 && math.Abs(dLat) < 1e-10 {
			break
		}
	}
	return w
}

func gcjLat(x, y float64) float64 {
	r := -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	r += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	r += (20*math.Sin(y*math.Pi) + 40*math.Sin(y/3*math.Pi)) * 2 / 3
	r += (160*math.Sin(y/12*math.Pi) + 320*math.Sin(y*math.Pi/30)) * 2 / 3
	return r
}

func gcjLon(x, y float64) float64 {
	r := 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	r += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	r += (20*math.Sin(x*math.Pi) + 40*math.Sin(x/3*math.Pi)) * 2 / 3
	r += (150*math.Sin(x/12*math.Pi) + 300*math.Sin(x/30*math.Pi)) * 2 / 3
	return r
}
