package demo

import (
	"math"
	"math/rand/v2"
	"time"

	"zhufang"
)

// History turns the model's incidents into ended incidents as the city
// handled them: triaged into their lanes, with their 1-3-5 deadlines, the
// unit sent to each street incident and every state change timed.
//
// How fast the city answered is drawn, not simulated: the unit sent is the
// incident's own station's nearest police unit, its travel time the
// straight-line estimate from the unit's base with a log-normal spread. In
// the first year units wait at their stations; in the second (the reform
// year) they patrol and wait at rapid-response points, which the history
// takes as a 30% shorter drive, guard teams go ahead in towns (警保联动),
// and dispatch is quicker. `zhufang simulate` measures those effects on
// the model instead of assuming them.
type History struct {
	Model  *Model
	Triage *zhufang.Triage
	Zones  zhufang.ZoneProfiles
	// ETA estimates a unit's travel (the recommender's estimator).
	ETA func(from, to zhufang.Point, kind zhufang.UnitKind, zone zhufang.ZoneKind) time.Duration

	police  map[int64][]*zhufang.Unit // station → its police units
	guards  map[int64][]*zhufang.Unit // station → guard teams near it
	bureaus map[int64]int64           // station → bureau
}

// NewHistory prepares a history of the city's stations and units.
func NewHistory(m *Model, t *zhufang.Triage, z zhufang.ZoneProfiles, stations []*zhufang.Station, units []*zhufang.Unit,
	eta func(from, to zhufang.Point, kind zhufang.UnitKind, zone zhufang.ZoneKind) time.Duration) *History {
	h := &History{Model: m, Triage: t, Zones: z, ETA: eta,
		police: map[int64][]*zhufang.Unit{}, guards: map[int64][]*zhufang.Unit{}, bureaus: map[int64]int64{}}
	for _, s := range stations {
		h.bureaus[s.ID] = s.BureauID
	}
	for _, u := range units {
		switch {
		case u.Platform == zhufang.PlatformPolice && u.Kind != zhufang.UnitDrone:
			h.police[u.StationID] = append(h.police[u.StationID], u)
		case u.Kind == zhufang.UnitGuardTeam:
			h.guards[u.StationID] = append(h.guards[u.StationID], u)
		}
	}
	return h
}

// Actor of every change the history records.
const historyActor = "history"

// Day returns the day's incidents as the city handled them.
func (h *History) Day(day time.Time) ([]zhufang.PastIncident, error) {
	calls, err := h.Model.Day(day)
	if err != nil {
		return nil, err
	}
	d := dayIndex(h.Model.first, Midnight(day))
	reformed := d >= h.Model.reform
	r := rand.New(rand.NewPCG(h.Model.seed, 0x6f7574<<32|uint64(d)))
	out := make([]zhufang.PastIncident, len(calls))
	for i := range calls {
		out[i] = h.handle(r, &calls[i], reformed)
	}
	return out, nil
}

// handle gives one call its lane, deadlines and course.
func (h *History) handle(r *rand.Rand, c *Call, reformed bool) zhufang.PastIncident {
	zone := c.Community.Zone
	inc := zhufang.Incident{Source: zhufang.SourceCall110, ReceivedAt: c.ReceivedAt, CallerName: c.CallerName,
		CallerPhone: c.CallerPhone, Address: c.Address, Position: c.Position, Category: c.Category, PlaceType: c.PlaceType,
		Description: c.Description, Flags: c.Flags, CommunityID: c.Community.ID, StationID: c.Community.StationID,
		BureauID: h.bureaus[c.Community.StationID], Zone: zone, CreatedAt: c.ReceivedAt}
	inc.Triage = h.Triage.Classify(zhufang.TriageInput{Category: c.Category, Description: c.Description,
		PlaceType: c.PlaceType, ReceivedAt: c.ReceivedAt, Flags: c.Flags})
	inc.Due = zhufang.DueTimes(c.ReceivedAt, h.Zones[zone])
	p := zhufang.PastIncident{}
	at := c.ReceivedAt
	step := func(to zhufang.IncidentState, after time.Duration) {
		from := zhufang.StateReceived
		if n := len(p.Transitions); n > 0 {
			from = p.Transitions[n-1].To
		}
		at = at.Add(after.Round(time.Second))
		p.Transitions = append(p.Transitions, zhufang.Transition{From: from, To: to, At: at, Actor: historyActor})
	}
	p.Transitions = append(p.Transitions, zhufang.Transition{To: zhufang.StateReceived, At: at, Actor: historyActor})
	switch {
	case r.Float64() < 0.02: // the caller calls it off
		step(zhufang.StateCancelled, spread(r, 90*time.Second, 0.6))
	case inc.Triage.Lane == zhufang.LaneAssign && inc.Triage.AssignTo != "station":
		inc.RedirectedTo = inc.Triage.AssignTo
		step(zhufang.StateRedirected, spread(r, 60*time.Second, 0.5))
	case inc.Triage.Streetward():
		h.street(r, &inc, &p, reformed, step)
	default: // the station's teams take it up where it is
		step(zhufang.StateDispatched, spread(r, 50*time.Second, 0.5))
		step(zhufang.StateAcknowledged, spread(r, 40*time.Second, 0.5))
		step(zhufang.StateHandling, spread(r, 90*time.Second, 0.6))
		step(zhufang.StateFeedback, spread(r, 3*time.Hour, 1))
		step(zhufang.StateClosed, spread(r, 10*time.Minute, 0.8))
	}
	inc.State = p.Transitions[len(p.Transitions)-1].To
	inc.UpdatedAt = at
	p.Incident = inc
	return p
}

