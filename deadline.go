package zhufang

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ZoneKind is the response-time profile of an area under the 1-3-5 rule:
// an urban core can be held to 1/3/5 minutes, a mountain village cannot.
type ZoneKind string

// Zone kinds.
const (
	ZoneUrbanCore ZoneKind = "urban_core"
	ZoneUrban     ZoneKind = "urban"
	ZoneSuburban  ZoneKind = "suburban"
	ZoneRural     ZoneKind = "rural"
)

// ZoneKinds lists the zone kinds from the strictest.
var ZoneKinds = []ZoneKind{ZoneUrbanCore, ZoneUrban, ZoneSuburban, ZoneRural}

// ZoneProfile holds the three intervals of the 1-3-5 rule for one zone kind,
// all measured from receipt: to a unit acknowledging, to a unit on scene,
// and to handling under way.
type ZoneProfile struct {
	Acknowledge time.Duration `json:"acknowledge"`
	OnScene     time.Duration `json:"on_scene"`
	Handling    time.Duration `json:"handling"`
}

// Validate checks that the intervals are positive and in order.
func (p ZoneProfile) Validate() error {
	if p.Acknowledge <= 0 || p.OnScene < p.Acknowledge || p.Handling < p.OnScene {
		return Errorf(EINVALID, "zone thresholds must satisfy 0 < acknowledge ≤ on scene ≤ handling, got %s/%s/%s",
			p.Acknowledge, p.OnScene, p.Handling)
	}
	return nil
}

// ZoneProfiles maps every zone kind to its profile.
type ZoneProfiles map[ZoneKind]ZoneProfile

// DefaultZoneProfiles are 1/3/5 minutes in urban cores and looser outside,
// after the province's own "城区5分钟、城郊10分钟" arrival rule.
func DefaultZoneProfiles() ZoneProfiles {
	return ZoneProfiles{
		ZoneUrbanCore: {Acknowledge: 1 * time.Minute, OnScene: 3 * time.Minute, Handling: 5 * time.Minute},
		ZoneUrban:     {Acknowledge: 1 * time.Minute, OnScene: 5 * time.Minute, Handling: 8 * time.Minute},
		ZoneSuburban:  {Acknowledge: 2 * time.Minute, OnScene: 10 * time.Minute, Handling: 15 * time.Minute},
		ZoneRural:     {Acknowledge: 3 * time.Minute, OnScene: 20 * time.Minute, Handling: 30 * time.Minute},
	}
}

// Validate checks that every zone kind has a valid profile.
func (z ZoneProfiles) Validate() error {
	for _, k := range ZoneKinds {
		p, ok := z[k]
		if !ok {
			return Errorf(EINVALID, "zone %s has no thresholds", k)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("zone %s: %w", k, err)
		}
	}
	return nil
}

// Deadlines are an incident's absolute due times, fixed at intake so that a
// board, a report and an alert all read the same numbers.
type Deadlines struct {
	Acknowledge time.Time `json:"acknowledge"`
	OnScene     time.Time `json:"on_scene"`
	Handling    time.Time `json:"handling"`
}

// DueTimes returns the deadlines of an incident received at t in a zone
// with profile p.
func DueTimes(t time.Time, p ZoneProfile) Deadlines {
	return Deadlines{Acknowledge: t.Add(p.Acknowledge), OnScene: t.Add(p.OnScene), Handling: t.Add(p.Handling)}
}

// Stage is one of the three clocked stages of the 1-3-5 rule.
type Stage string

// The clocked stages.
const (
	StageAcknowledge Stage = "acknowledge"
	StageOnScene     Stage = "on_scene"
	StageHandling    Stage = "handling"
)

// Stages lists the clocked stages in order.
var Stages = []Stage{StageAcknowledge, StageOnScene, StageHandling}

// reachedBy names the state that meets each stage.
var reachedBy = map[Stage]IncidentState{StageAcknowledge: StateAcknowledged, StageOnScene: StateOnScene, StageHandling: StateHandling}

// Due returns the deadline of a stage.
func (d Deadlines) Due(s Stage) time.Time {
	switch s {
	case StageAcknowledge:
		return d.Acknowledge
	case StageOnScene:
		return d.OnScene
	}
	return d.Handling
}

// Milestones are the times an incident reached each clocked stage; zero for
// a stage not reached.
type Milestones map[Stage]time.Time

// MilestonesOf reads the stage times from an incident's transitions. A later
// stage also meets the earlier ones it skipped: going to handling without a
// recorded arrival still counts as handling, not as a missed arrival.
func MilestonesOf(ts []Transition) Milestones {
	m := Milestones{}
	for _, t := range ts {
		rank, ok := stateRank[t.To]
		if !ok {
			continue
		}
		for _, s := range Stages {
			if rank >= stateRank[reachedBy[s]] && m[s].IsZero() {
				m[s] = t.At
			}
		}
	}
	return m
}

