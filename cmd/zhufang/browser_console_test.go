package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// tileServer is a PGIS stand-in: it answers every /tiles/Z/X/Y.png with a
// small PNG and counts what was asked.
type tileServer struct {
	*httptest.Server
	mu   sync.Mutex
	asks map[string]int // "z/x/y" → requests
}

func newTileServer(t *testing.T) *tileServer {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for i := range img.Pix {
		img.Pix[i] = []uint8{0xd8, 0xe4, 0xd0, 0xff}[i%4]
	}
	for i := 0; i < 256; i++ { // a frame, to see the tiles' seams
		img.Set(i, 0, color.Black)
		img.Set(0, i, color.Black)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	ts := &tileServer{asks: map[string]int{}}
	path := regexp.MustCompile(`^/tiles/(\d+/\d+/\d+)\.png$`)
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := path.FindStringSubmatch(r.URL.Path)
		if m == nil {
			http.NotFound(w, r)
			return
		}
		ts.mu.Lock()
		ts.asks[m[1]]++
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "image/png")
		w.Write(b.Bytes())
	}))
	t.Cleanup(ts.Close)
	return ts
}

// asked reports how often a tile was requested.
func (ts *tileServer) asked(tile string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.asks[tile]
}

// shots saves a screenshot under $ZHUFANG_SCREENSHOTS when it is set, as
// well as among the test's artifacts.
func shots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	screenshot(t, ctx, name)
	dir := os.Getenv("ZHUFANG_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png := get(t, ctx, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// browserSignIn signs a user in through the sign-in page.
func browserSignIn(t *testing.T, ctx context.Context, base, username, password string) {
	t.Helper()
	do(t, ctx, "sign in as "+username,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(css("#username")),
		chromedp.SendKeys(css("#username"), username),
		chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("header nav")),
	)
}

// mapTile is a base-map image as the page placed it.
type mapTile struct {
	Tile       string
	X, Y, W, H float64
}

