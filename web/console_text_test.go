package web

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
)

// TestLocalReason checks that a rule's two-language reason shows one
// language, and a reason a person typed shows as typed.
func TestLocalReason(t *testing.T) {
	for _, tc := range []struct{ name, lang, in, want string }{
		{"rule in Chinese", "zh", "现场有人持械、受伤或被困：区防平台统一派警 / live danger at the scene", "现场有人持械、受伤或被困：区防平台统一派警"},
		{"rule in English", "en", "现场有人持械、受伤或被困：区防平台统一派警 / live danger at the scene", "live danger at the scene"},
		{"typed", "zh", "现场已无人", "现场已无人"},
		{"typed in English", "en", "nobody there", "nobody there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := localReason(tc.lang, tc.in); got != tc.want {
				t.Errorf("localReason(%q, %q) = %q, want %q", tc.lang, tc.in, got, tc.want)
			}
		})
	}
}

// TestAuditDetail checks that each detail form the store writes is said
// in the reader's language, and anything else is left as written.
func TestAuditDetail(t *testing.T) {
	c := mustCatalogs(t)
	for _, tc := range []struct{ name, action, detail, zh, en string }{
		{"state change", zhufang.AuditIncidentState, "dispatched → acknowledged", "已派警 → 已签收", "Dispatched → Acknowledged"},
		{"unit status", zhufang.AuditUnitStatus, "available → dispatched", "可派 → 已派", ""},
		{"lane", zhufang.AuditIncidentLane, "street → dispute: 双方已离开", "街面 → 纠纷: 双方已离开", ""},
		{"history", zhufang.AuditHistoryImport, "115893 incidents", "115,893 起警情", "115,893 incidents"},
		{"assign", zhufang.AuditAssign, "unit 12 as primary", "警力 12 · 主办警力", "unit 12 · Primary unit"},
		{"assignment", zhufang.AuditAssignment, "unit 12 acknowledged", "警力 12 · 已签收", ""},
		{"user", zhufang.AuditUserCreate, "station_chief station", "派出所所长 · 派出所", ""},
		{"role", zhufang.AuditUserRole, "case_officer station 16", "办案民警 · 派出所 16", ""},
		{"caller", zhufang.AuditViewPersonal, "caller", "报警人信息", ""},
		{"unknown state", zhufang.AuditIncidentState, "dispatched → teleported", "dispatched → teleported", ""},
		{"unknown action", "something_new", "a → b", "a → b", "a → b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.auditDetail("zh", tc.action, tc.detail); got != tc.zh {
				t.Errorf("zh: %q, want %q", got, tc.zh)
			}
			if tc.en == "" {
				return
			}
			if got := c.auditDetail("en", tc.action, tc.detail); !strings.EqualFold(got, tc.en) {
				t.Errorf("en: %q, want %q", got, tc.en)
			}
		})
	}
}

