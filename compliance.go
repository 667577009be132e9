package zhufang

import (
	"context"
	"sort"
	"strconv"
	"time"
)

// ClockedIncident is what a compliance report needs of one incident.
type ClockedIncident struct {
	ID         int64
	StationID  int64
	Zone       ZoneKind
	ReceivedAt time.Time
	State      IncidentState
	Due        Deadlines // the zone's 1-3-5 deadlines, as stored
	// Triage holds the incident's lane (Lane, AlsoStreet), which decides
	// the clocks it runs (LaneClock).
	Triage      TriageResult
	Transitions []Transition
}

// Results judges the incident's stages at now, against its lane's clocks.
func (c ClockedIncident) Results(now time.Time) []StageResult {
	var ended time.Time
	if c.State.Terminal() && len(c.Transitions) > 0 {
		ended = c.Transitions[len(c.Transitions)-1].At
	}
	return Compliance(LaneClock(c.Triage, c.Due), MilestonesOf(c.Transitions), ended, now)
}

// IncidentResults judges an incident's stages at now, from its history.
func IncidentResults(inc *Incident, ts []Transition, now time.Time) []StageResult {
	return ClockedIncident{ID: inc.ID, State: inc.State, Due: inc.Due, Triage: inc.Triage, Transitions: ts}.Results(now)
}

// ComplianceRow is the 1-3-5 standing of one group of incidents: per stage,
// how many were clocked (met or breached) and how many met.
type ComplianceRow struct {
	Key       string            `json:"key"`
	Incidents int               `json:"incidents"`
	Clocked   map[Stage]int     `json:"clocked"`
	Met       map[Stage]int     `json:"met"`
	Rate      map[Stage]float64 `json:"rate"` // met / clocked, 0..1; absent when nothing was clocked
}

// ComplianceGroups names the ways a report can group incidents.
var ComplianceGroups = []string{"zone", "station", "day", "month"}

// AggregateCompliance groups incidents by zone, station, day or month
// (China time) and counts their stages at now. Stages still running are not
// counted; stages of incidents that ended another way in time are not
// clocked.
func AggregateCompliance(incs []ClockedIncident, by string, now time.Time) ([]ComplianceRow, error) {
	var key func(ClockedIncident) string
	switch by {
	case "zone":
		key = func(c ClockedIncident) string { return string(c.Zone) }
	case "station":
		key = func(c ClockedIncident) string { return strconv.FormatInt(c.StationID, 10) }
	case "day":
		key = func(c ClockedIncident) string { return c.ReceivedAt.In(ChinaTime).Format("2006-01-02") }
	case "month":
		key = func(c ClockedIncident) string { return c.ReceivedAt.In(ChinaTime).Format("2006-01") }
	default:
		return nil, Errorf(EINVALID, "group by %q must be zone, station, day or month", by)
	}
	rows := map[string]*ComplianceRow{}
	for _, c := range incs {
		k := key(c)
		r := rows[k]
		if r == nil {
			r = &ComplianceRow{Key: k, Clocked: map[Stage]int{}, Met: map[Stage]int{}, Rate: map[Stage]float64{}}
			rows[k] = r
		}
		r.Incidents++
		for _, s := range c.Results(now) {
			if s.Met || s.Breached {
				r.Clocked[s.Stage]++
			}
			if s.Met {
				r.Met[s.Stage]++
			}
		}
	}
	out := make([]ComplianceRow, 0, len(rows))
	for _, r := range rows {
		for s, n := range r.Clocked {
			r.Rate[s] = float64(r.Met[s]) / float64(n)
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// ComplianceService reads what compliance reports need.
type ComplianceService interface {
	// FindClockedIncidents returns the incidents received in [from, to)
	// with their transitions.
	FindClockedIncidents(ctx context.Context, from, to time.Time) ([]ClockedIncident, error)
}

// IncidentCount is how many incidents are in one state and lane.
type IncidentCount struct {
	State IncidentState
	Lane  Lane
	N     int64
}
