package demo

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"zhufang"
)

// The incident model of the demo city: how many 110 incidents of each
// category arrive on a day, at what hour, and where. Its rates are the
// first history year's; on the anchor day's year (the second history year)
// the categories the Yongzhou police report on fall by the article's
// year-on-year figures. Every day's stream is a function of the seed, the
// anchor and the date alone, so one day can be drawn without the rest and
// is the same day the history holds.

// The year-on-year changes of the second history year over the first, as
// the Yongzhou police report them.
const (
	ChangeCriminal    = -0.35 // criminal 110 incidents (刑事警情)
	ChangePublicOrder = -0.07 // public-order incidents (治安警情)
	ChangeProperty    = -0.25 // property crime (侵财类案件)
	ChangeTelecom     = -0.39 // telecom and online fraud (电信网络诈骗)
	ChangeFatalRoad   = -0.14 // fatal traffic accidents (亡人交通事故)
)

// TelecomFraud and FatalTraffic are the categories of two of the reported
// changes; PropertyCrime lists the criminal categories that take property.
const (
	TelecomFraud = "100601"
	FatalTraffic = "300101"
)

// PropertyCrime lists the criminal categories counted as property crime:
// theft, robbery, snatching, fraud, telecom fraud and extortion.
var PropertyCrime = []string{"100100", "100200", "100300", "100600", TelecomFraud, "100700"}

// baseRates are the first history year's incidents a day city-wide by
// category: about 950, for a city of 5.3 million (see the README for the
// reasoning). Categories not listed do not occur.
var baseRates = map[string]float64{
	// criminal, 98 a day
	"100100": 34, "100200": 2, "100300": 3, "100400": 0.05, "100500": 14, "100600": 8, TelecomFraud: 20,
	"100700": 2, "100800": 0.02, "100900": 0.5, "101000": 0.05, "101100": 0.02, "101200": 1, "101300": 2,
	"101400": 0.5, "101500": 0.05, "101600": 0.01, "101700": 0.05, "101800": 0.5, "101900": 0.5, "109900": 10,
	// public order, 365 a day, a third of them neighbours' and families' disputes
	"200100": 45, "200200": 40, "200300": 2, "200400": 30, "200500": 10, "200600": 20, "200700": 8, "200800": 4,
	"200900": 0.5, "201000": 35, "201100": 2, "201200": 6, "201300": 1, "201400": 3, "201500": 0.5, "201600": 0.5,
	"201700": 1, "201800": 2, "201900": 3, "202000": 1, "202100": 0.5, "209100": 110, "209900": 40,
	// traffic, 185 a day, one of them fatal
	"300100": 95, FatalTraffic: 1, "300200": 25, "300300": 4, "300400": 5, "300500": 40, "300600": 5, "309900": 10,
	// fire and rescue
	"400100": 12, "400200": 6, "409900": 2,
	// requests for help
	"500100": 8, "500200": 25, "500300": 30, "500400": 0.8, "500500": 12, "500600": 10, "500700": 0.5, "500800": 2, "509900": 35,
	// non-police matters
	"600100": 5, "600200": 10, "600300": 12, "600400": 2, "600500": 6, "600600": 15, "600700": 3, "600800": 1, "600900": 5,
	"601000": 1, "601100": 0.5, "601200": 4, "601300": 8, "601400": 3, "601500": 2, "601600": 2, "606500": 2, "609900": 8,
	// other branches, mass incidents, disasters, tip-offs, complaints, other
	"650100": 3, "650200": 2, "650300": 1, "650400": 2, "659900": 1,
	"700100": 0.5, "700200": 0.3, "700300": 0.05, "700400": 0.05, "700500": 0.05, "709900": 0.3,
	"800100": 2, "800200": 0.3, "800300": 0.3, "800400": 0.5, "809900": 1,
	"900100": 10, "909900": 5, "950100": 15, "950200": 3, "959900": 3, "999900": 15,
}

