package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"zhufang"
)

// The console's live updates are server-sent events. Each browser gets
// only the events of its user's ground, each with the outbox ID, so a
// dropped connection resumes with Last-Event-ID and misses nothing.

// hub fans the event bus out to the connected consoles.
type hub struct {
	closing   chan struct{} // closed when the server shuts down
	closeOnce sync.Once
	mu        sync.Mutex
	clients   map[*sseClient]struct{}
	last      atomic.Int64 // the newest event ID seen, for pages to resume from
	n         atomic.Int64 // connected clients, for metrics and tests
}

// sseClient is one connected console.
type sseClient struct {
	scope zhufang.Scope
	units bool // the user may see units: positions and unit changes
	ch    chan zhufang.Event
	gone  chan struct{} // closed when the hub drops a client that fell behind
	once  sync.Once
}

// clientBuffer is how many events a console may fall behind before it is
// dropped; it then reconnects and replays from the store.
const clientBuffer = 512

func (h *hub) add(c *sseClient) {
	h.mu.Lock()
	if h.clients == nil {
		h.clients = map[*sseClient]struct{}{}
	}
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	h.n.Add(1)
}

func (h *hub) remove(c *sseClient) {
	h.mu.Lock()
	h.dropLocked(c)
	h.mu.Unlock()
}

// dropLocked takes a client off the hub and tells its handler to end, with
// h.mu held. Dropping twice is harmless.
func (h *hub) dropLocked(c *sseClient) {
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		h.n.Add(-1)
	}
	c.once.Do(func() { close(c.gone) })
}

// CloseStreams ends every live stream, for a server shutting down: the
// consoles reconnect to another node or when this one is back.
func (s *Server) CloseStreams() { s.hub.closeOnce.Do(func() { close(s.hub.closing) }) }

// Clients returns how many consoles are connected.
func (s *Server) Clients() int { return int(s.hub.n.Load()) }

// runHub reads the bus until ctx ends, passing each event to the clients
// whose ground it touches. A client that cannot keep up is dropped, never
// waited for.
func (s *Server) runHub(ctx context.Context) {
	for ctx.Err() == nil {
		ch, cancel := s.Events.Subscribe()
		s.pump(ctx, ch)
		cancel()
		// The bus dropped the hub: events are being missed. Every console
		// is sent away to reconnect, and replays from the outbox.
		s.hub.mu.Lock()
		for c := range s.hub.clients {
			s.hub.dropLocked(c)
		}
		s.hub.mu.Unlock()
		select { // dropped by the bus: subscribe again
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) pump(ctx context.Context, ch <-chan zhufang.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			if e.ID > s.hub.last.Load() {
				s.hub.last.Store(e.ID)
			}
			j := s.jurisdictionOf(ctx, e)
			s.hub.mu.Lock()
			for c := range s.hub.clients {
				if !j.seenBy(c.scope) && e.Topic != zhufang.TopicUnitPositions {
					continue
				}
				select {
				case c.ch <- e:
				default:
					s.hub.dropLocked(c)
				}
			}
			s.hub.mu.Unlock()
		}
	}
}

// eventGround is the ground an event happened on.
type eventGround struct {
	bureau, station, community int64
	none                       bool // an event that names no ground: the city sees it
}

func (g eventGround) seenBy(s zhufang.Scope) bool {
	if g.none {
		return s.Level == zhufang.ScopeCity
	}
	return s.Covers(g.bureau, g.station, g.community)
}

// eventBody is the part of an event payload the hub reads.
type eventBody struct {
	Incident *struct {
		ID          int64 `json:"id"`
		BureauID    int64 `json:"bureau_id"`
		StationID   int64 `json:"station_id"`
		CommunityID int64 `json:"community_id"`
	} `json:"incident"`
	Assignment *struct {
		IncidentID int64 `json:"incident_id"`
		UnitID     int64 `json:"unit_id"`
	} `json:"assignment"`
	// A breach and a transition made by a crew name only their incident.
	Breach *struct {
		IncidentID int64  `json:"incident_id"`
		Stage      string `json:"stage"`
	} `json:"breach"`
	Transition *struct {
		IncidentID int64 `json:"incident_id"`
	} `json:"transition"`
	IncidentID int64 `json:"incident_id"`
	UnitID     int64 `json:"unit_id"`
}

// incidentOf is the incident an event is about, 0 for none.
func (b *eventBody) incidentOf() int64 {
	switch {
	case b.Incident != nil:
		return b.Incident.ID
	case b.Assignment != nil:
		return b.Assignment.IncidentID
	case b.Breach != nil:
		return b.Breach.IncidentID
	case b.Transition != nil:
		return b.Transition.IncidentID
	}
	return b.IncidentID
}

// jurisdictionOf finds whose ground an event is on, from its payload or,
// for an assignment, from its incident.
func (s *Server) jurisdictionOf(ctx context.Context, e zhufang.Event) eventGround {
	var b eventBody
	if json.Unmarshal(e.Payload, &b) != nil {
		return eventGround{none: true}
	}
	switch {
	case b.Incident != nil:
		return eventGround{bureau: b.Incident.BureauID, station: b.Incident.StationID, community: b.Incident.CommunityID}
	case b.incidentOf() != 0:
		inc, err := s.Incidents.FindIncidentByID(zhufang.NewContextWithActor(ctx, nil), b.incidentOf())
		if err != nil {
			return eventGround{none: true}
		}
		return eventGround{bureau: inc.BureauID, station: inc.StationID, community: inc.CommunityID}
	case b.UnitID != 0:
		if u := s.unitRef(b.UnitID); u != nil {
			c, err := s.city(ctx)
			if err == nil {
				return eventGround{bureau: c.bureauOf(u.StationID), station: u.StationID, community: u.CommunityID}
			}
		}
	}
	return eventGround{none: true}
}