// TestConsolePagesInBrowser drives the pages around the board in
// Chromium. A station chief's station page follows events live (a new
// call appears without a reload), offers periods, shows compliance as
// right-aligned percentages with counts, and is captured in Chinese and
// English at 1920×1080; pages that do not follow events show no live
// badge; the unit page gives positions to five decimals and marks the
// station tab; the favicon is served. A dispatcher's map draws the base
// map of a tile server: the tiles of the view at the zoom of the screen,
// each placed where its GCJ-02 bounds fall on the WGS-84 map, again after
// zooming; incident markers keep their size at every zoom; the posture
// legend stays on screen. A community officer's zoom list offers only
// their community.
func TestConsolePagesInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	tiles := newTileServer(t)
	dsn := sqltest.DSN(t, sqlstore.SQLite)
	base, stop := startServe(t, append(demoArgs(t, dsn), "--tiles", tiles.URL+"/tiles/{z}/{x}/{y}.png")...)
	defer stop()
	signIn(t, base, dsn, "api", zhufang.RoleDispatcher)
	here, there := zhufang.Point{Lon: 111.6015, Lat: 26.4372}, zhufang.Point{Lon: 112.2, Lat: 25.9}
	car, carToken := patrolCarNear(t, base, dsn, here)
	var loc struct {
		Jurisdiction zhufang.Jurisdiction `json:"jurisdiction"`
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%f&lat=%f", base, here.Lon, here.Lat), &loc)
	st, community := loc.Jurisdiction.Station.ID, loc.Jurisdiction.Community.ID
	const password = "browser console password"
	pw := writeFile(t, t.TempDir(), "pw", password+"\n")
	for _, u := range [][]string{
		{"chief1", "station_chief", "--scope", "station", "--org", fmt.Sprint(st)},
		{"disp1", "dispatcher", "--scope", "city"},
		{"comm1", "community_officer", "--scope", "community", "--org", fmt.Sprint(community)},
		{"admin1", "admin", "--scope", "city"},
	} {
		args := append([]string{"user", "add", "--db", dsn, "--name", "测试 " + u[0], "--role", u[1], "--password-file", pw}, u[2:]...)
		if err := run(context.Background(), append(args, u[0]), func(string) string { return "" }, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}

	// The station chief's home is the station page, live.
	browserSignIn(t, ctx, base, "chief1", password)
	do(t, ctx, "the station page, live", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#station-page")),
		chromedp.WaitVisible(css(`#live[data-state="on"]`)))
	if cur := get(t, ctx, chromedp.Evaluate[string](`document.querySelector("header nav a[aria-current]").getAttribute("href")`)); cur != fmt.Sprintf("/stations/%d", st) {
		t.Errorf("on the station page the nav marks %q", cur)
	}
	do(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.stayed = true`))
	id := takeCall(t, base, here, "200100", "梅湾路8号", "两人争吵")
	do(t, ctx, "the new call appears on the station page", chromedp.WaitVisible(css(fmt.Sprintf("#station-rows #inc-%d", id))))
	// The car is sent and acknowledges: the 1-minute stage is clocked, and
	// the row follows without a reload.
	var as struct{ ID int64 }
	if code := postJSON(t, fmt.Sprintf("%s/api/v1/incidents/%d/assignments", base, id), fmt.Sprintf(`{"unit_id":%d}`, car), &as); code != http.StatusCreated {
		t.Fatalf("assign: %d", code)
	}
	if code, body := postAuth(t, fmt.Sprintf("%s/api/v1/assignments/%d/transitions", base, as.ID), carToken, `{"to":"acknowledged"}`); code != http.StatusOK {
		t.Fatalf("acknowledge: %d %s", code, body)
	}
	do(t, ctx, "the acknowledged call's clock stops on the station page", chromedp.WaitVisible(css(fmt.Sprintf("#station-rows #inc-%d td.clock.met", id))))
	if !get(t, ctx, chromedp.Evaluate[bool](`window.stayed === true`)) {
		t.Error("the station page reloaded instead of updating in place")
	}

	// Periods: the last 7 days, with compliance as percentages and counts,
	// right-aligned under right-aligned headers.
	do(t, ctx, "last 7 days", chromedp.Click(css("#period-7d")), chromedp.WaitVisible(css(`#period-7d[aria-current]`)))
	cells := get(t, ctx, chromedp.Evaluate[[]string](`Array.prototype.map.call(document.querySelectorAll("table.compliance td.n, table.compliance th.n"),
		function (c) { return getComputedStyle(c).textAlign + " " + c.textContent; })`))
	if len(cells) < 8 {
		t.Fatalf("the compliance table has %d numeric cells: %q", len(cells), cells)
	}
	rate := regexp.MustCompile(`^right (\d+% \(\d+/\d+\)|—|[0-9,]+|\S+)$`)
	var rates int
	for _, c := range cells {
		if !rate.MatchString(c) {
			t.Errorf("compliance cell %q is not right-aligned", c)
		}
		if strings.Contains(c, "%") {
			rates++
		}
	}
	if rates == 0 {
		t.Errorf("no compliance cell is a percentage: %q", cells)
	}
	// A chosen range.
	do(t, ctx, "a date range", chromedp.Evaluate[chromedp.Void](`(function () {
		var d = new Date(Date.now() + 8 * 3600e3 - 86400e3).toISOString().slice(0, 10);
		document.getElementById("period-from").value = d;
		document.getElementById("period-to").value = d;
		})()`), chromedp.Click(css("#period-apply")), chromedp.WaitVisible(css(`#period-apply[aria-current]`)))
	if u := get(t, ctx, chromedp.Location()); !strings.Contains(u, "period=range") {
		t.Errorf("after choosing a range the page is %s", u)
	}
	do(t, ctx, "back to 7 days", chromedp.Click(css("#period-7d")), chromedp.WaitVisible(css(`#period-7d[aria-current]`)))
	shots(t, ctx, "station-zh")
	do(t, ctx, "in English", chromedp.Click(css("#lang-switch")), chromedp.WaitVisible(css(`body[data-lang="en"] #station-page`)))
	shots(t, ctx, "station-en")
	do(t, ctx, "back to Chinese", chromedp.Click(css("#lang-switch")), chromedp.WaitVisible(css(`body[data-lang="zh"] #station-page`)))

	// A page that does not follow events has no live badge.
	do(t, ctx, "org page", chromedp.Navigate(base+"/org"), chromedp.WaitVisible(css("#main")))
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#live").length`)); n != 0 {
		t.Error("the org page, which does not follow events, shows the live badge")
	}
	// The unit page: positions to about a metre; the station tab marked.
	do(t, ctx, "unit page", chromedp.Navigate(fmt.Sprintf("%s/units/%d", base, car)), chromedp.WaitVisible(css("#unit-position")))
	if p := get(t, ctx, chromedp.Text(css("#unit-position"))); !regexp.MustCompile(`^1\d\d\.\d{5}, \d\d\.\d{5}$`).MatchString(p) {
		t.Errorf("the unit's position reads %q, want five decimals", p)
	}
	if cur := get(t, ctx, chromedp.Evaluate[string](`(document.querySelector("header nav a[aria-current]") || {getAttribute: function () { return ""; }}).getAttribute("href")`)); cur != fmt.Sprintf("/stations/%d", st) {
		t.Errorf("on the unit page the nav marks %q, want the unit's station", cur)
	}
	// The favicon.
	fav := get(t, ctx, chromedp.Evaluate[string](`fetch("/favicon.ico").then(function (r) { return r.status + " " + r.headers.get("Content-Type"); })`, chromedp.EvalAwaitPromise))
	link := get(t, ctx, chromedp.Evaluate[string](`document.querySelector("link[rel=icon]").getAttribute("href")`))
	if fav != "200 image/x-icon" || link == "" {
		t.Errorf("favicon: %q, linked as %q", fav, link)
	}
	do(t, ctx, "sign out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#username")))

	// The dispatcher's map with its base map.
	there1 := takeCall(t, base, there, "200100", "渔湾路1号", "两人争吵")
	browserSignIn(t, ctx, base, "disp1", password)
	do(t, ctx, "map", chromedp.Navigate(base+"/map"), chromedp.WaitVisible(css("#map")), chromedp.WaitReady(css("#basemap image")))
	// The map's projection, from two markers at known places.
	xy := func(id int64) [2]float64 {
		return get(t, ctx, chromedp.Evaluate[[2]float64](fmt.Sprintf(`(function () { var c = document.getElementById("mi-%d");
			return [Number(c.getAttribute("cx")), Number(c.getAttribute("cy"))]; })()`, id)))
	}
	a, b := xy(id), xy(there1)
	kx, ky := (b[0]-a[0])/(there.Lon-here.Lon), (b[1]-a[1])/(here.Lat-there.Lat)
	project := func(p zhufang.Point) (float64, float64) {
		return a[0] + (p.Lon-here.Lon)*kx, a[1] + (here.Lat-p.Lat)*ky
	}
	checkTiles := func(what string) {
		t.Helper()
		// Wait for the tiles of the current view.
		get(t, ctx, chromedp.Poll[bool](`(function () { var b = document.getElementById("basemap");
			return b.dataset.view && b.dataset.view.indexOf(document.getElementById("map").getAttribute("viewBox").split(" ").join(",") + "&") > 0; })()`))
		view := get(t, ctx, chromedp.Evaluate[struct {
			VB       [4]float64
			PxW, PxH float64
			Tiles    []mapTile
		}](`(function () { var m = document.getElementById("map"), r = m.getBoundingClientRect();
			return {VB: m.getAttribute("viewBox").split(" ").map(Number), PxW: Math.round(r.width), PxH: Math.round(r.height),
				Tiles: Array.prototype.map.call(document.querySelectorAll("#basemap image"), function (i) {
					return {Tile: i.dataset.tile, X: Number(i.getAttribute("x")), Y: Number(i.getAttribute("y")),
						W: Number(i.getAttribute("width")), H: Number(i.getAttribute("height"))}; })}; })()`))
		// The zoom whose tile pixels are nearest the screen's, and the
		// tiles that hold the view's corners in GCJ-02.
		s := max(view.VB[2]/view.PxW, view.VB[3]/view.PxH)
		z := int(math.Round(math.Log2(360 / (256 * s / kx))))
		cx, cy, w, h := view.VB[0]+view.VB[2]/2, view.VB[1]+view.VB[3]/2, view.PxW*s, view.PxH*s
		unproject := func(x, y float64) zhufang.Point {
			return zhufang.Point{Lon: here.Lon + (x-a[0])/kx, Lat: here.Lat - (y-a[1])/ky}
		}
		x0, y0, x1, y1 := math.MaxInt, math.MaxInt, -1, -1
		for _, c := range [][2]float64{{cx - w/2, cy - h/2}, {cx + w/2, cy - h/2}, {cx - w/2, cy + h/2}, {cx + w/2, cy + h/2}} {
			g := zhufang.WGS84ToGCJ02(unproject(c[0], c[1]))
			n := math.Exp2(float64(z))
			lat := g.Lat * math.Pi / 180
			tx, ty := int((g.Lon+180)/360*n), int((1-math.Log(math.Tan(lat)+1/math.Cos(lat))/math.Pi)/2*n)
			x0, y0, x1, y1 = min(x0, tx), min(y0, ty), max(x1, tx), max(y1, ty)
		}
		var want, got []string
		for ty := y0; ty <= y1; ty++ {
			for tx := x0; tx <= x1; tx++ {
				want = append(want, fmt.Sprintf("%d/%d/%d", z, tx, ty))
			}
		}
		for _, tl := range view.Tiles {
			got = append(got, tl.Tile)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Fatalf("%s: the map shows tiles %v, want %v (zoom %d)", what, got, want, z)
		}
		// Each where its GCJ-02 corners fall on the WGS-84 map, and asked
		// of the tile server.
		corner := func(z, x, y int) zhufang.Point {
			n := math.Exp2(float64(z))
			return zhufang.GCJ02ToWGS84(zhufang.Point{Lon: float64(x)/n*360 - 180, Lat: math.Atan(math.Sinh(math.Pi*(1-2*float64(y)/n))) * 180 / math.Pi})
		}
		for _, tl := range view.Tiles {
			var tz, tx, ty int
			fmt.Sscanf(tl.Tile, "%d/%d/%d", &tz, &tx, &ty)
			ax, ay := project(corner(tz, tx, ty))
			bx, by := project(corner(tz, tx+1, ty+1))
			tol := 0.5*s + 0.002*(bx-ax) // half a pixel, and the markers' rounding
			if math.Abs(tl.X-ax) > tol || math.Abs(tl.Y-ay) > tol || math.Abs(tl.W-(bx-ax)) > tol || math.Abs(tl.H-(by-ay)) > tol {
				t.Errorf("%s: tile %s at %.2f,%.2f %.2f×%.2f, want %.2f,%.2f %.2f×%.2f", what, tl.Tile, tl.X, tl.Y, tl.W, tl.H, ax, ay, bx-ax, by-ay)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, tl := range view.Tiles {
			for tiles.asked(tl.Tile) == 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if tiles.asked(tl.Tile) == 0 {
				t.Errorf("%s: the browser never asked the tile server for %s", what, tl.Tile)
			}
		}
		t.Logf("%s: %d tiles at zoom %d drawn and fetched", what, len(view.Tiles), z)
	}
	markerPx := func() float64 {
		return get(t, ctx, chromedp.Evaluate[float64](fmt.Sprintf(`document.getElementById("mi-%d").getBoundingClientRect().width`, id)))
	}
	checkTiles("the city")
	city := markerPx()
	do(t, ctx, "zoom in", chromedp.Click(css("#zoom-in")), chromedp.Click(css("#zoom-in")), chromedp.Click(css("#zoom-in")), chromedp.Click(css("#zoom-in")))
	checkTiles("zoomed in")
	near := markerPx()
	if city < 14 || near < 14 || math.Abs(city-near) > 2 {
		t.Errorf("an incident marker is %.1f px wide on the city and %.1f px zoomed in; want the same legible size", city, near)
	}
	// The posture legend stays on screen, inside the map.
	do(t, ctx, "posture on", chromedp.Click(css("#posture-toggle")), chromedp.WaitVisible(css(`#posture-legend[data-state="on"]`)))
	legendFits := func(what string) {
		t.Helper()
		do(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
		fits := get(t, ctx, chromedp.Evaluate[string](`(function () { var l = document.getElementById("posture-legend").getBoundingClientRect(),
			m = document.getElementById("map").getBoundingClientRect(), b = document.getElementById("live").getBoundingClientRect();
			var clear = b.right <= l.left || b.left >= l.right || b.bottom <= l.top || b.top >= l.bottom;
			return [l.top >= m.top, l.bottom <= Math.min(m.bottom, innerHeight) + 1, l.right <= innerWidth, l.left >= 0, m.bottom <= innerHeight + 1, clear].join(" "); })()`))
		if fits != "true true true true true true" {
			t.Errorf("%s: the posture legend or the map does not fit on screen (legend top, bottom, right, left inside, map bottom on screen, legend clear of the live badge: %s)", what, fits)
		}
	}
	legendFits("1920×1080")
	shots(t, ctx, "map-tiles-zh")
	// On a laptop's smaller screen, where the header takes more room.
	do(t, ctx, "a laptop screen", chromedp.EmulateViewport(1280, 720))
	legendFits("1280×720")
	shots(t, ctx, "map-laptop-zh")
	// And on a phone in the field, where the header wraps.
	do(t, ctx, "a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	legendFits("390×844")
	shots(t, ctx, "map-phone-legend-zh")
	do(t, ctx, "back to the command room", chromedp.EmulateViewport(1920, 1080))
	do(t, ctx, "posture off", chromedp.Click(css("#posture-toggle")))
	do(t, ctx, "sign out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#username")))

	// The community officer's zoom list: their community only.
	browserSignIn(t, ctx, base, "comm1", password)
	do(t, ctx, "officer's map", chromedp.Navigate(base+"/map"), chromedp.WaitVisible(css("#zoomto")))
	areas := get(t, ctx, chromedp.Evaluate[[]string](`Array.prototype.map.call(document.querySelectorAll("#zoomto option[data-area]"), function (o) { return o.dataset.area; })`))
	if want := []string{fmt.Sprintf("community-%d", community)}; !slices.Equal(areas, want) {
		t.Errorf("the community officer's zoom list offers %v, want %v", areas, want)
	}
	do(t, ctx, "sign out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#username")))

	// The administrator's users page, with a user just added.
	browserSignIn(t, ctx, base, "admin1", password)
	do(t, ctx, "users page", chromedp.Navigate(base+"/users"), chromedp.WaitVisible(css("#users")),
		chromedp.SendKeys(css("#add-username"), "wangfang"), chromedp.SendKeys(css("#add-name"), "王芳"),
		chromedp.Click(css("#add-submit")), chromedp.WaitVisible(css("#new-password")))
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#orgs option").length`)); n < 100 {
		t.Errorf("the org picker offers %d records", n)
	}
	shots(t, ctx, "users-zh")
}