// Hourly profiles: the relative rate of each hour of the day (China time).
var (
	// Calls overall: quiet before dawn, a long day, the evening busiest.
	hoursDay = [24]float64{3, 2, 1.5, 1.2, 1, 1.2, 2, 3.5, 4.5, 5, 5.5, 5.5, 5, 5, 5, 5, 5.2, 5.5, 6, 6.5, 6.5, 6, 5, 4}
	// Traffic: the two rush hours.
	hoursRoad = [24]float64{1.5, 1, 0.8, 0.6, 0.6, 1, 3, 6.5, 7, 5, 4.5, 4.5, 4.5, 4, 4.5, 5, 6, 7, 6.5, 5, 4, 3.5, 3, 2}
	// Public order: drinking, quarrels and fights peak late in the evening.
	hoursNight = [24]float64{5, 4, 3, 2, 1.5, 1, 1.2, 2, 3, 3.5, 4, 4.5, 4.5, 4.5, 4.5, 4.5, 5, 5.5, 6, 7, 7.5, 7.5, 7, 6}
)

// Weekly factors, Monday first.
var (
	weekDay   = [7]float64{1, 1, 1, 1, 1, 1, 1}
	weekRoad  = [7]float64{1.04, 1.03, 1.03, 1.03, 1.06, 0.92, 0.89}
	weekNight = [7]float64{0.94, 0.93, 0.94, 0.96, 1.08, 1.12, 1.03}
)

// Where incidents happen, per resident, by zone: town centres draw people
// from outside, bars, markets and traffic; villages are quieter.
var (
	placeDay  = map[zhufang.ZoneKind]float64{zhufang.ZoneUrbanCore: 1.8, zhufang.ZoneUrban: 1.4, zhufang.ZoneSuburban: 1.0, zhufang.ZoneRural: 0.55}
	placeRoad = map[zhufang.ZoneKind]float64{zhufang.ZoneUrbanCore: 1.6, zhufang.ZoneUrban: 1.4, zhufang.ZoneSuburban: 1.2, zhufang.ZoneRural: 0.8}
)

// YearsBefore and YearsAfter bound the model's range around its history:
// the model draws days from that many years before the history to that
// many after its anchor, and refuses others.
const (
	YearsBefore = 3
	YearsAfter  = 3
	// HistoryDays is the length of the full history: two years.
	HistoryDays = 730
)

// Call is one 110 incident as the model draws it, before intake.
type Call struct {
	ReceivedAt  time.Time
	Position    zhufang.Point
	Category    string
	Description string
	PlaceType   string
	Address     string
	CallerName  string
	CallerPhone string
	Flags       zhufang.IncidentFlags
	Community   *zhufang.Community
}

// bucket is a group of categories whose daily count is drawn together, so
// that each reported change holds over a year to within one incident.
type bucket struct {
	cats   []string
	catCum []float64 // cumulative rates of cats
	factor float64   // rate of the second history year over the first
	hours  *[24]float64
	week   *[7]float64
	places []float64 // cumulative weights over Model.comms
	cum    []float64 // expected incidents before each day of the range
	phase  float64   // rounding phase in [0, 1)
}

// Model draws the demo city's incidents.
type Model struct {
	seed    uint64
	anchor  time.Time // last day of the history, midnight China time
	first   time.Time // first day of the range
	days    int       // days in the range
	reform  int       // index of the first day of the anchor's year
	buckets []*bucket
	comms   []*zhufang.Community
	boxes   []zhufang.Rect
	names   map[string]string // category code → Chinese name
}

