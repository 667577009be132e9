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
	ch    chan *hubEvent
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
			he := s.prepare(ctx, e)
			s.hub.mu.Lock()
			for c := range s.hub.clients {
				if !he.seenBy(c) {
					continue
				}
				select {
				case c.ch <- he:
				default:
					s.hub.dropLocked(c)
				}
			}
			s.hub.mu.Unlock()
		}
	}
}

// hubEvent is an event as the consoles are told it: decoded once, and its
// message written once for every console that may see it, whatever their
// number. It is shared by the consoles and never changed.
type hubEvent struct {
	id     int64
	ground zhufang.Ground // zero: the event names no ground, and only the city sees it
	// change is the message for a console that may see units; bare, the
	// one for a console that may not (unit IDs and statuses left out), nil
	// when such a console is not told the event at all.
	change, bare []byte
	// positions are the moved units of a unit.positions event, each with
	// its ground: every console gets those on its own ground.
	positions []unitPosition
}

// unitPosition is one unit's new place on the map, in the map's units.
type unitPosition struct {
	ground zhufang.Ground
	xy     [3]float64 // unit ID, x, y
}

// seenBy reports whether the event goes to the console at all.
func (he *hubEvent) seenBy(c *sseClient) bool {
	if he.positions != nil {
		return c.units
	}
	if he.ground.IsZero() {
		return c.scope.Level == zhufang.ScopeCity
	}
	return c.scope.Covers(he.ground.BureauID, he.ground.StationID, he.ground.CommunityID)
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

// prepare decodes an event and writes its messages. The ground comes from
// the event itself (every event body carries its own), so that passing an
// event on reads nothing from the store, whatever the number of consoles.
// An event it cannot read goes to the city's consoles as a bare change.
func (s *Server) prepare(ctx context.Context, e zhufang.Event) *hubEvent {
	he := &hubEvent{id: e.ID}
	body, err := e.Body()
	if err != nil {
		s.Logger.Debug("live updates: an unreadable event", "id", e.ID, "topic", e.Topic, "err", err)
		he.change, _ = json.Marshal(sseMessage{Topic: e.Topic})
		he.bare = he.change
		return he
	}
	he.ground = body.EventGround()
	m := sseMessage{Topic: e.Topic, IncidentID: zhufang.IncidentOf(body)}
	unitsOnly := false
	switch b := body.(type) {
	case zhufang.PositionsReported:
		he.positions = s.positionsOf(ctx, b.Reports)
		return he
	case zhufang.BreachRaised:
		m.Stage = string(b.Breach.Stage)
	case zhufang.AssignmentChanged:
		m.UnitID, m.Status = b.Assignment.UnitID, string(b.UnitStatus)
	case zhufang.UnitStatusChanged:
		m.UnitID, m.Status = b.UnitID, string(b.Status)
		unitsOnly = true
	}
	he.change, _ = json.Marshal(m)
	if !unitsOnly {
		m.UnitID, m.Status = 0, ""
		he.bare, _ = json.Marshal(m)
	}
	return he
}

// positionsOf places moved units on the map, with their grounds. Units the
// console's reference does not know are left out.
func (s *Server) positionsOf(ctx context.Context, reports []zhufang.PositionReport) []unitPosition {
	out := make([]unitPosition, 0, len(reports))
	city, err := s.city(ctx)
	if err != nil {
		return out
	}
	for _, rep := range reports {
		u := s.unitRef(rep.UnitID)
		if u == nil {
			continue
		}
		x, y := city.proj.XY1(rep.Point)
		out = append(out, unitPosition{
			ground: zhufang.Ground{BureauID: city.bureauOf(u.StationID), StationID: u.StationID, CommunityID: u.CommunityID},
			xy:     [3]float64{float64(rep.UnitID), x, y},
		})
	}
	return out
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
	c := &sseClient{scope: u.Scope, units: u.Can(zhufang.PermViewUnits), ch: make(chan *hubEvent, clientBuffer), gone: make(chan struct{})}
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
			if he := s.prepare(r.Context(), e); he.seenBy(c) {
				if err := writeEvent(write, c, he); err != nil {
					return nil
				}
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
		case he := <-c.ch:
			if he.id != 0 && he.id <= sent {
				continue
			}
			if err := writeEvent(write, c, he); err != nil {
				return nil
			}
			if he.id != 0 {
				sent = he.id
			}
		}
	}
}

// writeEvent sends one event in the console's form: a change, or the
// moved units on the console's ground as [id, x, y] triples in the map's
// units. Positions are not resumable: the next report supersedes a missed
// one.
func writeEvent(write func(string, ...any) error, c *sseClient, he *hubEvent) error {
	if he.positions != nil {
		out := make([][3]float64, 0, len(he.positions))
		for _, p := range he.positions {
			if c.scope.Covers(p.ground.BureauID, p.ground.StationID, p.ground.CommunityID) {
				out = append(out, p.xy)
			}
		}
		if len(out) == 0 {
			return nil
		}
		b, _ := json.Marshal(out)
		return write("event: positions\ndata: %s\n\n", b)
	}
	msg := he.change
	if !c.units {
		msg = he.bare
	}
	if msg == nil {
		return nil
	}
	return write("id: %d\nevent: change\ndata: %s\n\n", he.id, msg)
}