// street sends the station's nearest police unit, and in the reform year a
// guard team ahead of it in town.
func (h *History) street(r *rand.Rand, inc *zhufang.Incident, p *zhufang.PastIncident, reformed bool, step func(zhufang.IncidentState, time.Duration)) {
	dispatch, drive := 35*time.Second, 1.0
	if reformed {
		dispatch, drive = 20*time.Second, 0.7
	}
	unit := nearestOf(h.police[inc.StationID], inc.Position)
	step(zhufang.StateDispatched, spread(r, dispatch, 0.5))
	sent := p.Transitions[len(p.Transitions)-1].At
	step(zhufang.StateAcknowledged, spread(r, 12*time.Second, 0.5))
	var eta time.Duration
	if unit != nil {
		eta = h.ETA(unit.Home, inc.Position, unit.Kind, inc.Zone)
	} else {
		eta = 10 * time.Minute
	}
	travel := max(20*time.Second, time.Duration(float64(eta)*drive*math.Exp(0.3*r.NormFloat64())))
	step(zhufang.StateOnScene, travel)
	arrived := p.Transitions[len(p.Transitions)-1].At
	step(zhufang.StateHandling, spread(r, 40*time.Second, 0.5))
	step(zhufang.StateFeedback, spread(r, 25*time.Minute, 0.6))
	cleared := p.Transitions[len(p.Transitions)-1].At
	step(zhufang.StateClosed, spread(r, 8*time.Minute, 0.8))
	if unit != nil {
		p.Assignments = append(p.Assignments, zhufang.Assignment{UnitID: unit.ID, State: zhufang.AssignCleared, Role: "primary",
			AssignedBy: historyActor, ETA: eta.Round(time.Second), CreatedAt: sent, UpdatedAt: cleared})
	}
	if reformed && (inc.Zone == zhufang.ZoneUrbanCore || inc.Zone == zhufang.ZoneUrban) {
		if g := nearestOf(h.guards[inc.StationID], inc.Position); g != nil && g.Home.DistanceMeters(inc.Position) < 1500 {
			p.Assignments = append(p.Assignments, zhufang.Assignment{UnitID: g.ID, State: zhufang.AssignCleared,
				Role: "first_responder", AssignedBy: historyActor, ETA: h.ETA(g.Home, inc.Position, g.Kind, inc.Zone).Round(time.Second),
				CreatedAt: sent, UpdatedAt: arrived.Add(10 * time.Minute)})
		}
	}
}

// nearestOf returns the unit based nearest p, or nil for none.
func nearestOf(units []*zhufang.Unit, p zhufang.Point) *zhufang.Unit {
	var best *zhufang.Unit
	bestD := math.Inf(1)
	for _, u := range units {
		if d := u.Home.DistanceMeters(p); d < bestD {
			best, bestD = u, d
		}
	}
	return best
}

// spread draws a log-normal duration with the given median.
func spread(r *rand.Rand, median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
}
