package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"zhufang"
)

var _ zhufang.IncidentService = (*DB)(nil)

const incidentColumns = `id, COALESCE(number, ''), source, received_at, caller_name, caller_phone, address, lon, lat,
	category, place_type, description, flag_weapon, flag_injured, flag_trapped, flag_minors,
	COALESCE(community_id, 0), COALESCE(station_id, 0), COALESCE(bureau_id, 0), zone,
	lane, triage_rule, triage_reason, also_street, assign_to, overridden_by, rule_lane, state,
	due_acknowledge, due_on_scene, due_handling, COALESCE(duplicate_of, 0), case_number, COALESCE(dispute_id, 0),
	redirected_to, created_at, updated_at`

func scanIncident(sc interface{ Scan(...any) error }) (*zhufang.Incident, error) {
	i := &zhufang.Incident{}
	var source, zone, lane, ruleLane, state string
	err := sc.Scan(&i.ID, &i.Number, &source, timeColumn{&i.ReceivedAt}, &i.CallerName, &i.CallerPhone, &i.Address,
		&i.Position.Lon, &i.Position.Lat, &i.Category, &i.PlaceType, &i.Description,
		&i.Flags.Weapon, &i.Flags.Injured, &i.Flags.Trapped, &i.Flags.Minors,
		&i.CommunityID, &i.StationID, &i.BureauID, &zone,
		&lane, &i.Triage.Rule, &i.Triage.Reason, &i.Triage.AlsoStreet, &i.Triage.AssignTo, &i.Triage.OverriddenBy, &ruleLane, &state,
		timeColumn{&i.Due.Acknowledge}, timeColumn{&i.Due.OnScene}, timeColumn{&i.Due.Handling},
		&i.DuplicateOf, &i.CaseNumber, &i.DisputeID, &i.RedirectedTo, timeColumn{&i.CreatedAt}, timeColumn{&i.UpdatedAt})
	if err != nil {
		return nil, err
	}
	i.Source, i.Zone, i.State = zhufang.IncidentSource(source), zhufang.ZoneKind(zone), zhufang.IncidentState(state)
	i.Triage.Lane, i.Triage.RuleLane = zhufang.Lane(lane), zhufang.Lane(ruleLane)
	return i, nil
}

