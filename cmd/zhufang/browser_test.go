package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// chromium finds Debian's Chromium. scripts/test installs it; in CI a
// missing browser fails the test, elsewhere it skips with the reason.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; scripts/services.sh installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed; run scripts/test, which installs it")
	return ""
}

// artifacts is where browser tests leave their screenshots:
// $ZHUFANG_ARTIFACTS, or artifacts/ at the top of the repository.
func artifacts(t *testing.T) string {
	dir := os.Getenv("ZHUFANG_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts a headless Chromium with a 1920×1080 window, a fresh
// profile and no background traffic.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1920, 1080),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1920, 1080)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// do runs browser steps, each wait bounded, and fails the test on error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one browser action that returns a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// screenshot saves the viewport as a PNG artifact.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	do(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	png := get(t, ctx, chromedp.CaptureScreenshot())
	path := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d KB)", path, len(png)>>10)
}

type css = chromedp.CSS

// TestConsoleInBrowser drives the console in Chromium as a dispatcher
// would: sign in; a 110 call taken elsewhere appears on the board without a
// reload, in the server's order, its countdown coloured at the instants the
// server gives; pick it and send the first recommended unit by pressing 1;
// the unit's device acknowledges and the 1-minute clock stops, met; a new
// call appears on the map and leaves it when cancelled; switch to English.
// The map's posture layer (快反部署) draws the hour's plan and is
// remembered across pages. A community officer's live map cannot draw
// another community's incident. Screenshots of the board, map and incident
// page are saved in both languages, and of the incident and map on a phone.
func TestConsoleInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	dsn := sqltest.DSN(t, sqlstore.SQLite)
	base, stop := startServe(t, demoArgs(t, dsn)...)
	defer stop()
	// The API session takes calls and plays the units' devices; the browser
	// signs in as its own dispatcher.
	signIn(t, base, dsn, "api", zhufang.RoleDispatcher)
	if err := run(context.Background(), []string{"user", "add", "--db", dsn, "--name", "接警员 张丽", "--role", "dispatcher",
		"--scope", "city", "--password-file", writeFile(t, t.TempDir(), "pw", "browser password 1\n"), "zhangli"},
		func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	car, carToken := patrolCarNear(t, base, dsn, zhufang.Point{Lon: 111.6015, Lat: 26.4372})
	var others []int64
	for i, p := range []zhufang.Point{{Lon: 111.6300, Lat: 26.4100}, {Lon: 111.5800, Lat: 26.4500}, {Lon: 111.6200, Lat: 26.4200}} {
		others = append(others, takeCall(t, base, p, []string{"200100", "100100", "300100"}[i], fmt.Sprintf("芝山路%d号", 10+i), "两人发生口角"))
	}

	// Sign in.
	do(t, ctx, "sign in",
		chromedp.Navigate(base+"/board"),
		chromedp.WaitVisible(css("#username")),
		chromedp.SendKeys(css("#username"), "zhangli"),
		chromedp.SendKeys(css("#password"), "browser password 1"),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#incidents")),
	)
	if url := get(t, ctx, chromedp.Location()); !strings.HasSuffix(url, "/board") {
		t.Fatalf("after sign-in at %s, want the board", url)
	}
	do(t, ctx, "the live connection opens", chromedp.WaitVisible(css(`#live[data-state="on"]`)))

	// A new call appears on the board without a reload. The markup in its
	// text must stay text.
	id := takeCall(t, base, zhufang.Point{Lon: 111.6015, Lat: 26.4372}, "200100", "梅湾路<script>document.title='pwned'</script>",
		`有人打架<img src=x onerror="document.title='pwned'">`)
	row := fmt.Sprintf(`#inc-%d`, id)
	do(t, ctx, "the new incident appears on the board", chromedp.WaitVisible(css(row)))
	title := get(t, ctx, chromedp.Title())
	place := get(t, ctx, chromedp.Text(css(row+` td.place`)))
	if strings.Contains(title, "pwned") || !strings.Contains(place, "<script>") {
		t.Fatalf("a script in the address ran or was parsed: title %q, place cell %q", title, place)
	}
	// The board keeps the server's order (data-sort) as rows come.
	sorted := get(t, ctx, chromedp.Evaluate[bool](`(function () {
		var rows = Array.prototype.slice.call(document.querySelectorAll("#incident-rows tr"));
		return rows.length > 1 && rows.every(function (r, i) { return i === 0 || rows[i - 1].dataset.sort <= r.dataset.sort; });
	})()`))
	if !sorted {
		t.Fatal("the board's rows are not in the order of their keys after a new one came")
	}
	// Its countdowns turn amber and red at the instants the server gives
	// (data-amber, data-due): moved into the past for a moment, then back.
	colours := get(t, ctx, chromedp.Evaluate[string](fmt.Sprintf(`new Promise(function (done) {
		var c = document.querySelector("%s td.clock"), amber = c.dataset.amber, due = c.dataset.due, seen = [];
		var colour = function () { return ["green", "amber", "red"].filter(function (k) { return c.classList.contains(k); }).join("+"); };
		seen.push(colour());
		c.dataset.amber = new Date(Date.now() - 60000).toISOString();
		setTimeout(function () {
			seen.push(colour());
			c.dataset.due = new Date(Date.now() - 1000).toISOString();
			setTimeout(function () {
				seen.push(colour() + " " + c.textContent);
				c.dataset.amber = amber;
				c.dataset.due = due;
				setTimeout(function () { seen.push(colour()); done(seen.join(", ")); }, 700);
			}, 700);
		}, 700);
	})`, row), chromedp.EvalAwaitPromise))
	if !regexp.MustCompile(`^green, amber, red -00:0[0-9], green$`).MatchString(colours) {
		t.Fatalf("the new incident's first clock went %q, want green, amber, red (overdue), green", colours)
	}
	screenshot(t, ctx, "board-zh")

	// Pick it and send the first recommended unit with the keyboard.
	do(t, ctx, "pick the incident", chromedp.Click(css(row+` a.sel`)), chromedp.WaitVisible(css(`#assign-1`)))
	do(t, ctx, "assign by keyboard",
		chromedp.KeyEvent("1"),
		chromedp.WaitVisible(css(`ul.assigned`)),
	)
	var as struct{ Assignments []zhufang.Assignment }
	getJSON(t, fmt.Sprintf("%s/api/v1/incidents/%d/assignments", base, id), &as)
	if len(as.Assignments) != 1 || as.Assignments[0].UnitID != car {
		t.Fatalf("assignments after pressing 1: %+v, want the patrol car %d", as.Assignments, car)
	}
	if cls := get(t, ctx, chromedp.AttributeValue(css(row+` td.clock`), "class")); strings.Contains(cls.Value, "met") {
		t.Fatalf("the 1-minute clock stopped before anyone acknowledged: %q", cls.Value)
	}
	// The car's device acknowledges: the clock stops, met, without a reload.
	step := fmt.Sprintf("%s/api/v1/assignments/%d/transitions", base, as.Assignments[0].ID)
	if code, body := postAuth(t, step, carToken, `{"to":"acknowledged"}`); code != 200 {
		t.Fatalf("acknowledge: %d %s", code, body)
	}
	do(t, ctx, "the 1-minute clock stops after the unit acknowledges", chromedp.WaitVisible(css(row+` td.clock.met`)))
	text1 := get(t, ctx, chromedp.Text(css(row+` td.clock.met`)))
	do(t, ctx, "wait", chromedp.Sleep(1500*time.Millisecond))
	if text2 := get(t, ctx, chromedp.Text(css(row+` td.clock.met`))); text1 != text2 {
		t.Fatalf("a stopped clock still counts: %q then %q", text1, text2)
	}
	screenshot(t, ctx, "board-selected-zh")

	// The map and the incident page, in Chinese.
	do(t, ctx, "map", chromedp.Navigate(base+"/map"), chromedp.WaitVisible(css("#map")), chromedp.WaitVisible(css(`#live[data-state="on"]`)))
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#incidents circle").length`)); n < 4 {
		t.Fatalf("the map shows %d incidents, want at least 4", n)
	}
	// A new call appears on the map without a reload, drawn by the server;
	// the markup in its address stays text. Cancelled, it goes.
	fresh := takeCall(t, base, zhufang.Point{Lon: 111.6100, Lat: 26.4300}, "200100", "零陵路<script>document.title='pwned'</script>", "两人争吵")
	marker := fmt.Sprintf("#mi-%d", fresh)
	do(t, ctx, "the new incident appears on the map", chromedp.WaitReady(css(marker)))
	drawnAs := get(t, ctx, chromedp.Evaluate[string](fmt.Sprintf(`(function () {
		var c = document.querySelector("%s"), b = c.getBBox(), vb = document.getElementById("map").viewBox.baseVal;
		var inside = b.x > vb.x && b.y > vb.y && b.x < vb.x + vb.width && b.y < vb.y + vb.height;
		return [c.namespaceURI, c.parentNode.getAttribute("href"), c.getAttribute("class"), inside, c.querySelector("title").textContent].join(" | ");
	})()`, marker)))
	if title := get(t, ctx, chromedp.Title()); strings.Contains(title, "pwned") ||
		!strings.HasPrefix(drawnAs, fmt.Sprintf("http://www.w3.org/2000/svg | /incidents/%d | inc lane-street urg-green | true | ", fresh)) ||
		!strings.Contains(drawnAs, "零陵路<script>") {
		t.Fatalf("the new incident's marker: %q (page title %q)", drawnAs, title)
	}
	if code := postJSON(t, fmt.Sprintf("%s/api/v1/incidents/%d/transitions", base, fresh), `{"to":"cancelled","note":"测试：地图标记"}`, nil); code != 200 {
		t.Fatalf("cancel the map's new incident: %d", code)
	}
	do(t, ctx, "the cancelled incident leaves the map", chromedp.WaitNotPresent(css(marker)))
	screenshot(t, ctx, "map-zh")

	// The posture layer. The template city's history is older than the 28
	// days the planner learns from, so street incidents of yesterday, this
	// hour, give it demand: away from the one car reporting live, so that
	// some of it is out of reach now.
	yesterday := time.Now().Add(-24 * time.Hour)
	for i, p := range []zhufang.Point{{Lon: 111.6400, Lat: 26.4050}, {Lon: 111.6420, Lat: 26.4070}, {Lon: 111.5900, Lat: 26.4420}, {Lon: 111.6100, Lat: 26.4550}} {
		past := takePastCall(t, base, p, yesterday.Add(time.Duration(i)*time.Minute), fmt.Sprintf("零陵北路%d号", 20+i))
		// Off the map, as yesterday's incidents would be; still history.
		if code := postJSON(t, fmt.Sprintf("%s/api/v1/incidents/%d/transitions", base, past), `{"to":"cancelled","note":"测试：补录的历史警情"}`, nil); code != 200 {
			t.Fatalf("cancel past call: %d", code)
		}
	}
	do(t, ctx, "posture layer",
		chromedp.Navigate(base+"/map"),
		chromedp.WaitVisible(css("#posture-toggle")),
		chromedp.Click(css("#posture-toggle")),
		chromedp.WaitVisible(css(`#posture-legend[data-state="on"]`)),
	)
	drawn := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#posture .posture-post, #posture .posture-cell").length`))
	summary := get(t, ctx, chromedp.Text(css("#posture-summary")))
	if drawn == 0 || !strings.HasPrefix(summary, "本小时预计街面警情 ") || strings.Contains(summary, "{") {
		t.Fatalf("the posture layer drew %d posts and cells, summary %q", drawn, summary)
	}
	t.Logf("posture: %d posts and cells; %s", drawn, summary)
	titles := get(t, ctx, chromedp.Evaluate[[]string](`Array.prototype.map.call(document.querySelectorAll("#posture title"), function (e) { return e.textContent; })`))
	for _, title := range titles {
		if title == "" || strings.ContainsAny(title, "{%") {
			t.Fatalf("a posture cell or post is titled %q", title)
		}
	}
	// Zoom to the plan through the zoom-to list, given the plan's extent
	// as one more choice (its values are "x,y,w,h" boxes in map units).
	do(t, ctx, "zoom to the plan", chromedp.Evaluate[chromedp.Void](`(function () {
		var b = document.getElementById("posture").getBBox(), s = document.getElementById("zoomto");
		var o = document.createElement("option");
		o.value = [b.x - 20, b.y - 20, b.width + 40, b.height + 40].join(",");
		o.text = "快反部署";
		s.appendChild(o);
		s.value = o.value;
		s.dispatchEvent(new Event("change"));
	})()`))
	screenshot(t, ctx, "map-posture-zh")
	do(t, ctx, "posture layer off and on again",
		chromedp.Click(css("#posture-toggle")),
		chromedp.WaitNotVisible(css("#posture-legend")),
	)
	if n := get(t, ctx, chromedp.Evaluate[int](`document.getElementById("posture").childElementCount`)); n != 0 {
		t.Fatalf("the posture layer still holds %d groups when switched off", n)
	}
	do(t, ctx, "posture layer on again", chromedp.Click(css("#posture-toggle")), chromedp.WaitVisible(css(`#posture-legend[data-state="on"]`)))
	do(t, ctx, "incident page", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", base, id)), chromedp.WaitVisible(css("#timeline")))
	title = get(t, ctx, chromedp.Title())
	if desc := get(t, ctx, chromedp.Text(css("#incident-description"))); strings.Contains(title, "pwned") || !strings.Contains(desc, "<img") {
		t.Fatalf("markup in the description was not inert: title %q, description %q", title, desc)
	}
	screenshot(t, ctx, "incident-zh")

	// Switch to English: every page follows.
	do(t, ctx, "switch language", chromedp.Click(css("#lang-switch")), chromedp.WaitVisible(css(`body[data-lang="en"] #timeline`)))
	if h := get(t, ctx, chromedp.Text(css("h2"))); h != "The 1-3-5 clock" {
		t.Fatalf("after switching language the incident page says %q, want English", h)
	}
	screenshot(t, ctx, "incident-en")
	do(t, ctx, "English board", chromedp.Navigate(fmt.Sprintf("%s/board?sel=%d", base, id)), chromedp.WaitVisible(css("#incidents")))
	if h := get(t, ctx, chromedp.Text(css(".queue h1"))); !strings.HasPrefix(h, "Open incidents") {
		t.Fatalf("English board heading %q", h)
	}
	screenshot(t, ctx, "board-en")
	do(t, ctx, "English map", chromedp.Navigate(base+"/map"), chromedp.WaitVisible(css("#map")))
	// The posture layer stays on across pages, now in English.
	do(t, ctx, "the posture layer is remembered", chromedp.WaitVisible(css(`#posture-legend[data-state="on"]`)))
	if summary := get(t, ctx, chromedp.Text(css("#posture-summary"))); !strings.HasPrefix(summary, "Expected street incidents this hour ") {
		t.Fatalf("English posture summary %q", summary)
	}
	screenshot(t, ctx, "map-en")

	// The community officer of the incident's community, on a phone: the
	// incident page in one column; another community's incident is not there.
	var loc struct {
		Jurisdiction zhufang.Jurisdiction `json:"jurisdiction"`
	}
	getJSON(t, base+"/api/v1/locate?lon=111.6015&lat=26.4372", &loc)
	if err := run(context.Background(), []string{"user", "add", "--db", dsn, "--name", "社区民警 陈静", "--role", "community_officer",
		"--scope", "community", "--org", fmt.Sprint(loc.Jurisdiction.Community.ID), "--lang", "zh",
		"--password-file", writeFile(t, t.TempDir(), "pw", "officer password 1\n"), "chenjing"},
		func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "sign out, sign in as the officer on a phone",
		chromedp.Click(css("#logout")),
		chromedp.WaitVisible(css("#username")),
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.SendKeys(css("#username"), "chenjing"),
		chromedp.SendKeys(css("#password"), "officer password 1"),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#incidents")),
		chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", base, id)),
		chromedp.WaitVisible(css("#timeline")),
	)
	screenshot(t, ctx, "incident-phone-zh")
	var other int64
	for _, o := range others {
		var inc struct {
			CommunityID int64 `json:"community_id"`
		}
		getJSON(t, fmt.Sprintf("%s/api/v1/incidents/%d", base, o), &inc)
		if inc.CommunityID != loc.Jurisdiction.Community.ID {
			other = o
		}
	}
	if other == 0 {
		t.Fatal("every incident is in the officer's community; the test needs one outside it")
	}
	do(t, ctx, "another community's incident", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", base, other)),
		chromedp.WaitVisible(css(".error-message")))
	if msg := get(t, ctx, chromedp.Text(css(".error-message"))); !strings.Contains(msg, "不存在") { // in the officer's Chinese
		t.Fatalf("the officer opening another community's incident saw %q, want it not to exist", msg)
	}
	// Nor can the live map draw it: its marker is a 404, the own one not.
	status := func(path string) int {
		return get(t, ctx, chromedp.Evaluate[int](fmt.Sprintf(`fetch(%q).then(function (r) { return r.status; })`, path), chromedp.EvalAwaitPromise))
	}
	if own, others := status(fmt.Sprintf("/map/incidents/%d", id)), status(fmt.Sprintf("/map/incidents/%d", other)); own != 200 || others != 404 {
		t.Fatalf("the officer's map markers: own incident %d, another community's %d; want 200 and 404", own, others)
	}
	do(t, ctx, "the officer's map on a phone", chromedp.Navigate(base+"/map"), chromedp.WaitVisible(css("#map")),
		chromedp.WaitVisible(css(fmt.Sprintf("#mi-%d", id))))
	screenshot(t, ctx, "map-phone-zh")
}

