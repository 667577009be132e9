package web

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"zhufang"
)

// TestParseTileTemplate checks which tile URL templates --tiles takes.
func TestParseTileTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, in, origin string
	}{
		{"plain", "https://pgis.example/tiles/{z}/{x}/{y}.png", "https://pgis.example"},
		{"port and query", "http://10.1.2.3:8080/wmts?layer=vec&z={z}&x={x}&y={y}", "http://10.1.2.3:8080"},
		{"order free", "http://pgis/{y}/{x}/{z}", "http://pgis"},
		{"no z", "https://pgis.example/tiles/{x}/{y}.png", ""},
		{"two x", "https://pgis.example/{z}/{x}/{x}/{y}.png", ""},
		{"other brace", "https://pgis.example/{s}/{z}/{x}/{y}.png", ""},
		{"credentials", "https://user:secret@pgis.example/{z}/{x}/{y}.png", ""},
		{"script", "javascript:alert(1)//{z}{x}{y}", ""},
		{"no host", "https:///{z}/{x}/{y}", ""},
		{"relative", "/tiles/{z}/{x}/{y}.png", ""},
		{"quote", `https://pgis.example/{z}/{x}/{y}.png"onload="x`, ""},
		{"space", "https://pgis.example/{z}/{x}/{y} .png", ""},
		{"fragment", "https://pgis.example/{z}/{x}/{y}.png#a", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := ParseTileTemplate(tc.in)
			if tc.origin == "" {
				if zhufang.ErrorCode(err) != zhufang.EINVALID {
					t.Fatalf("ParseTileTemplate(%q) = %+v, %v; want EINVALID", tc.in, ts, err)
				}
				return
			}
			if err != nil || ts.Origin != tc.origin || !ts.GCJ02 {
				t.Fatalf("ParseTileTemplate(%q) = %+v, %v; want origin %s, GCJ-02", tc.in, ts, err, tc.origin)
			}
		})
	}
}

// FuzzTileTemplate checks that any template is taken or refused as
// invalid, and one taken fills in to an http(s) URL of its origin with
// nothing left to fill.
func FuzzTileTemplate(f *testing.F) {
	f.Add("https://pgis.example/tiles/{z}/{x}/{y}.png")
	f.Add("http://10.1.2.3:8080/wmts?z={z}&x={x}&y={y}")
	f.Add("http://a@b/{z}{x}{y}")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTileTemplate(s)
		if err != nil {
			if zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		u := ts.tileURL(12, 3300, 1700)
		if !strings.HasPrefix(u, ts.Origin+"/") && u != ts.Origin && !strings.HasPrefix(u, ts.Origin+"?") {
			t.Fatalf("tile URL %q is not on origin %q", u, ts.Origin)
		}
		if strings.ContainsAny(u, "{}\"'<> ") {
			t.Fatalf("tile URL %q holds a character it may not", u)
		}
	})
}

// FuzzTileView checks that any view query is read or refused, and one
// read is finite and bounded.
func FuzzTileView(f *testing.F) {
	f.Add("0,0,1600,1200", "1880,980")
	f.Add("1e308,0,1,1", "1,1")
	f.Add("NaN,0,1,1", "1,1")
	f.Fuzz(func(t *testing.T, view, px string) {
		v, err := parseTileView(view, px)
		if err != nil {
			if zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		for _, x := range []float64{v.X, v.Y, v.W, v.H, v.PxW, v.PxH} {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("view %+v is not finite", v)
			}
		}
		if v.W <= 0 || v.H <= 0 || v.W > 10*mapWidth || v.PxW < 1 || v.PxW > 10000 {
			t.Fatalf("view %+v is out of bounds", v)
		}
	})
}

