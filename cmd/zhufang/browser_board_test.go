package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// rowOrder is the board's rows, top to bottom, by incident ID.
const rowOrder = `Array.prototype.map.call(document.querySelectorAll("#incident-rows tr"), function (r) { return Number(r.dataset.id); })`

// only keeps the IDs of ids in the order order gives them.
func only(order []int64, ids ...int64) []int64 {
	var out []int64
	for _, id := range order {
		for _, want := range ids {
			if id == want {
				out = append(out, id)
			}
		}
	}
	return out
}

// selectedClockContrast is the lowest contrast ratio (WCAG) of a running
// clock's digits against the background they are drawn on, in the selected
// row, with the clock's colour class.
const selectedClockContrast = `(function () {
	function rgb(s) { var m = s.match(/[\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 }; }
	function lum(c) {
		var f = function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
		return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
	}
	function background(el) {
		for (; el; el = el.parentElement) {
			var c = rgb(getComputedStyle(el).backgroundColor);
			if (c.a > 0) return c;
		}
		return { r: 255, g: 255, b: 255, a: 1 };
	}
	var worst = null;
	document.querySelectorAll("#incident-rows tr.selected td.clock").forEach(function (td) {
		var cls = ["green", "amber", "red"].filter(function (k) { return td.classList.contains(k); })[0];
		if (!cls) return;
		var a = lum(rgb(getComputedStyle(td).color)), b = lum(background(td));
		var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		if (!worst || ratio < worst.ratio) worst = { ratio: ratio, cls: cls };
	});
	return worst ? worst.cls + " " + worst.ratio.toFixed(2) : "none";
})()`