// TestCountText checks plurals: one station, two stations; Chinese alike.
func TestCountText(t *testing.T) {
	c := mustCatalogs(t)
	got := []string{c.countText("en", "org.station_count", 1), c.countText("en", "org.station_count", 3),
		c.countText("en", "org.station_count", 1200), c.countText("zh", "org.station_count", 1), c.countText("zh", "org.station_count", 3)}
	want := []string{"1 station", "3 stations", "1,200 stations", "1 个派出所", "3 个派出所"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

// TestStageRate checks the compliance cell: a percentage rounded down with
// its counts, a dash for nothing clocked.
func TestStageRate(t *testing.T) {
	row := zhufang.ComplianceRow{Clocked: map[zhufang.Stage]int{"acknowledge": 25, "on_scene": 1000, "handling": 0},
		Met: map[zhufang.Stage]int{"acknowledge": 23, "on_scene": 999}}
	got := []string{stageRate(row, "acknowledge"), stageRate(row, "on_scene"), stageRate(row, "handling")}
	if diff := cmp.Diff([]string{"92% (23/25)", "99% (999/1,000)", "—"}, got); diff != "" {
		t.Errorf("rates (-want +got):\n%s", diff)
	}
}

// TestStationPeriod checks the periods a station page takes, each ending
// with today (China time), and refuses what it cannot read.
func TestStationPeriod(t *testing.T) {
	at := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC) // 04:00 on the 30th in China
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, zhufang.ChinaTime) }
	for _, tc := range []struct {
		name     string
		q        map[string][]string
		from, to time.Time
		days     int
		err      bool
	}{
		{"default", nil, day(30), day(30).AddDate(0, 0, 1), 1, false},
		{"today", map[string][]string{"period": {"today"}}, day(30), day(30).AddDate(0, 0, 1), 1, false},
		{"7d", map[string][]string{"period": {"7d"}}, day(24), day(30).AddDate(0, 0, 1), 7, false},
		{"30d", map[string][]string{"period": {"30d"}}, day(1), day(30).AddDate(0, 0, 1), 30, false},
		{"range", map[string][]string{"period": {"range"}, "from": {"2026-11-02"}, "to": {"2026-11-04"}}, day(2), day(5), 3, false},
		{"range into the future ends today", map[string][]string{"period": {"range"}, "from": {"2026-11-28"}, "to": {"2026-12-25"}}, day(28), day(30).AddDate(0, 0, 1), 3, false},
		{"backwards", map[string][]string{"period": {"range"}, "from": {"2026-11-04"}, "to": {"2026-11-02"}}, time.Time{}, time.Time{}, 0, true},
		{"too long", map[string][]string{"period": {"range"}, "from": {"2025-01-01"}, "to": {"2026-11-02"}}, time.Time{}, time.Time{}, 0, true},
		{"not a day", map[string][]string{"period": {"range"}, "from": {"yesterday"}, "to": {"2026-11-02"}}, time.Time{}, time.Time{}, 0, true},
		{"unknown", map[string][]string{"period": {"year"}}, time.Time{}, time.Time{}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseStationPeriod(tc.q, at)
			if tc.err {
				if zhufang.ErrorCode(err) != zhufang.EINVALID {
					t.Fatalf("got %+v, %v; want EINVALID", p, err)
				}
				return
			}
			if err != nil || !p.From.Equal(tc.from) || !p.To.Equal(tc.to) || p.Days != tc.days {
				t.Errorf("got %v – %v (%d days), %v; want %v – %v (%d days)", p.From, p.To, p.Days, err, tc.from, tc.to, tc.days)
			}
		})
	}
}

// FuzzStationPeriod checks that any query is read or refused as invalid,
// and a period read is a sane span ending by tomorrow.
func FuzzStationPeriod(f *testing.F) {
	f.Add("range", "2026-11-02", "2026-11-04")
	f.Add("7d", "", "")
	f.Add("range", "2026-02-30", "2026-13-01")
	at := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, period, from, to string) {
		p, err := parseStationPeriod(map[string][]string{"period": {period}, "from": {from}, "to": {to}}, at)
		if err != nil {
			if zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if !p.From.Before(p.To) || p.Days < 1 || p.Days > maxStationDays || p.To.After(at.Add(48*time.Hour)) {
			t.Fatalf("period %+v is not a sane span", p)
		}
	})
}

// TestFavicon checks that /favicon.ico is an ICO holding a 32×32 PNG.
func TestFavicon(t *testing.T) {
	ico := faviconICO()
	var head struct {
		Reserved, Type, Count uint16
		W, H, Colours, _      uint8
		Planes, Bits          uint16
		Size, Offset          uint32
	}
	if err := binary.Read(bytes.NewReader(ico), binary.LittleEndian, &head); err != nil {
		t.Fatal(err)
	}
	if head.Type != 1 || head.Count != 1 || head.W != 32 || head.H != 32 || int(head.Offset+head.Size) != len(ico) {
		t.Fatalf("ICO header %+v for %d bytes", head, len(ico))
	}
	img, err := png.Decode(bytes.NewReader(ico[head.Offset:]))
	if err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("the icon's PNG: %v", err)
	}
}
