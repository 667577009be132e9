package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"zhufang"
)

// Police intranets run their own map servers (PGIS) that serve XYZ tiles in
// Web Mercator. Those in China almost always draw GCJ-02: a tile's corners
// are GCJ-02 coordinates. Everything zhufang holds is WGS-84, so rather than
// shift every position, boundary and unit into GCJ-02 (and back, wherever a
// position comes in), the map moves the pictures: each tile's corners are
// taken from GCJ-02 to WGS-84 and projected like any other position. Over
// one tile the offset changes by well under a metre, so placing each tile
// as a rectangle through its two converted corners is exact to a pixel.

// TileSource is a base-map tile server, from --tiles.
type TileSource struct {
	// Template is the tile URL with {z}, {x} and {y}, as
	// https://pgis.example/tiles/{z}/{x}/{y}.png.
	Template string
	// Origin is the server's scheme://host[:port], the one origin the
	// content security policy lets images come from.
	Origin string
	// GCJ02 says the tiles are drawn in GCJ-02 (the Chinese default);
	// false for tiles in WGS-84.
	GCJ02 bool
}

// maxTileZoom is the deepest zoom asked of a tile server.
const maxTileZoom = 18

// maxTiles bounds the tiles one view draws; a view needing more is drawn a
// zoom level coarser.
const maxTiles = 120

// ParseTileTemplate checks a tile URL template: an http or https URL with
// a host, no credentials (every browser would see them), and each of {z},
// {x} and {y} exactly once and no other braces.
func ParseTileTemplate(s string) (*TileSource, error) {
	bad := func(why string) (*TileSource, error) {
		return nil, zhufang.Errorf(zhufang.EINVALID, "tile URL template %s; give one like https://pgis.example/tiles/{z}/{x}/{y}.png", why)
	}
	if len(s) > 500 {
		return bad("is longer than 500 characters")
	}
	for _, ph := range []string{"{z}", "{x}", "{y}"} {
		if strings.Count(s, ph) != 1 {
			return bad("must hold " + ph + " exactly once")
		}
	}
	filled := strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(s)
	if strings.ContainsAny(filled, "{}\"'<>\\` ") {
		return bad("holds a character a URL may not")
	}
	for _, r := range filled {
		if r < 0x21 || r == 0x7f {
			return bad("holds a control character or space")
		}
	}
	u, err := url.Parse(filled)
	if err != nil {
		return bad("is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return bad("must be an http:// or https:// URL with a host")
	}
	if u.User != nil {
		return bad("must not hold a user name or password")
	}
	if u.Port() != "" {
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
			return bad("has a bad port")
		}
	}
	if u.Fragment != "" {
		return bad("must not hold a #fragment")
	}
	origin := u.Scheme + "://" + u.Host
	// The origin is what the CSP admits: a placeholder in the host would
	// put every tile on an origin of its own.
	if len(s) < len(origin) || !strings.EqualFold(s[:len(origin)], origin) || len(s) > len(origin) && s[len(origin)] != '/' && s[len(origin)] != '?' {
		return bad("must keep {z}, {x} and {y} out of the host and port")
	}
	return &TileSource{Template: s, Origin: origin, GCJ02: true}, nil
}

// tileURL is the URL of one tile.
func (t *TileSource) tileURL(z, x, y int) string {
	return strings.NewReplacer("{z}", strconv.Itoa(z), "{x}", strconv.Itoa(x), "{y}", strconv.Itoa(y)).Replace(t.Template)
}

// tilePlace is one tile as the map draws it: its URL and its rectangle in
// map units.
type tilePlace struct {
	Z, X, Y int
	URL     string
	MX, MY  float64 // top-left, map units
	MW, MH  float64
}

// tileView is what the browser shows: the viewBox (map units) and the
// size of the svg element on screen (CSS pixels).
type tileView struct {
	X, Y, W, H float64
	PxW, PxH   float64
}

// parseTileView reads /map/tiles?view=x,y,w,h&px=w,h. Every number must
// be finite, sizes positive and bounded, so that no view asks for more
// than the map is.
func parseTileView(view, px string) (tileView, error) {
	var v tileView
	bad := zhufang.Errorf(zhufang.EINVALID, "view must be x,y,w,h in map units and px the map's w,h in pixels")
	nums := func(s string, n int) ([]float64, bool) {
		f := strings.Split(s, ",")
		if len(s) > 200 || len(f) != n {
			return nil, false
		}
		out := make([]float64, n)
		for i, p := range f {
			x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e6 {
				return nil, false
			}
			out[i] = x
		}
		return out, true
	}
	a, ok1 := nums(view, 4)
	b, ok2 := nums(px, 2)
	if !ok1 || !ok2 {
		return v, bad
	}
	v = tileView{X: a[0], Y: a[1], W: a[2], H: a[3], PxW: b[0], PxH: b[1]}
	if !(v.W > 0.01 && v.H > 0.01 && v.W <= 10*mapWidth && v.H <= 10*mapWidth && v.PxW >= 1 && v.PxH >= 1 && v.PxW <= 10000 && v.PxH <= 10000) {
		return v, bad
	}
	return v, nil
}