// TestBoardInBrowser drives the board as a new dispatcher's first hour
// found it wanting: the most overdue incident first, live and after a
// reload alike; a breach raised while the board is open sounds the alarm
// (banner in the user's language, a beep once the page may play sound,
// muted at will and remembered); the selected row's clocks stay readable;
// a refused report keeps what was typed, with the error next to the field;
// a position picked on the map fills the form; fifteen incidents and one
// selected fit a 1920×1080 screen with the submit button in view; a
// 390-pixel phone scrolls neither the board nor an incident page sideways.
// Screenshots of the board with its alarm, in Chinese and English, are
// saved as board-alarm-zh.png and board-alarm-en.png.
func TestBoardInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	dsn := sqltest.DSN(t, sqlstore.SQLite)
	base, stop := startServe(t, demoArgs(t, dsn)...)
	defer stop()
	signIn(t, base, dsn, "api", zhufang.RoleDispatcher)
	if err := run(context.Background(), []string{"user", "add", "--db", dsn, "--name", "接警员 李娜", "--role", "dispatcher",
		"--scope", "city", "--password-file", writeFile(t, t.TempDir(), "pw", "board password 1\n"), "lina"},
		func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "sign in",
		chromedp.Navigate(base+"/board"),
		chromedp.WaitVisible(css("#username")),
		chromedp.SendKeys(css("#username"), "lina"),
		chromedp.SendKeys(css("#password"), "board password 1"),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#incidents")),
		chromedp.WaitVisible(css(`#live[data-state="on"]`)),
	)

	// Three street fights in the city centre: one received now (due in a
	// minute), one 40 s ago (due in 20 s), one 4 minutes ago (its minute
	// and its three minutes gone): the watcher raises two breaches.
	centre := zhufang.Point{Lon: 111.6015, Lat: 26.4372}
	later := takeCall(t, base, centre, "200100", "梅湾路1号", "两人打架")
	soon := takePastCall(t, base, zhufang.Point{Lon: 111.6030, Lat: 26.4380}, time.Now().Add(-40*time.Second), "梅湾路2号")
	overdue := takePastCall(t, base, zhufang.Point{Lon: 111.6045, Lat: 26.4390}, time.Now().Add(-4*time.Minute), "梅湾路3号")
	var inc struct{ Number string }
	getJSON(t, fmt.Sprintf("%s/api/v1/incidents/%d", base, overdue), &inc)

	// The breach comes live: the banner, in Chinese, names the incident
	// and the missed stage. No gesture yet: the page may not play sound,
	// and says so.
	item := fmt.Sprintf("#alarm-%d-on_scene", overdue)
	do(t, ctx, "the breach alarm appears", chromedp.WaitVisible(css(item)), chromedp.WaitVisible(css("#alarm-enable")))
	if text := get(t, ctx, chromedp.Text(css(item))); !strings.Contains(text, inc.Number) || !strings.Contains(text, "到场超时") || !strings.Contains(text, "梅湾路3号") {
		t.Errorf("the alarm says %q, want the incident %s, its address and 到场超时", text, inc.Number)
	}
	beeps := func() string {
		return get(t, ctx, chromedp.Evaluate[string](`document.getElementById("alarm").dataset.beeps || "0"`))
	}
	if b := beeps(); b != "0" {
		t.Errorf("%s beeps before any gesture; a browser allows none", b)
	}
	// A click lets the page play sound: the waiting beep sounds.
	do(t, ctx, "a gesture", chromedp.Click(css("#alarm header b")), chromedp.WaitNotVisible(css("#alarm-enable")))
	do(t, ctx, "the beep", chromedp.Poll[chromedp.Void](`document.getElementById("alarm").dataset.beeps === "1"`, chromedp.WithPollingTimeout(5*time.Second)))

	// Live, the board put the most overdue first, then the one due soonest.
	do(t, ctx, "rows arrive", chromedp.WaitVisible(css(fmt.Sprintf("#inc-%d", overdue))), chromedp.WaitVisible(css(fmt.Sprintf("#inc-%d", soon))),
		chromedp.WaitVisible(css(fmt.Sprintf("#inc-%d", later))))
	want := []int64{overdue, soon, later}
	if live := only(get(t, ctx, chromedp.Evaluate[[]int64](rowOrder)), want...); fmt.Sprint(live) != fmt.Sprint(want) {
		t.Errorf("the live board's order %v, want most overdue first %v", live, want)
	}
	// The breach list on the board holds it.
	do(t, ctx, "the breach list", chromedp.WaitVisible(css(fmt.Sprintf(`#breach-panel li[data-incident="%d"][data-stage="on_scene"]`, overdue))))
	screenshot(t, ctx, "board-alarm-zh")

	// Mute: remembered across pages; the banner is for this page only.
	do(t, ctx, "mute", chromedp.Click(css("#alarm .alarm-mute")))
	do(t, ctx, "reload, selecting the overdue incident", chromedp.Navigate(fmt.Sprintf("%s/board?sel=%d", base, overdue)), chromedp.WaitVisible(css("#detail")))
	if pressed := get(t, ctx, chromedp.AttributeValue(css("#breach-panel .alarm-mute"), "aria-pressed")); pressed.Value != "true" {
		t.Errorf("the mute is not remembered: aria-pressed %q", pressed.Value)
	}
	do(t, ctx, "unmute", chromedp.Click(css("#breach-panel .alarm-mute")))
	// After a reload, the server's order is the live one.
	if server := only(get(t, ctx, chromedp.Evaluate[[]int64](rowOrder)), want...); fmt.Sprint(server) != fmt.Sprint(want) {
		t.Errorf("the server's order %v, want most overdue first %v, as live", server, want)
	}
	// The selected row's clocks are readable, whatever their colour.
	worst := get(t, ctx, chromedp.Evaluate[string](selectedClockContrast))
	var class string
	var ratio float64
	if _, err := fmt.Sscan(worst, &class, &ratio); err != nil || ratio < 4.5 {
		t.Errorf("the selected row's least readable clock: %q, want a contrast of at least 4.5 (WCAG AA)", worst)
	}
	t.Logf("the selected row's least readable running clock: %s", worst)
	// Its incident page says when each deadline was missed.
	do(t, ctx, "the incident page", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", base, overdue)), chromedp.WaitVisible(css("#timeline")))
	if tl := get(t, ctx, chromedp.Text(css("#timeline"))); !regexp.MustCompile(`1-3-5 超时：到场超时，时限 \d\d:\d\d`).MatchString(tl) {
		t.Errorf("the timeline does not show the missed arrival: %q", tl)
	}

	// A report refused keeps what was typed, with the error by its field.
	do(t, ctx, "a report with a position that is not one",
		chromedp.Navigate(base+"/board"), chromedp.WaitVisible(css("#intake")),
		chromedp.SendKeys(css("#intake-address"), "冷水滩区梅湾路5号"),
		chromedp.SendKeys(css("#intake-position"), "梅湾路口"),
		chromedp.SendKeys(css("#intake-description"), "有人持刀打架"),
		chromedp.Click(css("#intake-submit")),
		chromedp.WaitVisible(css("#intake-error")),
	)
	kept := get(t, ctx, chromedp.Evaluate[string](`[document.getElementById("intake-address").value, document.getElementById("intake-position").value,
		document.getElementById("intake-description").value, document.getElementById("intake-position").getAttribute("aria-invalid"),
		document.getElementById("intake-error").previousElementSibling.querySelector("input") === document.getElementById("intake-position")].join(" | ")`))
	if kept != "冷水滩区梅湾路5号 | 梅湾路口 | 有人持刀打架 | true | true" {
		t.Errorf("after the refusal the form holds %q", kept)
	}
	if msg := get(t, ctx, chromedp.Text(css("#intake-error"))); !strings.HasPrefix(msg, "位置请填写") {
		t.Errorf("the error says %q, want it in Chinese, about the position", msg)
	}
	// Pick the place on the map instead: the form comes back with it, and
	// with what was typed.
	do(t, ctx, "pick on the map", chromedp.Click(css("#intake-pick")), chromedp.WaitVisible(css("#map-pick")), chromedp.WaitVisible(css("#map")))
	box := get(t, ctx, chromedp.Evaluate[[]float64](`(function () { var r = document.getElementById("map").getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`))
	do(t, ctx, "click the map", chromedp.MouseClickXY(box[0], box[1]), chromedp.WaitVisible(css("#intake")))
	picked := get(t, ctx, chromedp.Evaluate[string](`document.getElementById("intake-position").value + " | " + document.getElementById("intake-address").value`))
	if !regexp.MustCompile(`^1\d\d\.\d{6}, 2\d\.\d{6} \| 冷水滩区梅湾路5号$`).MatchString(picked) {
		t.Errorf("after picking on the map the form holds %q", picked)
	}
	do(t, ctx, "take it", chromedp.Click(css("#intake-submit")), chromedp.WaitVisible(css("#open-incident")))

	// Fifteen incidents and one selected, with its five recommended units,
	// fit a 1920×1080 screen.
	if n := unitsReportingNear(t, base, dsn, centre, 6); n < 5 {
		t.Fatalf("%d units report near the centre, want 5 to recommend", n)
	}
	for i := 0; i < 11; i++ {
		takeCall(t, base, zhufang.Point{Lon: 111.59 + float64(i)*0.002, Lat: 26.43}, "200100", fmt.Sprintf("零陵南路%d号", i+1), "两人争吵")
	}
	do(t, ctx, "a full board", chromedp.Navigate(fmt.Sprintf("%s/board?sel=%d", base, later)), chromedp.WaitVisible(css("#intake-submit")))
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#recs li").length`)); n != 5 {
		t.Errorf("the selected incident offers %d units, want 5", n)
	}
	fit := get(t, ctx, chromedp.Evaluate[string](`(function () {
		var b = document.getElementById("intake-submit").getBoundingClientRect();
		return [document.querySelectorAll("#incident-rows tr").length, Math.ceil(b.bottom), innerHeight, innerWidth, document.documentElement.scrollWidth].join(" ");
	})()`))
	var rows, bottom, height, width, scroll int
	fmt.Sscan(fit, &rows, &bottom, &height, &width, &scroll)
	if rows < 15 || bottom > height || scroll > width {
		t.Errorf("rows, submit button's bottom, window height, width, page width: %s; want 15 rows or more, the button in view, no sideways scroll", fit)
	}
	t.Logf("1920×1080 with %d rows: the submit button's bottom at %d px of %d", rows, bottom, height)

	// In English, another breach: the banner speaks English.
	do(t, ctx, "English", chromedp.Click(css("#lang-switch")), chromedp.WaitVisible(css(`body[data-lang="en"] #incidents`)),
		chromedp.WaitVisible(css(`#live[data-state="on"]`)), chromedp.Click(css(".queue h1")))
	late := takePastCall(t, base, zhufang.Point{Lon: 111.6060, Lat: 26.4400}, time.Now().Add(-4*time.Minute), "Meiwan Road 9")
	item = fmt.Sprintf("#alarm-%d-on_scene", late)
	do(t, ctx, "the English alarm", chromedp.WaitVisible(css(item)))
	if text := get(t, ctx, chromedp.Text(css(item))); !strings.Contains(text, "on-scene deadline missed") || !strings.Contains(text, "1-3-5 breach") {
		t.Errorf("the English alarm says %q", text)
	}
	screenshot(t, ctx, "board-alarm-en")

	// A phone: neither the board nor an incident page scrolls sideways.
	do(t, ctx, "a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	for _, page := range []string{"/board", fmt.Sprintf("/board?sel=%d", overdue), fmt.Sprintf("/incidents/%d", overdue)} {
		do(t, ctx, "phone "+page, chromedp.Navigate(base+page), chromedp.WaitVisible(css("main")), chromedp.Sleep(200*time.Millisecond))
		widths := get(t, ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, innerWidth]`))
		if widths[0] > widths[1] {
			wide := get(t, ctx, chromedp.Evaluate[string](`Array.prototype.filter.call(document.querySelectorAll("body *"), function (e) {
				return e.getBoundingClientRect().right > innerWidth + 1;
			}).slice(0, 8).map(function (e) { return e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right); }).join(", ")`))
			t.Errorf("on a 390 px phone %s is %d px wide: %s", page, widths[0], wide)
		}
	}
	screenshot(t, ctx, "board-phone-en")
}

// unitsReportingNear gives up to n police units of the station that holds
// p a device each and reports them around p, for the recommender to offer;
// it returns how many report.
func unitsReportingNear(t *testing.T, base, dsn string, p zhufang.Point, n int) int {
	t.Helper()
	var loc struct {
		Jurisdiction zhufang.Jurisdiction `json:"jurisdiction"`
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%f&lat=%f", base, p.Lon, p.Lat), &loc)
	var units struct {
		Units []struct {
			ID   int64
			Kind string
		}
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/units?station_id=%d", base, loc.Jurisdiction.Station.ID), &units)
	sent := 0
	for _, u := range units.Units {
		if sent == n || (u.Kind != "patrol_car" && u.Kind != "motorcycle" && u.Kind != "foot") {
			continue
		}
		body := fmt.Sprintf(`{"reports":[{"at":%q,"position":[%f,%f]}]}`, time.Now().UTC().Add(-time.Second).Format(time.RFC3339Nano),
			p.Lon+0.002*float64(sent+1), p.Lat)
		if code, b := postAuth(t, base+"/api/v1/positions", device(t, dsn, u.ID), body); code != 200 {
			t.Fatalf("positions: %d %s", code, b)
		}
		sent++
	}
	return sent
}