// takeCall posts a 110 call through the API and returns its ID.
func takeCall(t *testing.T, base string, p zhufang.Point, category, address, description string) int64 {
	t.Helper()
	var inc struct{ ID int64 }
	body := fmt.Sprintf(`{"source":"call_110","caller_phone":"13912345678","caller_name":"王小明","address":%q,"position":[%f,%f],"category":%q,"description":%q}`,
		address, p.Lon, p.Lat, category, description)
	if code := postJSON(t, base+"/api/v1/incidents", body, &inc); code != 201 {
		t.Fatalf("take call: %d", code)
	}
	return inc.ID
}

// takePastCall posts a street fight received at the given time, as a
// record entered late, and returns its ID.
func takePastCall(t *testing.T, base string, p zhufang.Point, at time.Time, address string) int64 {
	t.Helper()
	var inc struct {
		ID     int64
		Triage struct{ Lane string }
	}
	body := fmt.Sprintf(`{"source":"call_110","caller_phone":"13912345678","address":%q,"position":[%f,%f],"category":"200100","description":"两人打架","received_at":%q}`,
		address, p.Lon, p.Lat, at.UTC().Format(time.RFC3339))
	if code := postJSON(t, base+"/api/v1/incidents", body, &inc); code != 201 || inc.Triage.Lane != "street" {
		t.Fatalf("take a past call: %d, lane %q", code, inc.Triage.Lane)
	}
	return inc.ID
}

