package zhufang_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"zhufang"
	"zhufang/zhufangtest"
)

// noon and midnight are local (UTC+8) times.
var (
	noon     = time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	midnight = time.Date(2026, 11, 29, 16, 30, 0, 0, time.UTC)
)

// TestEveryTriageRule gives each shipped rule an incident it must catch,
// and fails when a rule has no case here.
func TestEveryTriageRule(t *testing.T) {
	tests := []struct {
		rule string
		in   zhufang.TriageInput
		lane zhufang.Lane
		to   string
		also bool
	}{
		{"danger", zhufang.TriageInput{Category: "100100", Description: "小偷持刀", Flags: zhufang.IncidentFlags{Weapon: true}, ReceivedAt: noon}, "street", "", false},
		{"mass", zhufang.TriageInput{Category: "700200", Description: "村民阻断道路", ReceivedAt: noon}, "street", "", false},
		{"fire-disaster", zhufang.TriageInput{Category: "800300", Description: "食堂多人中毒", ReceivedAt: noon}, "street", "", false},
		{"rescue", zhufang.TriageInput{Category: "500400", Description: "有人落水", ReceivedAt: noon}, "street", "", false},
		{"traffic", zhufang.TriageInput{Category: "300101", Description: "车祸有人死亡", ReceivedAt: noon}, "street", "", false},
		{"fraud", zhufang.TriageInput{Category: "100601", Description: "接到冒充客服电话被骗两万", ReceivedAt: noon}, "case", "", false},
		{"past-crime", zhufang.TriageInput{Category: "100100", Description: "早上发现电动车被盗", ReceivedAt: noon}, "case", "", false},
		{"crime", zhufang.TriageInput{Category: "100200", Description: "有人正在抢劫", ReceivedAt: noon}, "street", "", false},
		{"dispute-live", zhufang.TriageInput{Category: "209100", Description: "邻居因噪音吵架，快要动手了", ReceivedAt: noon}, "dispute", "", true},
		{"domestic", zhufang.TriageInput{Category: "200600", Description: "丈夫经常打骂", ReceivedAt: noon}, "dispute", "", true},
		{"dispute", zhufang.TriageInput{Category: "209100", Description: "宅基地边界有争议", ReceivedAt: noon}, "dispute", "", false},
		{"gambling-vice", zhufang.TriageInput{Category: "200700", Description: "棋牌室聚众赌博", ReceivedAt: noon}, "case", "", false},
		{"order-night", zhufang.TriageInput{Category: "200400", Description: "酒吧有人闹事", PlaceType: "bar", ReceivedAt: midnight}, "street", "", false},
		{"order", zhufang.TriageInput{Category: "200400", Description: "有人在广场闹事", ReceivedAt: noon}, "street", "", false},
		{"help-utility", zhufang.TriageInput{Category: "500500", Description: "小区停水", ReceivedAt: noon}, "assign", "12345", false},
		{"help-station", zhufang.TriageInput{Category: "500300", Description: "钥匙锁在家里", ReceivedAt: noon}, "assign", "station", false},
		{"non-police", zhufang.TriageInput{Category: "600300", Description: "工地拖欠工资", ReceivedAt: noon}, "assign", "12345", false},
		{"branch", zhufang.TriageInput{Category: "650100", Description: "协助交警查缉", ReceivedAt: noon}, "assign", "branch", false},
		{"tip-off", zhufang.TriageInput{Category: "900100", Description: "举报某处有人吸毒", ReceivedAt: noon}, "case", "", false},
		{"complaint", zhufang.TriageInput{Category: "950200", Description: "投诉民警态度", ReceivedAt: noon}, "assign", "supervision", false},
		{"other", zhufang.TriageInput{Category: "999900", Description: "其他", ReceivedAt: noon}, "assign", "station", false},
	}
	tr := zhufang.DefaultTriage()
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			got := tr.Classify(tt.in)
			if got.Rule != tt.rule || got.Lane != tt.lane || got.AssignTo != tt.to || got.AlsoStreet != tt.also || got.Reason == "" {
				t.Fatalf("got %+v, want rule %s lane %s to %q live %v", got, tt.rule, tt.lane, tt.to, tt.also)
			}
		})
		covered[tt.rule] = true
	}
	for _, r := range tr.Rules {
		if !covered[r.ID] {
			t.Errorf("rule %s (line %d) has no test case", r.ID, r.Line)
		}
	}
}