// CreateIncident stores a prepared incident, its intake transition and its
// event in one transaction.
func (db *DB) CreateIncident(ctx context.Context, inc *zhufang.Incident, actor string) error {
	if err := inc.CheckPrepared(); err != nil {
		return err
	}
	if err := zhufang.Authorize(ctx, zhufang.PermIntake); err != nil {
		return err
	}
	if a := zhufang.ActorFromContext(ctx); a != nil && a.User != nil && !zhufang.Sees(ctx, inc.Ground()) {
		return zhufang.Errorf(zhufang.EFORBIDDEN, "this place is outside your jurisdiction")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	inc.CreatedAt, inc.UpdatedAt = tx.now, tx.now
	t := db.timeArg
	err = tx.queryRow(ctx, `INSERT INTO incidents (source, received_at, caller_name, caller_phone, address, lon, lat,
		category, place_type, description, flag_weapon, flag_injured, flag_trapped, flag_minors,
		community_id, station_id, bureau_id, zone, lane, triage_rule, triage_reason, also_street, assign_to,
		overridden_by, rule_lane, state, due_acknowledge, due_on_scene, due_handling, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		string(inc.Source), t(inc.ReceivedAt), inc.CallerName, inc.CallerPhone, inc.Address, inc.Position.Lon, inc.Position.Lat,
		inc.Category, inc.PlaceType, inc.Description, inc.Flags.Weapon, inc.Flags.Injured, inc.Flags.Trapped, inc.Flags.Minors,
		nullID(inc.CommunityID), nullID(inc.StationID), nullID(inc.BureauID), string(inc.Zone), string(inc.Triage.Lane),
		inc.Triage.Rule, inc.Triage.Reason, inc.Triage.AlsoStreet, inc.Triage.AssignTo, inc.Triage.OverriddenBy,
		string(inc.Triage.RuleLane), string(inc.State), t(inc.Due.Acknowledge), t(inc.Due.OnScene), t(inc.Due.Handling),
		t(tx.now), t(tx.now)).Scan(&inc.ID)
	if err != nil {
		return db.translate(err)
	}
	inc.Number = zhufang.IncidentNumber(inc.ReceivedAt, inc.ID)
	if _, err := tx.exec(ctx, `UPDATE incidents SET number = ? WHERE id = ?`, inc.Number, inc.ID); err != nil {
		return err
	}
	if err := tx.addTransition(ctx, zhufang.Transition{IncidentID: inc.ID, From: "", To: zhufang.StateReceived, At: inc.ReceivedAt, Actor: actor}); err != nil {
		return err
	}
	if err := tx.addEvent(zhufang.IncidentCreated{Ground: inc.Ground(), Incident: inc.Masked()}); err != nil {
		return err
	}
	if err := tx.audit(ctx, zhufang.AuditIncidentCreate, incidentRecord(inc.ID), inc.Category+" "+string(inc.Triage.Lane)); err != nil {
		return err
	}
	return tx.commit()
}

func (tx *Tx) addTransition(ctx context.Context, t zhufang.Transition) error {
	_, err := tx.exec(ctx, `INSERT INTO incident_transitions (incident_id, from_state, to_state, at, actor, note) VALUES (?, ?, ?, ?, ?, ?)`,
		t.IncidentID, string(t.From), string(t.To), tx.db.timeArg(t.At), t.Actor, t.Note)
	return err
}

// addEvent adds an event to the transaction; commit writes it to the
// outbox and the relay publishes it after commit.
func (tx *Tx) addEvent(body zhufang.EventBody) error {
	b, err := json.Marshal(body)
	if err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, "cannot encode event", err)
	}
	tx.events = append(tx.events, pendingEvent{topic: body.Topic(), payload: string(b)})
	return nil
}

// loadIncident reads an incident inside a transaction that will change it.
// On PostgreSQL the row is locked, so that two transactions moving one
// incident (two units acknowledging at once) take turns instead of one
// failing; SQLite's single writer already takes turns.
func (tx *Tx) loadIncident(ctx context.Context, id int64) (*zhufang.Incident, error) {
	q := `SELECT ` + incidentColumns + ` FROM incidents WHERE id = ?`
	if tx.db.engine == Postgres {
		q += ` FOR UPDATE`
	}
	inc, err := scanIncident(tx.queryRow(ctx, q, id))
	if err == sql.ErrNoRows {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "incident %d does not exist", id)
	}
	return inc, tx.db.translate(err)
}

func incidentRecord(id int64) string { return "incident:" + itoa(id) }

// FindIncidentByID returns one incident on the actor's ground.
func (db *DB) FindIncidentByID(ctx context.Context, id int64) (*zhufang.Incident, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewIncidents); err != nil {
		return nil, err
	}
	where, args := incidentScope(ctx)
	inc, err := scanIncident(db.queryRow(ctx, `SELECT `+incidentColumns+` FROM incidents i WHERE id = ?`+where, append([]any{id}, args...)...))
	if err == sql.ErrNoRows {
		return nil, zhufang.IncidentNotFound(id)
	}
	return inc, db.translate(err)
}

// FindIncidents returns the incidents the filter selects, newest first.
func (db *DB) FindIncidents(ctx context.Context, f zhufang.IncidentFilter) ([]*zhufang.Incident, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewIncidents); err != nil {
		return nil, err
	}
	q, args := db.incidentsQuery(ctx, f)
	return db.queryIncidents(ctx, q, args...)
}

// incidentsQuery writes FindIncidents' read.
func (db *DB) incidentsQuery(ctx context.Context, f zhufang.IncidentFilter) (string, []any) {
	where, args := incidentScope(ctx)
	from, open := `incidents i`, ""
	if f.Open {
		from, open = db.openIncidents()
	}
	q := `SELECT ` + incidentColumns + ` FROM ` + from + ` WHERE 1 = 1` + open + where
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, string(f.State))
	}
	lq, largs := laneClause(f.Lane)
	q += lq
	args = append(args, largs...)
	if f.StationID != 0 {
		q += ` AND station_id = ?`
		args = append(args, f.StationID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q += ` ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?`
	return q, append(args, limit, max(f.Offset, 0))
}

// openIncidents returns the FROM clause of a read of the open incidents
// (alias i) and the condition, starting with " AND", that picks them. The
// open incidents have an index of their own, incidents_open, whose
// condition is this one (migration 0006), so that the reads made on every
// tick or event (the breach watcher, the board, the living city) cost what
// is open rather than the whole history. PostgreSQL's planner finds the
// small index by itself; SQLite's prefers an index matching the ORDER BY or
// the actor's station, and walked two years of incidents to find a few
// hundred open ones, so on SQLite the read names the index. Naming it also
// makes SQLite refuse the query outright, rather than read slowly, should
// the index's condition ever differ from the query's.
func (db *DB) openIncidents() (from, where string) {
	from = `incidents i`
	if db.engine == SQLite {
		from += ` INDEXED BY incidents_open`
	}
	return from, ` AND state NOT IN ` + terminalStates
}

// laneClause limits incidents (alias i) to a lane, "" for every lane; the
// street lane includes live disputes, which go to street dispatch too.
func laneClause(lane zhufang.Lane) (string, []any) {
	switch {
	case lane == zhufang.LaneStreet:
		return ` AND (lane = 'street' OR also_street = ?)`, []any{true}
	case lane != "":
		return ` AND lane = ?`, []any{string(lane)}
	}
	return "", nil
}

// queryIncidents runs a query selecting incidentColumns and scans its rows.
func (db *DB) queryIncidents(ctx context.Context, q string, args ...any) ([]*zhufang.Incident, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*zhufang.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, db.translate(err)
		}
		out = append(out, inc)
	}
	return out, db.translate(rows.Err())
}

// FindTransitions returns an incident's history, oldest first.
func (db *DB) FindTransitions(ctx context.Context, id int64) ([]zhufang.Transition, error) {
	if _, err := db.FindIncidentByID(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT incident_id, from_state, to_state, at, actor, note FROM incident_transitions WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []zhufang.Transition
	for rows.Next() {
		var t zhufang.Transition
		var from, to string
		if err := rows.Scan(&t.IncidentID, &from, &to, timeColumn{&t.At}, &t.Actor, &t.Note); err != nil {
			return nil, db.translate(err)
		}
		t.From, t.To = zhufang.IncidentState(from), zhufang.IncidentState(to)
		out = append(out, t)
	}
	return out, db.translate(rows.Err())
}

// FindTransitionsOf returns the histories of many incidents in one query,
// for the board.
func (db *DB) FindTransitionsOf(ctx context.Context, ids []int64) (map[int64][]zhufang.Transition, error) {
	out := make(map[int64][]zhufang.Transition, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if err := zhufang.Authorize(ctx, zhufang.PermViewIncidents); err != nil {
		return nil, err
	}
	if len(ids) > 5000 {
		return nil, zhufang.Errorf(zhufang.EINVALID, "at most 5000 incidents at once")
	}
	where, sargs := incidentScope(ctx)
	args := make([]any, 0, len(ids)+len(sargs))
	for _, id := range ids {
		args = append(args, id)
	}
	args = append(args, sargs...)
	rows, err := db.query(ctx, `SELECT t.incident_id, t.from_state, t.to_state, t.at, t.actor, t.note
		FROM incident_transitions t JOIN incidents i ON i.id = t.incident_id
		WHERE t.incident_id IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+`)`+where+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t zhufang.Transition
		var f, st string
		if err := rows.Scan(&t.IncidentID, &f, &st, timeColumn{&t.At}, &t.Actor, &t.Note); err != nil {
			return nil, db.translate(err)
		}
		t.From, t.To = zhufang.IncidentState(f), zhufang.IncidentState(st)
		out[t.IncidentID] = append(out[t.IncidentID], t)
	}
	return out, db.translate(rows.Err())
}

// TransitionIncident applies a state change. The UPDATE names the state it
// expects, so of two dispatchers moving the same incident at once exactly
// one succeeds and the other gets ECONFLICT.
func (db *DB) TransitionIncident(ctx context.Context, id int64, r zhufang.TransitionRequest) (*zhufang.Incident, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback()
	inc, err := tx.loadIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := zhufang.AuthorizeIncident(ctx, zhufang.PermHandle, inc); err != nil {
		return nil, err
	}
	t, err := inc.Apply(r, tx.now)
	if err != nil {
		return nil, err
	}
	if r.To == zhufang.StateDuplicate {
		// Read, not locked: locking a second incident could deadlock
		// with the same pair marked the other way round.
		dup, err := scanIncident(tx.queryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, r.DuplicateOf))
		if err == sql.ErrNoRows {
			return nil, zhufang.IncidentNotFound(r.DuplicateOf)
		}
		if err != nil {
			return nil, db.translate(err)
		}
		if !zhufang.SeesIncident(ctx, dup) {
			return nil, zhufang.IncidentNotFound(r.DuplicateOf)
		}
	}
	res, err := tx.exec(ctx, `UPDATE incidents SET state = ?, duplicate_of = ?, redirected_to = ?, case_number = ?, updated_at = ?
		WHERE id = ? AND state = ?`, string(inc.State), nullID(inc.DuplicateOf), inc.RedirectedTo, inc.CaseNumber,
		db.timeArg(tx.now), id, string(t.From))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, zhufang.Errorf(zhufang.ECONFLICT, "incident %d changed meanwhile; reload it", id)
	}
	if err := tx.addTransition(ctx, t); err != nil {
		return nil, err
	}
	if r.To.Terminal() {
		if err := tx.releaseUnits(ctx, inc, r.Actor); err != nil {
			return nil, err
		}
	}
	if err := tx.addEvent(zhufang.IncidentTransitioned{Ground: inc.Ground(), Transition: t, Incident: inc.Masked()}); err != nil {
		return nil, err
	}
	if err := tx.audit(ctx, zhufang.AuditIncidentState, incidentRecord(id), string(t.From)+" → "+string(r.To)); err != nil {
		return nil, err
	}
	return inc, tx.commit()
}