// patrolCarNear gives the first patrol car of the station that holds p a
// device, reports it at p and returns its ID and token.
func patrolCarNear(t *testing.T, base, dsn string, p zhufang.Point) (int64, string) {
	t.Helper()
	var loc struct {
		Jurisdiction zhufang.Jurisdiction `json:"jurisdiction"`
	}
	if code := getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%f&lat=%f", base, p.Lon, p.Lat), &loc); code != 200 {
		t.Fatalf("locate: %d", code)
	}
	var units struct {
		Units []struct {
			ID   int64
			Kind string
		}
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/units?station_id=%d", base, loc.Jurisdiction.Station.ID), &units)
	for _, u := range units.Units {
		if u.Kind != "patrol_car" {
			continue
		}
		token := device(t, dsn, u.ID)
		body := fmt.Sprintf(`{"reports":[{"at":%q,"position":[%f,%f]}]}`, time.Now().UTC().Add(-time.Second).Format(time.RFC3339Nano), p.Lon+0.002, p.Lat)
		if code, b := postAuth(t, base+"/api/v1/positions", token, body); code != 200 {
			t.Fatalf("positions: %d %s", code, b)
		}
		return u.ID, token
	}
	t.Fatalf("no patrol car at station %d", loc.Jurisdiction.Station.ID)
	return 0, ""
}