// NewModel makes the model of a city's communities, anchored on the last
// day of its history (a date; its clock time is ignored).
func NewModel(seed uint64, anchor time.Time, comms []*zhufang.Community, cats *zhufang.Categories) (*Model, error) {
	anchor = Midnight(anchor)
	m := &Model{seed: seed, anchor: anchor, names: map[string]string{}}
	m.first = anchor.AddDate(0, 0, -(HistoryDays-1)).AddDate(-YearsBefore, 0, 0)
	m.days = dayIndex(m.first, anchor.AddDate(YearsAfter, 0, 0)) + 1
	m.reform = dayIndex(m.first, anchor.AddDate(0, 0, -364))
	for _, c := range comms {
		if c.Area != nil && c.Population > 0 {
			m.comms = append(m.comms, c)
			m.boxes = append(m.boxes, c.Area.Bounds())
		}
	}
	if len(m.comms) == 0 {
		return nil, zhufang.Errorf(zhufang.EINVALID, "the city has no community with an area and residents to place incidents in")
	}
	codes := make([]string, 0, len(baseRates))
	for code := range baseRates {
		cat, err := cats.Lookup(code)
		if err != nil {
			return nil, err
		}
		m.names[code] = cat.NameZH
		codes = append(codes, code)
	}
	sort.Strings(codes)
	byName := map[string]*bucket{}
	var order []string
	for _, code := range codes {
		name := bucketOf(code)
		b := byName[name]
		if b == nil {
			b = &bucket{factor: 1, hours: &hoursDay, week: &weekDay}
			byName[name] = b
			order = append(order, name)
		}
		b.cats = append(b.cats, code)
		b.catCum = append(b.catCum, last(b.catCum)+baseRates[code])
	}
	m.setFactors(byName)
	dayPlaces := m.placeWeights(placeDay)
	roadPlaces := m.placeWeights(placeRoad)
	phases := rand.New(rand.NewPCG(seed, 0x62756b6574))
	for _, name := range order {
		b := byName[name]
		b.places = dayPlaces
		switch {
		case name == "traffic" || name == "fatal":
			b.hours, b.week, b.places = &hoursRoad, &weekRoad, roadPlaces
		case name == "order" || name == "mass_incident":
			b.hours, b.week = &hoursNight, &weekNight
		}
		b.phase = phases.Float64()
		m.expect(b)
		m.buckets = append(m.buckets, b)
	}
	return m, nil
}

// bucketOf names the group a category is counted in.
func bucketOf(code string) string {
	switch {
	case code == TelecomFraud:
		return "telecom"
	case code == FatalTraffic:
		return "fatal"
	case slices.Contains(PropertyCrime, code):
		return "property"
	case code[0] == '1':
		return "criminal"
	case code[0] == '2':
		return "order"
	case code[0] == '3':
		return "traffic"
	}
	return "class" + code[:2]
}

// setFactors gives each group its change so that telecom fraud, property
// crime, all criminal incidents, public order and fatal accidents each
// change by the reported figure: property crime besides telecom fraud, and
// criminal incidents besides property crime, take what is left.
func (m *Model) setFactors(byName map[string]*bucket) {
	telecom, property, criminal := last(byName["telecom"].catCum), last(byName["property"].catCum), last(byName["criminal"].catCum)
	byName["telecom"].factor = 1 + ChangeTelecom
	byName["property"].factor = ((1+ChangeProperty)*(telecom+property) - (1+ChangeTelecom)*telecom) / property
	byName["criminal"].factor = ((1+ChangeCriminal)*(telecom+property+criminal) - (1+ChangeProperty)*(telecom+property)) / criminal
	byName["order"].factor = 1 + ChangePublicOrder
	byName["fatal"].factor = 1 + ChangeFatalRoad
}

func (m *Model) placeWeights(per map[zhufang.ZoneKind]float64) []float64 {
	cum := make([]float64, len(m.comms))
	s := 0.0
	for i, c := range m.comms {
		s += float64(c.Population) * per[c.Zone]
		cum[i] = s
	}
	return cum
}

// expect fills b.cum: the expected count before each day of the range.
func (m *Model) expect(b *bucket) {
	b.cum = make([]float64, m.days+1)
	rate := last(b.catCum)
	for d := range m.days {
		day := m.first.AddDate(0, 0, d)
		f := 1.0
		if d >= m.reform {
			f = b.factor
		}
		wd := (int(day.Weekday()) + 6) % 7
		b.cum[d+1] = b.cum[d] + rate*f*b.week[wd]*season(day)
	}
}

// season is a mild summer peak: long warm evenings bring more quarrels,
// drinking and travel.
func season(day time.Time) float64 {
	return 1 + 0.08*math.Sin(2*math.Pi*float64(day.YearDay()-105)/365.25)
}