// OverrideLane records a dispatcher's change of an incident's lane.
func (db *DB) OverrideLane(ctx context.Context, id int64, lane zhufang.Lane, by, reason, assignTo string) (*zhufang.Incident, error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback()
	inc, err := tx.loadIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := zhufang.AuthorizeIncident(ctx, zhufang.PermHandle, inc); err != nil {
		return nil, err
	}
	if err := inc.OverrideLane(lane, by, reason, assignTo, tx.now); err != nil {
		return nil, err
	}
	tr := inc.Triage
	if _, err := tx.exec(ctx, `UPDATE incidents SET lane = ?, triage_rule = ?, triage_reason = ?, also_street = ?, assign_to = ?,
		overridden_by = ?, rule_lane = ?, updated_at = ? WHERE id = ?`, string(tr.Lane), tr.Rule, tr.Reason, tr.AlsoStreet,
		tr.AssignTo, tr.OverriddenBy, string(tr.RuleLane), db.timeArg(tx.now), id); err != nil {
		return nil, err
	}
	if err := tx.addEvent(zhufang.LaneChanged{Ground: inc.Ground(), Incident: inc.Masked()}); err != nil {
		return nil, err
	}
	if err := tx.audit(ctx, zhufang.AuditIncidentLane, incidentRecord(id), string(tr.RuleLane)+" → "+string(tr.Lane)+": "+reason); err != nil {
		return nil, err
	}
	return inc, tx.commit()
}

