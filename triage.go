package zhufang

import (
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lane is the output of 一统三分 triage.
type Lane string

// The four lanes.
const (
	LaneStreet  Lane = "street"  // 街面警情
	LaneCase    Lane = "case"    // 案件警情
	LaneDispute Lane = "dispute" // 纠纷警情
	LaneAssign  Lane = "assign"  // 分流指派
)

// Lanes lists the four lanes in the order of 一统三分.
var Lanes = []Lane{LaneStreet, LaneCase, LaneDispute, LaneAssign}

// CheckLane returns EINVALID for a lane that is not one of Lanes.
func CheckLane(l Lane) error {
	if slices.Contains(Lanes, l) {
		return nil
	}
	return Errorf(EINVALID, "lane %q must be street, case, dispute or assign", l)
}

// TriageResult is the lane an incident was put in and why.
type TriageResult struct {
	Lane Lane `json:"lane"`
	// Rule is the ID of the rule that fired, or "override".
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// AlsoStreet is set for a dispute whose scene is live: it goes to
	// mediation and to street dispatch.
	AlsoStreet bool `json:"also_street,omitempty"`
	// AssignTo says who takes an assign-lane incident: station, 12345, or a
	// department.
	AssignTo string `json:"assign_to,omitempty"`
	// OverriddenBy names the dispatcher who changed the lane the rules gave
	// (RuleLane).
	OverriddenBy string `json:"overridden_by,omitempty"`
	RuleLane     Lane   `json:"rule_lane,omitempty"`
}

// Streetward reports whether a street unit should be dispatched.
func (r TriageResult) Streetward() bool { return r.Lane == LaneStreet || r.AlsoStreet }

// TriageInput is what the rules look at.
type TriageInput struct {
	Category    string
	Description string
	PlaceType   string
	ReceivedAt  time.Time
	Flags       IncidentFlags
}

// TriageRule is one line of the rules file.
type TriageRule struct {
	ID       string
	Lane     Lane
	Cats     []string
	NotCats  []string
	Keywords []string
	NotWords []string
	Places   []string
	Hours    [2]int // from, to (local); from == to means any time
	Flags    []string
	Live     bool
	AssignTo string
	Reason   string
	Line     int
}

// Triage is a parsed, ordered rule set.
type Triage struct {
	Rules []TriageRule
}

//go:embed triage.rules
var defaultTriageRules string

// DefaultTriage returns the shipped rules.
func DefaultTriage() *Triage {
	t, err := ParseTriage(defaultTriageRules)
	if err != nil {
		panic("shipped triage rules do not parse: " + err.Error())
	}
	return t
}

// ChinaTime is UTC+8, the local time of triage hours, incident numbers and
// daily reports. A fixed zone: China keeps no daylight saving, and a fixed
// zone needs no time-zone database on the server.
var ChinaTime = time.FixedZone("CST", 8*3600)

// Classify puts an incident in a lane: the first rule that matches.
func (t *Triage) Classify(in TriageInput) TriageResult {
	for i := range t.Rules {
		r := &t.Rules[i]
		if r.matches(in) {
			return TriageResult{Lane: r.Lane, Rule: r.ID, Reason: r.Reason, AlsoStreet: r.Live, AssignTo: r.AssignTo}
		}
	}
	// ParseTriage insists on a final catch-all, so this is not reached.
	return TriageResult{Lane: LaneAssign, Rule: "none", Reason: "no rule matched", AssignTo: "station"}
}

func (r *TriageRule) matches(in TriageInput) bool {
	if len(r.Cats) > 0 && !hasPrefix(in.Category, r.Cats) {
		return false
	}
	if hasPrefix(in.Category, r.NotCats) {
		return false
	}
	if len(r.Keywords) > 0 && !containsAny(in.Description, r.Keywords) {
		return false
	}
	if containsAny(in.Description, r.NotWords) {
		return false
	}
	if len(r.Places) > 0 && !slices.Contains(r.Places, in.PlaceType) {
		return false
	}
	if r.Hours[0] != r.Hours[1] {
		h := in.ReceivedAt.In(ChinaTime).Hour()
		from, to := r.Hours[0], r.Hours[1]
		in := (from < to && h >= from && h < to) || (from > to && (h >= from || h < to))
		if !in {
			return false
		}
	}
	if len(r.Flags) > 0 && !anyFlag(in.Flags, r.Flags) {
		return false
	}
	return true
}

func hasPrefix(s string, ps []string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func anyFlag(f IncidentFlags, names []string) bool {
	for _, n := range names {
		if (n == "weapon" && f.Weapon) || (n == "injured" && f.Injured) || (n == "trapped" && f.Trapped) || (n == "minors" && f.Minors) {
			return true
		}
	}
	return false
}

// ParseTriage reads a rules file. Errors name the line.
func ParseTriage(src string) (*Triage, error) {
	t := &Triage{}
	ids := map[string]bool{}
	for n, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseRule(line, n+1)
		if err != nil {
			return nil, err
		}
		if ids[r.ID] {
			return nil, Errorf(EINVALID, "triage rules line %d: rule %s is defined twice", n+1, r.ID)
		}
		ids[r.ID] = true
		t.Rules = append(t.Rules, r)
	}
	if len(t.Rules) == 0 {
		return nil, Errorf(EINVALID, "triage rules: no rules")
	}
	last := t.Rules[len(t.Rules)-1]
	if len(last.Cats)+len(last.NotCats)+len(last.Keywords)+len(last.NotWords)+len(last.Places)+len(last.Flags) > 0 || last.Hours[0] != last.Hours[1] {
		return nil, Errorf(EINVALID, "triage rules: the last rule (%s, line %d) must have no conditions, so that every incident gets a lane", last.ID, last.Line)
	}
	return t, nil
}

func parseRule(line string, n int) (TriageRule, error) {
	bad := func(format string, args ...any) (TriageRule, error) {
		return TriageRule{}, Errorf(EINVALID, "triage rules line %d: %s", n, fmt.Sprintf(format, args...))
	}
	// The reason follows " | "; keywords use a bare | between them.
	head, reason, ok := strings.Cut(strings.ReplaceAll(line, "\t", " "), " | ")
	if !ok || strings.TrimSpace(reason) == "" {
		return bad("a rule needs a reason after \" | \"")
	}
	f := strings.Fields(head)
	if len(f) < 2 {
		return bad("a rule needs an ID and a lane")
	}
	r := TriageRule{ID: f[0], Lane: Lane(f[1]), Reason: strings.TrimSpace(reason), Line: n}
	if CheckLane(r.Lane) != nil {
		return bad("lane %q must be street, case, dispute or assign", f[1])
	}
	for _, c := range f[2:] {
		if c == "live" {
			r.Live = true
			continue
		}
		k, v, ok := strings.Cut(c, "=")
		if !ok || v == "" {
			return bad("condition %q must be key=value or live", c)
		}
		list := strings.Split(v, ",")
		switch k {
		case "cat", "notcat":
			for _, p := range list {
				if p == "" || len(p) > 6 || !allDigits(p) {
					return bad("category prefix %q must be 1 to 6 digits", p)
				}
			}
			if k == "cat" {
				r.Cats = list
			} else {
				r.NotCats = list
			}
		case "kw":
			r.Keywords = strings.Split(v, "|")
		case "notkw":
			r.NotWords = strings.Split(v, "|")
		case "place":
			r.Places = list
		case "flags":
			for _, fl := range list {
				if !slices.Contains([]string{"weapon", "injured", "trapped", "minors"}, fl) {
					return bad("flag %q must be weapon, injured, trapped or minors", fl)
				}
			}
			r.Flags = list
		case "hours":
			a, b, ok := strings.Cut(v, "-")
			from, err1 := strconv.Atoi(a)
			to, err2 := strconv.Atoi(b)
			if !ok || err1 != nil || err2 != nil || from < 0 || from > 23 || to < 0 || to > 23 || from == to {
				return bad("hours %q must be H-H with different hours 0..23", v)
			}
			r.Hours = [2]int{from, to}
		case "to":
			r.AssignTo = v
		default:
			return bad("unknown condition %q", k)
		}
	}
	if r.Live && r.Lane != LaneDispute {
		return bad("live applies only to the dispute lane")
	}
	if (r.AssignTo != "") != (r.Lane == LaneAssign) {
		return bad("to= is required for the assign lane and only there")
	}
	if slices.ContainsFunc(r.Keywords, func(s string) bool { return s == "" }) || slices.ContainsFunc(r.NotWords, func(s string) bool { return s == "" }) {
		return bad("keywords may not be empty")
	}
	return r, nil
}

// Override changes the lane of a triaged incident, keeping what the rules
// said.
func (r TriageResult) Override(lane Lane, by, reason, assignTo string) (TriageResult, error) {
	if err := CheckLane(lane); err != nil {
		return r, err
	}
	if err := checkActor("an override", by); err != nil {
		return r, err
	}
	if lane == LaneAssign && assignTo == "" {
		assignTo = "station"
	}
	if lane != LaneAssign {
		assignTo = ""
	}
	ruleLane := r.RuleLane
	if ruleLane == "" {
		ruleLane = r.Lane
	}
	return TriageResult{Lane: lane, Rule: "override", Reason: reason, AssignTo: assignTo, OverriddenBy: by, RuleLane: ruleLane,
		AlsoStreet: lane == LaneDispute && r.AlsoStreet}, nil
}