// Anchor returns the last day of the history.
func (m *Model) Anchor() time.Time { return m.anchor }

// Range returns the first and last day the model draws.
func (m *Model) Range() (first, last time.Time) {
	return m.first, m.first.AddDate(0, 0, m.days-1)
}

// Expected returns the expected incidents of a day, and false outside the
// range.
func (m *Model) Expected(day time.Time) (float64, bool) {
	d := dayIndex(m.first, Midnight(day))
	if d < 0 || d >= m.days {
		return 0, false
	}
	s := 0.0
	for _, b := range m.buckets {
		s += b.cum[d+1] - b.cum[d]
	}
	return s, true
}

// HourRate returns the expected incidents in the hour starting at t
// (China time), for pacing a live stream.
func (m *Model) HourRate(t time.Time) float64 {
	t = t.In(zhufang.ChinaTime)
	d := dayIndex(m.first, Midnight(t))
	if d < 0 || d >= m.days {
		return 0
	}
	s := 0.0
	for _, b := range m.buckets {
		sum := 0.0
		for _, w := range b.hours {
			sum += w
		}
		s += (b.cum[d+1] - b.cum[d]) * b.hours[t.Hour()] / sum
	}
	return s
}

// Day draws the incidents of one day (China time), in order of receipt.
func (m *Model) Day(day time.Time) ([]Call, error) {
	day = Midnight(day)
	d := dayIndex(m.first, day)
	if d < 0 || d >= m.days {
		from, to := m.Range()
		return nil, zhufang.Errorf(zhufang.EINVALID, "%s is outside the incident model's range, %s to %s",
			day.Format(time.DateOnly), from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	r := rand.New(rand.NewPCG(m.seed, 0x646179<<32|uint64(d)))
	var calls []Call
	for _, b := range m.buckets {
		n := int(math.Floor(b.cum[d+1]+b.phase) - math.Floor(b.cum[d]+b.phase))
		for range n {
			calls = append(calls, m.draw(r, b, day))
		}
	}
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].ReceivedAt.Before(calls[j].ReceivedAt) })
	return calls, nil
}

// draw draws one incident of bucket b on day.
func (m *Model) draw(r *rand.Rand, b *bucket, day time.Time) Call {
	code := b.cats[pickCum(r, b.catCum)]
	hour := pickHour(r, b.hours)
	at := day.Add(time.Duration(hour)*time.Hour + time.Duration(r.Int64N(int64(time.Hour/time.Second)))*time.Second)
	return m.drawAt(r, code, at, hour)
}

// Draw draws one incident received at t from the mix of that hour: the
// live demo's stream, paced by HourRate.
func (m *Model) Draw(r *rand.Rand, t time.Time) (Call, error) {
	t = t.In(zhufang.ChinaTime)
	d := dayIndex(m.first, Midnight(t))
	if d < 0 || d >= m.days {
		return Call{}, zhufang.Errorf(zhufang.EINVALID, "%s is outside the incident model's range", t.Format(time.DateOnly))
	}
	w := make([]float64, len(m.buckets))
	s := 0.0
	for i, b := range m.buckets {
		sum := 0.0
		for _, v := range b.hours {
			sum += v
		}
		s += (b.cum[d+1] - b.cum[d]) * b.hours[t.Hour()] / sum
		w[i] = s
	}
	b := m.buckets[pickCum(r, w)]
	return m.drawAt(r, b.cats[pickCum(r, b.catCum)], t, t.Hour()), nil
}

// drawAt draws the place and the words of an incident of category code.
func (m *Model) drawAt(r *rand.Rand, code string, at time.Time, hour int) Call {
	var b *bucket
	for _, x := range m.buckets {
		if slices.Contains(x.cats, code) {
			b = x
			break
		}
	}
	i := pickCum(r, b.places)
	c := m.comms[i]
	p, ok := uniformIn(r, c.Area, m.boxes[i])
	if !ok {
		p = c.Seat
	}
	call := Call{ReceivedAt: at, Position: p, Category: code, Community: c, CallerName: personName(r), CallerPhone: phone(r)}
	call.Description, call.PlaceType, call.Flags = describe(r, code, m.names[code], hour)
	call.Address = c.Name + nearby[r.IntN(len(nearby))]
	return call
}