var _ zhufang.BreachService = (*DB)(nil)

// watchedStates are the open states with a 1-3-5 stage still to reach,
// by the root's rule (PendingDue): once handling is under way, an
// incident has nothing left for the breach watcher however long it stays
// open.
var watchedStates = sqlList(slices.DeleteFunc(slices.Clone(zhufang.IncidentStates), func(s zhufang.IncidentState) bool {
	t := time.Unix(1, 0)
	return zhufang.PendingDue(s, zhufang.Deadlines{Acknowledge: t, OnScene: t, Handling: t}).IsZero()
}))

// FindOpenDeadlines lists the due times of every incident not yet ended
// that has a stage still to reach. The watcher calls it on every wake, at
// least every 15 s: it reads the open incidents' index, never the history.
func (db *DB) FindOpenDeadlines(ctx context.Context) ([]zhufang.OpenDeadline, error) {
	rows, err := db.query(ctx, db.openDeadlinesQuery())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []zhufang.OpenDeadline
	for rows.Next() {
		var d zhufang.OpenDeadline
		var state, lane string
		if err := rows.Scan(&d.IncidentID, &state, timeColumn{&d.Due.Acknowledge}, timeColumn{&d.Due.OnScene}, timeColumn{&d.Due.Handling},
			&lane, &d.Triage.AlsoStreet); err != nil {
			return nil, db.translate(err)
		}
		d.State, d.Triage.Lane = zhufang.IncidentState(state), zhufang.Lane(lane)
		out = append(out, d)
	}
	return out, db.translate(rows.Err())
}