// TestTilesFor checks the tiles a view draws: the zoom whose pixels match
// the screen's, the tiles that cover the view, and each placed where its
// ground lies: a WGS-84 position drawn on the map falls, inside the tile
// holding its GCJ-02 position, where the tile shows that position.
func TestTilesFor(t *testing.T) {
	p := newProjection(111.0, 25.5, 112.5, 26.8, mapWidth) // about Yongzhou
	ts, err := ParseTileTemplate("https://pgis.example/{z}/{x}/{y}.png")
	if err != nil {
		t.Fatal(err)
	}
	here := zhufang.Point{Lon: 111.6015, Lat: 26.4372}
	hx, hy := p.XY(here)
	for _, tc := range []struct {
		name  string
		units float64 // map units per pixel
		z     int
	}{
		{"city", p.W / 1600, 9},
		{"county", p.W / 1600 / 8, 12},
		{"street", p.W / 1600 / 256, 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tileView{X: hx - 800*tc.units, Y: hy - 450*tc.units, W: 1600 * tc.units, H: 900 * tc.units, PxW: 1600, PxH: 900}
			tiles := ts.tilesFor(p, v)
			if len(tiles) == 0 || len(tiles) > maxTiles {
				t.Fatalf("%d tiles", len(tiles))
			}
			if z := tiles[0].Z; z < tc.z-1 || z > tc.z+1 {
				t.Fatalf("zoom %d, want about %d", z, tc.z)
			}
			z := tiles[0].Z
			// Tile pixels near screen pixels: a 256-pixel tile spans
			// 128 to 512 screen pixels.
			if px := tiles[0].MW / tc.units; px < 128 || px > 512 {
				t.Errorf("a tile spans %.0f screen pixels", px)
			}
			g := zhufang.WGS84ToGCJ02(here)
			fx, fy := tileXY(g, z)
			var found bool
			for _, tl := range tiles {
				if tl.X != int(fx) || tl.Y != int(fy) {
					continue
				}
				found = true
				if !strings.HasSuffix(tl.URL, "/"+tl.String()+".png") {
					t.Errorf("tile %s has URL %s", tl, tl.URL)
				}
				// Where the tile shows the point, to a tenth of a pixel
				// (linear within a tile: Mercator bends under 0.1 px there).
				sx, sy := tl.MX+(fx-float64(tl.X))*tl.MW, tl.MY+(fy-float64(tl.Y))*tl.MH
				if dx, dy := (sx-hx)/tc.units, (sy-hy)/tc.units; math.Hypot(dx, dy) > 0.5 {
					t.Errorf("tile %s shows the point %.2f, %.2f pixels from where the map draws it", tl, dx, dy)
				}
				// And the offset matters: unshifted, the tile would be
				// off by the GCJ-02 offset, hundreds of metres.
				ux, _ := p.XY(tileCorner(z, tl.X, tl.Y))
				if math.Abs(ux-tl.MX)/tc.units < 1 && tc.name != "city" {
					t.Errorf("tile %s is placed as if it had no GCJ-02 offset", tl)
				}
			}
			if !found {
				t.Fatalf("no tile holds the view's centre")
			}
			// The tiles cover the whole view.
			for _, c := range [][2]float64{{v.X, v.Y}, {v.X + v.W, v.Y + v.H}, {v.X + v.W, v.Y}, {v.X, v.Y + v.H}} {
				in := false
				for _, tl := range tiles {
					if c[0] >= tl.MX && c[0] <= tl.MX+tl.MW && c[1] >= tl.MY && c[1] <= tl.MY+tl.MH {
						in = true
					}
				}
				if !in {
					t.Errorf("the view's corner %.1f, %.1f lies on no tile", c[0], c[1])
				}
			}
		})
	}
}

// TestTilesCSP checks that images may come from the tile server's origin
// only when one is configured.
func TestTilesCSP(t *testing.T) {
	for _, tc := range []struct {
		name, tiles, want string
	}{
		{"none", "", "img-src 'self' data:;"},
		{"pgis", "http://10.1.2.3:8080/t/{z}/{x}/{y}.png", "img-src 'self' data: http://10.1.2.3:8080;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{}
			if tc.tiles != "" {
				var err error
				if s.Tiles, err = ParseTileTemplate(tc.tiles); err != nil {
					t.Fatal(err)
				}
			}
			h, err := s.Handler()
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, tc.want) {
				t.Errorf("CSP %q lacks %q", csp, tc.want)
			}
		})
	}
}