var nearby = []string{"附近", "路口", "小区门口", "菜市场旁", "商店门前", "村口", "广场"}

// describe writes what a caller says, with the place and the flags the
// call-taker records.
func describe(r *rand.Rand, code, name string, hour int) (string, string, zhufang.IncidentFlags) {
	var f zhufang.IncidentFlags
	says := func(options ...string) string { return options[r.IntN(len(options))] }
	chance := func(p float64) bool { return r.Float64() < p }
	switch code {
	case "100100":
		return says("电动车被盗", "回家发现家中被盗", "早上发现车内财物被盗", "手机被偷，小偷刚跑", "店里收银台的钱被偷"), "", f
	case "201000":
		return says("钱包被偷", "有人正在偷电瓶", "发现有人在停车场偷东西", "昨晚放在门口的东西被偷"), "", f
	case TelecomFraud:
		return says("接到冒充客服的电话被骗转账", "刷单返利被骗", "冒充公检法来电被骗", "网上投资理财被骗"), "", f
	case "100600", "201200":
		return says("被人以介绍工作为名骗走钱款", "买东西付款后对方失联", "被冒充熟人借钱骗走钱款"), "", f
	case "100200", "100300", "100500", "100400", "101000", "101100":
		f.Weapon, f.Injured = chance(0.25), chance(0.4)
		return says("有人被打伤", "被人抢走包", "路边有人持刀伤人", "被人拦路抢劫"), "street", f
	case "200100":
		f.Weapon, f.Injured = chance(0.08), chance(0.2)
		place := ""
		if hour >= 21 || hour < 4 {
			place = says("bar", "ktv", "entertainment", "internet_cafe", "restaurant", "street")
		}
		return says("多人在路边打架", "饭店门口有人斗殴", "有人打起来了"), place, f
	case "200200", "209100":
		return says("邻里因噪音发生纠纷", "因停车位发生口角", "双方正在吵架，快打起来了", "因欠款发生纠纷", "家庭成员之间发生矛盾", "土地边界纠纷"), "", f
	case "200600":
		f.Injured, f.Minors = chance(0.15), chance(0.2)
		return says("丈夫正在打人", "家暴求助", "夫妻吵架动手"), "home", f
	case "300100":
		f.Injured, f.Trapped = chance(0.2), chance(0.03)
		return says("两车追尾", "电动车与小车相撞", "车辆侧翻", "路口发生剐蹭"), "road", f
	case FatalTraffic, "300300":
		f.Injured = true
		return says("车祸有人倒地不起", "撞人后车辆逃逸", "货车与摩托车相撞"), "road", f
	case "400100", "400200":
		f.Trapped = chance(0.05)
		return says("居民楼冒烟", "有人被困电梯", "山林起火", "店铺着火"), "", f
	case "500100":
		f.Minors = chance(0.4)
		return says("老人走失", "小孩走失", "家人联系不上"), "", f
	}
	return "报警称：" + name, "", f
}

// pickCum picks an index with probability proportional to the steps of
// the cumulative weights.
func pickCum(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	return min(sort.SearchFloat64s(cum, x), len(cum)-1)
}

func pickHour(r *rand.Rand, w *[24]float64) int {
	s := 0.0
	for _, v := range w {
		s += v
	}
	x := r.Float64() * s
	for h, v := range w {
		if x < v {
			return h
		}
		x -= v
	}
	return 23
}

// Midnight returns the start of t's day in China time.
func Midnight(t time.Time) time.Time {
	y, mo, d := t.In(zhufang.ChinaTime).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, zhufang.ChinaTime)
}

// dayIndex counts the days from first to day, both midnights China time
// (which keeps no daylight saving time).
func dayIndex(first, day time.Time) int {
	return int(math.Floor(day.Sub(first).Hours() / 24))
}

func last(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}