// lonLat is the WGS-84 position at map units (x, y): XY's inverse.
func (p projection) lonLat(x, y float64) zhufang.Point {
	return zhufang.Point{Lon: p.Lon0 + x/p.KX, Lat: p.Lat0 - y/p.KY}
}

// tilesFor lists the tiles that cover a view, at the zoom whose pixels
// are closest to the screen's, each placed where its ground lies on the
// map: its GCJ-02 corners taken to WGS-84 and projected.
func (t *TileSource) tilesFor(p projection, v tileView) []tilePlace {
	// The svg shows its viewBox whole ("meet"), centred, with the rest of
	// the longer side shown too.
	s := max(v.W/v.PxW, v.H/v.PxH) // map units per pixel
	cx, cy := v.X+v.W/2, v.Y+v.H/2
	w, h := v.PxW*s, v.PxH*s
	degPerPx := s / p.KX
	z := int(math.Round(math.Log2(360 / (256 * degPerPx))))
	z = min(max(z, 0), maxTileZoom)
	var corners [4]zhufang.Point
	for i, c := range [4][2]float64{{cx - w/2, cy - h/2}, {cx + w/2, cy - h/2}, {cx - w/2, cy + h/2}, {cx + w/2, cy + h/2}} {
		corners[i] = t.toTiles(p.lonLat(c[0], c[1]))
	}
	for ; z >= 0; z-- {
		x0, y0, x1, y1 := tileRange(corners, z)
		if (x1-x0+1)*(y1-y0+1) > maxTiles && z > 0 {
			continue
		}
		out := make([]tilePlace, 0, (x1-x0+1)*(y1-y0+1))
		for ty := y0; ty <= y1; ty++ {
			for tx := x0; tx <= x1; tx++ {
				nw := t.fromTiles(tileCorner(z, tx, ty))
				se := t.fromTiles(tileCorner(z, tx+1, ty+1))
				ax, ay := p.XY(nw)
				bx, by := p.XY(se)
				out = append(out, tilePlace{Z: z, X: tx, Y: ty, URL: t.tileURL(z, tx, ty), MX: ax, MY: ay, MW: bx - ax, MH: by - ay})
			}
		}
		return out
	}
	return nil
}

// toTiles takes a WGS-84 position to the tiles' datum; fromTiles back.
func (t *TileSource) toTiles(p zhufang.Point) zhufang.Point {
	if t.GCJ02 {
		return zhufang.WGS84ToGCJ02(p)
	}
	return p
}

func (t *TileSource) fromTiles(p zhufang.Point) zhufang.Point {
	if t.GCJ02 {
		return zhufang.GCJ02ToWGS84(p)
	}
	return p
}

// tileRange is the span of tiles at zoom z that holds every corner,
// clamped to the world.
func tileRange(corners [4]zhufang.Point, z int) (x0, y0, x1, y1 int) {
	n := 1 << z
	x0, y0, x1, y1 = n, n, -1, -1
	for _, c := range corners {
		fx, fy := tileXY(c, z)
		x, y := min(max(int(math.Floor(fx)), 0), n-1), min(max(int(math.Floor(fy)), 0), n-1)
		x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
	}
	return x0, y0, x1, y1
}

// tileXY is where a position falls in the Web Mercator tile grid of zoom
// z, in tiles (the integer part names the tile).
func tileXY(p zhufang.Point, z int) (x, y float64) {
	n := float64(int(1) << z)
	lat := min(max(p.Lat, -85.05112878), 85.05112878) * math.Pi / 180
	return (p.Lon + 180) / 360 * n, (1 - math.Log(math.Tan(lat)+1/math.Cos(lat))/math.Pi) / 2 * n
}

// tileCorner is the north-west corner of tile (x, y) at zoom z.
func tileCorner(z, x, y int) zhufang.Point {
	n := float64(int(1) << z)
	return zhufang.Point{Lon: float64(x)/n*360 - 180, Lat: math.Atan(math.Sinh(math.Pi*(1-2*float64(y)/n))) * 180 / math.Pi}
}

// mapTiles draws the base-map tiles of the browser's view as SVG images
// placed in map units, for the map's script to put under everything else.
// Without a tile server it is a 404.
func (s *Server) mapTiles(w http.ResponseWriter, r *http.Request) error {
	if s.Tiles == nil {
		return zhufang.Errorf(zhufang.ENOTFOUND, "no tile server is configured (serve --tiles)")
	}
	c, err := s.city(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v, err := parseTileView(q.Get("view"), q.Get("px"))
	if err != nil {
		return err
	}
	p := s.newPage(r, "", "", s.Tiles.tilesFor(c.proj, v))
	return s.render(w, p.Lang, "map-tiles", p)
}

// String names a tile for a test's message.
func (t tilePlace) String() string { return fmt.Sprintf("%d/%d/%d", t.Z, t.X, t.Y) }