func TestTriageTimeAndPlace(t *testing.T) {
	tr := zhufang.DefaultTriage()
	// The night rule needs both the hour and the place.
	day := tr.Classify(zhufang.TriageInput{Category: "200400", PlaceType: "bar", ReceivedAt: noon})
	night := tr.Classify(zhufang.TriageInput{Category: "200400", PlaceType: "bar", ReceivedAt: midnight})
	street := tr.Classify(zhufang.TriageInput{Category: "200400", PlaceType: "street", ReceivedAt: midnight})
	if day.Rule != "order" || night.Rule != "order-night" || street.Rule != "order" {
		t.Fatalf("day %s, night %s, night on a street %s", day.Rule, night.Rule, street.Rule)
	}
}

func TestEveryCategoryGetsALane(t *testing.T) {
	cats := zhufangtest.Categories(t)
	tr := zhufang.DefaultTriage()
	lanes := map[zhufang.Lane]int{}
	for _, c := range cats.All() {
		r := tr.Classify(zhufang.TriageInput{Category: c.Code, ReceivedAt: noon})
		lanes[r.Lane]++
		if strings.HasPrefix(c.Code, "60") && r.AssignTo != "12345" {
			t.Errorf("non-police %s went to %s %s", c, r.Lane, r.AssignTo)
		}
		if strings.HasPrefix(c.Code, "1") && r.Lane != zhufang.LaneStreet && r.Lane != zhufang.LaneCase {
			t.Errorf("criminal %s went to %s", c, r.Lane)
		}
	}
	for _, l := range []zhufang.Lane{"street", "case", "dispute", "assign"} {
		if lanes[l] == 0 {
			t.Errorf("no category goes to lane %s", l)
		}
	}
}

func TestParseTriageErrors(t *testing.T) {
	for _, tt := range []struct{ src, says string }{
		{"", "no rules"},
		{"a street cat=1", "reason"},
		{"a nowhere | x", "lane"},
		{"a street cat=1x | x\nz assign to=station | y", "1 to 6 digits"},
		{"a street hours=5-5 | x\nz assign to=station | y", "hours"},
		{"a street hours=25-3 | x\nz assign to=station | y", "hours"},
		{"a street flags=angry | x\nz assign to=station | y", "flag"},
		{"a street live | x\nz assign to=station | y", "live applies only"},
		{"a assign cat=5 | x\nz assign to=station | y", "to= is required"},
		{"a street cat=1 to=x | x\nz assign to=station | y", "to= is required"},
		{"a street colour=red | x\nz assign to=station | y", "unknown condition"},
		{"a street kw=| | x\nz assign to=station | y", "keywords may not be empty"},
		{"a street cat=1 | x\na case cat=2 | y\nz assign to=station | y", "twice"},
		{"a street cat=1 | x", "last rule"},
	} {
		_, err := zhufang.ParseTriage(tt.src)
		if zhufang.ErrorCode(err) != zhufang.EINVALID || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%q: got %v, want EINVALID saying %q", tt.src, err, tt.says)
		}
	}
}

func TestTriageOverride(t *testing.T) {
	r := zhufang.DefaultTriage().Classify(zhufang.TriageInput{Category: "209100", Description: "宅基地纠纷", ReceivedAt: noon})
	o, err := r.Override(zhufang.LaneStreet, "dispatcher 0301", "现场有人聚集", "")
	if err != nil {
		t.Fatal(err)
	}
	if o.Lane != "street" || o.RuleLane != "dispute" || o.OverriddenBy != "dispatcher 0301" || o.Rule != "override" {
		t.Fatalf("override: %+v", o)
	}
	again, _ := o.Override(zhufang.LaneAssign, "dispatcher 0302", "转派出所", "")
	if again.RuleLane != "dispute" || again.AssignTo != "station" {
		t.Fatalf("second override lost what the rules said: %+v", again)
	}
	if _, err := r.Override("sideways", "d", "", ""); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Fatalf("unknown lane: %v", err)
	}
	if _, err := r.Override(zhufang.LaneCase, " ", "", ""); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Fatalf("anonymous override: %v", err)
	}
}

// FuzzParseTriage: a rules file either parses into rules that classify
// anything without panicking, or is refused with EINVALID.
func FuzzParseTriage(f *testing.F) {
	b, _ := os.ReadFile("triage.rules")
	f.Add(string(b), "200100", "正在打架")
	f.Add("a street hours=22-6 | x\nz assign to=station | y", "1", "")
	f.Add("a dispute kw=吵|打 live | x\nz assign to=station | y", "209100", "吵架")
	f.Fuzz(func(t *testing.T, src, cat, desc string) {
		tr, err := zhufang.ParseTriage(src)
		if err != nil {
			if zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Fatalf("error code %s: %v", zhufang.ErrorCode(err), err)
			}
			return
		}
		r := tr.Classify(zhufang.TriageInput{Category: cat, Description: desc, ReceivedAt: midnight})
		if r.Lane == "" || r.Rule == "" {
			t.Fatalf("no lane: %+v", r)
		}
	})
}