// StageResult is how one stage of one incident went.
type StageResult struct {
	Stage   Stage     `json:"stage"`
	Due     time.Time `json:"due"`
	Reached time.Time `json:"reached,omitzero"`
	// Met is true when reached by the due time; Breached when the due time
	// passed before it was reached. An incident that ended another way
	// (cancelled, duplicate, redirected) before the due time is neither.
	Met      bool `json:"met"`
	Breached bool `json:"breached"`
}

// Compliance judges each stage of an incident at time now, against the
// deadlines of its lane (LaneClock): a stage its lane does not clock (no
// due time) is neither met nor breached.
func Compliance(due Deadlines, m Milestones, endedAt time.Time, now time.Time) []StageResult {
	out := make([]StageResult, 0, len(Stages))
	for _, s := range Stages {
		r := StageResult{Stage: s, Due: due.Due(s), Reached: m[s]}
		switch {
		case r.Due.IsZero():
			// not clocked in this lane
		case !r.Reached.IsZero():
			r.Met = !r.Reached.After(r.Due)
			r.Breached = !r.Met
		case !endedAt.IsZero() && !endedAt.After(r.Due):
			// ended in time by another branch: not clocked
		default:
			r.Breached = now.After(r.Due)
		}
		out = append(out, r)
	}
	return out
}

// Breach is a stage whose due time passed before it was reached.
type Breach struct {
	IncidentID int64     `json:"incident_id"`
	Stage      Stage     `json:"stage"`
	Due        time.Time `json:"due"`
}

// OpenBreaches lists the stages of an incident still in state that are
// overdue at now, of the deadlines of its lane (LaneClock). A stage
// already reached, or one its lane does not clock, is not a breach to
// raise.
func OpenBreaches(id int64, state IncidentState, due Deadlines, now time.Time) []Breach {
	if state.Terminal() {
		return nil
	}
	var out []Breach
	for _, s := range Stages {
		if stateRank[state] >= stateRank[reachedBy[s]] || due.Due(s).IsZero() {
			continue
		}
		if now.After(due.Due(s)) {
			out = append(out, Breach{IncidentID: id, Stage: s, Due: due.Due(s)})
		}
	}
	return out
}

// NextDue returns the earliest deadline after now of a stage not yet
// reached, for a watcher to sleep until; zero if none remains.
func NextDue(state IncidentState, due Deadlines, now time.Time) time.Time {
	if state.Terminal() {
		return time.Time{}
	}
	for _, s := range Stages {
		if d := due.Due(s); stateRank[state] < stateRank[reachedBy[s]] && !d.IsZero() && !now.After(d) {
			return d
		}
	}
	return time.Time{}
}

// PendingDue returns the deadline of the first clocked stage the incident
// has not reached, whether it has passed or not: what makes an open
// incident urgent, so a board shows the smallest first and an overdue one
// above all that are not. Zero when every clocked stage is reached or the
// incident has ended.
func PendingDue(state IncidentState, due Deadlines) time.Time {
	if state.Terminal() {
		return time.Time{}
	}
	for _, s := range Stages {
		if d := due.Due(s); stateRank[state] < stateRank[reachedBy[s]] && !d.IsZero() {
			return d
		}
	}
	return time.Time{}
}

// UrgencyKey is where an open incident stands among others, most urgent
// first, as one string: the deadline of its first clocked stage not
// reached, passed or not (PendingDue), so the most overdue comes first
// and an incident with nothing left to clock last; then the oldest; then
// the first taken. Every field is fixed-width hexadecimal (nanoseconds
// since 1970, or the ID), so comparing keys as strings compares the
// numbers: a board's server and its script order rows by the key alone,
// and the rule stays here.
func UrgencyKey(state IncidentState, clock Deadlines, receivedAt time.Time, id int64) string {
	pending := PendingDue(state, clock)
	none := byte('0')
	if pending.IsZero() {
		none = '1'
	}
	b := make([]byte, 0, 1+3*16)
	b = append(b, none)
	for _, v := range [3]int64{unixNano(pending), unixNano(receivedAt), id} {
		b = fmt.Appendf(b, "%016x", max(v, 0))
	}
	return string(b)
}

// unixNano is t in nanoseconds since 1970, 0 for no time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// LaneClock returns the deadlines an incident of a lane is held to, taken
// from the zone's 1-3-5 deadlines that intake fixed; a zero time is a
// stage the lane does not clock. The 1-3-5 rule is for the street: a
// street incident, or a dispute live on the street, runs all three
// clocks. No unit races to a theft reported the morning after, to a
// dispute for mediation or to a hand-off to 12345 or another department:
// those run one clock, for whoever takes them over to take them up
// (acknowledge, or hand the incident on), within the zone's whole 1-3-5
// window (its handling deadline). The watcher, the board and compliance
// statistics all read the clocks from here.
func LaneClock(tr TriageResult, due Deadlines) Deadlines {
	switch {
	case tr.Streetward(), !slices.Contains(Lanes, tr.Lane):
		// A lane not known keeps the full rule: stricter, never silent.
		return due
	}
	return Deadlines{Acknowledge: due.Handling}
}