// replayLimit is the most events a reconnecting console is sent; one that
// missed more reloads its page instead.
const replayLimit = 2000

// events streams the user's live updates.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	u := requestFrom(r.Context()).actor.User
	if err := zhufang.Authorize(r.Context(), zhufang.PermViewIncidents); err != nil {
		return err // the stream is of incidents: a role without them has no use for it
	}
	rc := http.NewResponseController(w)
	last, _ := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	if last == 0 {
		last, _ = strconv.ParseInt(r.URL.Query().Get("last"), 10, 64)
	}
	c := &sseClient{scope: u.Scope, units: u.Can(zhufang.PermViewUnits), ch: make(chan zhufang.Event, clientBuffer), gone: make(chan struct{})}
	// Join before replaying, so nothing falls between the two; what both
	// deliver is sent once.
	s.hub.add(c)
	defer s.hub.remove(c)

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(format string, args ...any) error {
		rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := write("retry: 2000\n\n"); err != nil {
		return nil
	}
	sent := last
	if last > 0 && s.EventLog != nil {
		evs, err := s.EventLog.FindEventsSince(r.Context(), last, replayLimit)
		if err != nil {
			return nil // the client retries
		}
		if len(evs) == replayLimit {
			write("event: reload\ndata: {}\n\n")
			return nil
		}
		for _, e := range evs {
			if !s.jurisdictionOf(r.Context(), e).seenBy(c.scope) {
				sent = e.ID
				continue
			}
			if err := s.writeEvent(write, c, e); err != nil {
				return nil
			}
			sent = e.ID
		}
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-c.gone:
			return nil // fell behind: the browser reconnects and replays
		case <-s.hub.closing:
			return nil
		case <-keepalive.C:
			// A session ended meanwhile (sign-out, disabled user, expiry)
			// ends the stream; the browser's reconnect then meets the
			// sign-in check.
			if rq, err := s.identify(r); err != nil || rq.actor == nil || rq.actor.User == nil {
				return nil
			}
			if err := write(": keepalive\n\n"); err != nil {
				return nil
			}
		case e := <-c.ch:
			if e.ID != 0 && e.ID <= sent {
				continue
			}
			if err := s.writeEvent(write, c, e); err != nil {
				return nil
			}
			if e.ID != 0 {
				sent = e.ID
			}
		}
	}
}

// sseMessage is what a browser is told: which record changed. It fetches
// the record itself through the scoped pages, so no personal data travels
// in events.
type sseMessage struct {
	Topic      string `json:"topic"`
	IncidentID int64  `json:"incident_id,omitempty"`
	UnitID     int64  `json:"unit_id,omitempty"`
	Status     string `json:"status,omitempty"`
	Stage      string `json:"stage,omitempty"`
}

// writeEvent sends one event in the console's form.
func (s *Server) writeEvent(write func(string, ...any) error, c *sseClient, e zhufang.Event) error {
	if e.Topic == zhufang.TopicUnitPositions {
		if !c.units {
			return nil
		}
		return s.writePositions(write, c, e)
	}
	if e.Topic == zhufang.TopicUnitStatus && !c.units {
		return nil
	}
	var p struct {
		eventBody
		Status     string `json:"status"`
		UnitStatus string `json:"unit_status"`
		Stage      string `json:"stage"`
	}
	json.Unmarshal(e.Payload, &p)
	m := sseMessage{Topic: e.Topic, UnitID: p.UnitID, IncidentID: p.incidentOf(), Status: p.Status, Stage: p.Stage}
	if p.Breach != nil {
		m.Stage = p.Breach.Stage
	}
	if p.Assignment != nil {
		m.IncidentID, m.UnitID, m.Status = p.Assignment.IncidentID, p.Assignment.UnitID, p.UnitStatus
	}
	if !c.units {
		m.UnitID, m.Status = 0, ""
	}
	b, _ := json.Marshal(m)
	return write("id: %d\nevent: change\ndata: %s\n\n", e.ID, b)
}

// writePositions sends the moved units on the console's ground as
// [id, lon, lat] triples. Positions are not resumable: the next report
// supersedes a missed one.
func (s *Server) writePositions(write func(string, ...any) error, c *sseClient, e zhufang.Event) error {
	var p struct {
		Reports []zhufang.PositionReport `json:"reports"`
	}
	if json.Unmarshal(e.Payload, &p) != nil {
		return nil
	}
	city, err := s.city(context.Background())
	if err != nil {
		return nil
	}
	out := make([][3]float64, 0, len(p.Reports))
	for _, rep := range p.Reports {
		u := s.unitRef(rep.UnitID)
		if u == nil || !c.scope.Covers(city.bureauOf(u.StationID), u.StationID, u.CommunityID) {
			continue
		}
		out = append(out, [3]float64{float64(rep.UnitID), rep.Point.Lon, rep.Point.Lat})
	}
	if len(out) == 0 {
		return nil
	}
	b, _ := json.Marshal(out)
	return write("event: positions\ndata: %s\n\n", b)
}