// openDeadlinesQuery writes FindOpenDeadlines' read.
//
// It does not look up the breaches already raised: the watcher remembers
// what it raised or found raised, and asks the store about a stage once.
// Counting each incident's breaches here cost more than the rest of the
// read, and on PostgreSQL, which scans a small alert table rather than use
// its key, grew with every breach ever raised.
func (db *DB) openDeadlinesQuery() string {
	from, open := db.openIncidents()
	return `SELECT id, state, due_acknowledge, due_on_scene, due_handling, lane, also_street FROM ` + from + `
		WHERE 1 = 1` + open + ` AND state IN ` + watchedStates + ` ORDER BY id`
}

// RaiseBreach records a breach once: the alert table's key is the incident
// and stage, so of several watchers racing exactly one inserts, and only
// that one writes the event.
func (db *DB) RaiseBreach(ctx context.Context, b zhufang.Breach) (bool, error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.rollback()
	res, err := tx.exec(ctx, `INSERT INTO breach_alerts (incident_id, stage, due, raised_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (incident_id, stage) DO NOTHING`, b.IncidentID, string(b.Stage), db.timeArg(b.Due), db.timeArg(tx.now))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	var g zhufang.Ground
	if err := tx.queryRow(ctx, `SELECT COALESCE(bureau_id, 0), COALESCE(station_id, 0), COALESCE(community_id, 0) FROM incidents WHERE id = ?`,
		b.IncidentID).Scan(&g.BureauID, &g.StationID, &g.CommunityID); err != nil {
		return false, db.translate(err)
	}
	if err := tx.addEvent(zhufang.BreachRaised{Ground: g, Breach: b, RaisedAt: tx.now}); err != nil {
		return false, err
	}
	return true, tx.commit()
}

var _ zhufang.ComplianceService = (*DB)(nil)

// FindClockedIncidents returns the incidents received in [from, to) with
// their transitions, in two queries.
func (db *DB) FindClockedIncidents(ctx context.Context, from, to time.Time) ([]zhufang.ClockedIncident, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewStats); err != nil {
		return nil, err
	}
	where, sargs := incidentScope(ctx)
	rows, err := db.query(ctx, `SELECT id, COALESCE(station_id, 0), zone, received_at, state, due_acknowledge, due_on_scene, due_handling,
		lane, also_street FROM incidents i WHERE received_at >= ? AND received_at < ?`+where+` ORDER BY id`, append([]any{db.timeArg(from), db.timeArg(to)}, sargs...)...)
	if err != nil {
		return nil, err
	}
	var out []zhufang.ClockedIncident
	index := map[int64]int{}
	for rows.Next() {
		var c zhufang.ClockedIncident
		var zone, state, lane string
		if err := rows.Scan(&c.ID, &c.StationID, &zone, timeColumn{&c.ReceivedAt}, &state,
			timeColumn{&c.Due.Acknowledge}, timeColumn{&c.Due.OnScene}, timeColumn{&c.Due.Handling}, &lane, &c.Triage.AlsoStreet); err != nil {
			rows.Close()
			return nil, db.translate(err)
		}
		c.Zone, c.State, c.Triage.Lane = zhufang.ZoneKind(zone), zhufang.IncidentState(state), zhufang.Lane(lane)
		index[c.ID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.translate(err)
	}
	trows, err := db.query(ctx, `SELECT t.incident_id, t.from_state, t.to_state, t.at, t.actor, t.note
		FROM incident_transitions t JOIN incidents i ON i.id = t.incident_id
		WHERE i.received_at >= ? AND i.received_at < ?`+where+` ORDER BY t.id`, append([]any{db.timeArg(from), db.timeArg(to)}, sargs...)...)
	if err != nil {
		return nil, err
	}
	defer trows.Close()
	for trows.Next() {
		var t zhufang.Transition
		var f, s string
		if err := trows.Scan(&t.IncidentID, &f, &s, timeColumn{&t.At}, &t.Actor, &t.Note); err != nil {
			return nil, db.translate(err)
		}
		t.From, t.To = zhufang.IncidentState(f), zhufang.IncidentState(s)
		if i, ok := index[t.IncidentID]; ok {
			out[i].Transitions = append(out[i].Transitions, t)
		}
	}
	return out, db.translate(trows.Err())
}