// Clock returns the deadlines the incident's lane holds it to (LaneClock).
func (inc *Incident) Clock() Deadlines { return LaneClock(inc.Triage, inc.Due) }

// stateRank orders the main flow, so that "reached on scene" also means
// "acknowledged".
var stateRank = map[IncidentState]int{StateReceived: 0, StateDispatched: 1, StateAcknowledged: 2, StateOnScene: 3,
	StateHandling: 4, StateFeedback: 5, StateClosed: 6}

// OpenDeadline is what the breach watcher needs of an open incident.
type OpenDeadline struct {
	IncidentID int64
	State      IncidentState
	Due        Deadlines // the zone's 1-3-5 deadlines, as stored
	// Triage holds the incident's lane (Lane, AlsoStreet), which decides
	// the clocks it runs.
	Triage TriageResult
}

// Clock returns the deadlines the incident's lane holds it to (LaneClock).
func (d OpenDeadline) Clock() Deadlines { return LaneClock(d.Triage, d.Due) }

// BreachService records breaches of the 1-3-5 rule.
type BreachService interface {
	// FindOpenDeadlines lists the incidents not yet ended that have a
	// stage still to reach (PendingDue is not zero).
	FindOpenDeadlines(ctx context.Context) ([]OpenDeadline, error)
	// RaiseBreach records a breach and its event unless that stage of that
	// incident was raised before; it reports whether this call raised it.
	// Several watchers (one per node) may race: exactly one raises.
	RaiseBreach(ctx context.Context, b Breach) (bool, error)
}

// ParseZoneProfiles reads thresholds such as
// "urban_core=1m/3m/5m,rural=3m/20m/30m" over the defaults: each named zone
// gets acknowledge/on scene/handling as Go durations.
func ParseZoneProfiles(s string) (ZoneProfiles, error) {
	z := DefaultZoneProfiles()
	if strings.TrimSpace(s) == "" {
		return z, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, vals, ok := strings.Cut(strings.TrimSpace(part), "=")
		kind := ZoneKind(name)
		if !ok || !slices.Contains(ZoneKinds, kind) {
			return nil, Errorf(EINVALID, "zone thresholds %q: write zone=ack/scene/handling with a zone of urban_core, urban, suburban, rural", part)
		}
		ds := strings.Split(vals, "/")
		if len(ds) != 3 {
			return nil, Errorf(EINVALID, "zone %s: give three durations, acknowledge/on scene/handling, like 1m/3m/5m", name)
		}
		var p [3]time.Duration
		for i, d := range ds {
			v, err := time.ParseDuration(d)
			if err != nil {
				return nil, Errorf(EINVALID, "zone %s: %q is not a duration like 90s or 3m", name, d)
			}
			p[i] = v
		}
		z[kind] = ZoneProfile{Acknowledge: p[0], OnScene: p[1], Handling: p[2]}
	}
	return z, z.Validate()
}

// OnSceneOutlook is whether any unit offered for an incident can be on
// scene by its on-scene deadline: an urban-core call whose nearest units
// are nine minutes away cannot meet a three-minute limit, and a dispatcher
// should know it before choosing, to send what comes soonest and to call
// for help.
type OnSceneOutlook struct {
	Due     time.Time     `json:"due"`
	BestETA time.Duration `json:"-"` // as best_eta_seconds
	// Hopeless is set when even the soonest unit arrives after Due; Late
	// is then by how much.
	Hopeless bool          `json:"hopeless"`
	Late     time.Duration `json:"-"` // as late_seconds
}

// MarshalJSON gives the durations in whole seconds.
func (o OnSceneOutlook) MarshalJSON() ([]byte, error) {
	type plain OnSceneOutlook
	return json.Marshal(struct {
		plain
		BestETASeconds int64 `json:"best_eta_seconds"`
		LateSeconds    int64 `json:"late_seconds"`
	}{plain(o), int64(o.BestETA.Round(time.Second) / time.Second), int64(o.Late.Round(time.Second) / time.Second)})
}

// OnSceneOutlookOf judges the units offered at now (their ETAs) against
// the incident's on-scene deadline of its lane's clock. It reports false
// when there is nothing to judge: no unit offered, an on-scene stage the
// lane does not clock, or one the incident has reached.
func OnSceneOutlookOf(state IncidentState, clock Deadlines, now time.Time, etas ...time.Duration) (OnSceneOutlook, bool) {
	due := clock.OnScene
	if len(etas) == 0 || due.IsZero() || state.Terminal() || stateRank[state] >= stateRank[StateOnScene] {
		return OnSceneOutlook{}, false
	}
	o := OnSceneOutlook{Due: due, BestETA: slices.Min(etas)}
	if arrive := now.Add(o.BestETA); arrive.After(due) {
		o.Hopeless, o.Late = true, arrive.Sub(due)
	}
	return o, true
}
