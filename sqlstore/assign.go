package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"zhufang"
)

const assignmentColumns = `id, incident_id, unit_id, state, role, assigned_by, eta_seconds, created_at, updated_at`

// assignmentColumnsA is assignmentColumns for a query that joins the
// assignment (alias a) to its incident.
const assignmentColumnsA = `a.id, a.incident_id, a.unit_id, a.state, a.role, a.assigned_by, a.eta_seconds, a.created_at, a.updated_at`

// assignmentGrounds reads an assignment with the grounds that decide who
// may see and move it (zhufang.SeesAssignment): its incident's and its
// unit's. Reading it is not yet seeing it: the caller asks the root rule.
const assignmentGrounds = `SELECT ` + assignmentColumnsA + `,
	COALESCE(i.bureau_id, 0), COALESCE(i.station_id, 0), COALESCE(i.community_id, 0),
	COALESCE(st.bureau_id, 0), u.station_id, COALESCE(u.community_id, 0)
	FROM assignments a JOIN incidents i ON i.id = a.incident_id JOIN units u ON u.id = a.unit_id
	LEFT JOIN stations st ON st.id = u.station_id WHERE a.id = ?`

// scanAssignmentGrounds scans a row of assignmentGrounds; an ID that
// exists nowhere is ENOTFOUND, told the same way as one not seen.
func (db *DB) scanAssignmentGrounds(row *sql.Row, id int64) (a *zhufang.Assignment, incident, unit zhufang.Ground, err error) {
	a = &zhufang.Assignment{}
	var state string
	var eta int64
	err = row.Scan(&a.ID, &a.IncidentID, &a.UnitID, &state, &a.Role, &a.AssignedBy, &eta, timeColumn{&a.CreatedAt}, timeColumn{&a.UpdatedAt},
		&incident.BureauID, &incident.StationID, &incident.CommunityID, &unit.BureauID, &unit.StationID, &unit.CommunityID)
	if err == sql.ErrNoRows {
		return nil, incident, unit, zhufang.AssignmentNotFound(id)
	}
	if err != nil {
		return nil, incident, unit, db.translate(err)
	}
	a.State, a.ETA = zhufang.AssignmentState(state), time.Duration(eta)*time.Second
	return a, incident, unit, nil
}

// unitVisible returns ENOTFOUND for a unit that does not exist or is not
// the actor's to see: a device's own unit, or a unit on a user's ground.
func (tx *Tx) unitVisible(ctx context.Context, id int64) error {
	where, args := unitScope(ctx)
	if a := zhufang.ActorFromContext(ctx); a != nil && a.User == nil {
		where, args = ` AND u.id = ?`, []any{a.DeviceUnit}
	}
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM units u WHERE u.id = ?`+where, append([]any{id}, args...)...).Scan(&one)
	if err == sql.ErrNoRows {
		return zhufang.Errorf(zhufang.ENOTFOUND, "unit %d does not exist", id)
	}
	return tx.db.translate(err)
}

func scanAssignment(sc interface{ Scan(...any) error }) (*zhufang.Assignment, error) {
	a := &zhufang.Assignment{}
	var state string
	var eta int64
	if err := sc.Scan(&a.ID, &a.IncidentID, &a.UnitID, &state, &a.Role, &a.AssignedBy, &eta, timeColumn{&a.CreatedAt}, timeColumn{&a.UpdatedAt}); err != nil {
		return nil, err
	}
	a.State, a.ETA = zhufang.AssignmentState(state), time.Duration(eta)*time.Second
	return a, nil
}

// Assign sends a unit to an incident. The unit's status moves from
// available (or returning) to dispatched in an UPDATE that names the
// statuses it expects, and the active-assignment index backs it: of two
// dispatchers assigning one unit at once exactly one succeeds, the other
// gets ECONFLICT. A received incident becomes dispatched.
func (db *DB) Assign(ctx context.Context, a *zhufang.Assignment) error {
	if err := a.Validate(); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	inc, err := tx.loadIncident(ctx, a.IncidentID)
	if err != nil {
		return err
	}
	if err := zhufang.AuthorizeIncident(ctx, zhufang.PermAssign, inc); err != nil {
		return err
	}
	if err := inc.CheckAssignable(); err != nil {
		return err
	}
	if err := tx.unitVisible(ctx, a.UnitID); err != nil {
		return err
	}
	status := zhufang.UnitStatusFor(zhufang.AssignAssigned)
	res, err := tx.exec(ctx, `UPDATE units SET status = ?, updated_at = ? WHERE id = ? AND status IN `+sendableStatuses,
		string(status), db.timeArg(tx.now), a.UnitID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return zhufang.Errorf(zhufang.ECONFLICT, "unit %d is not available: another dispatcher may have sent it", a.UnitID)
	}
	a.State, a.CreatedAt, a.UpdatedAt = zhufang.AssignAssigned, tx.now, tx.now
	err = tx.queryRow(ctx, `INSERT INTO assignments (incident_id, unit_id, state, role, assigned_by, eta_seconds, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.IncidentID, a.UnitID, string(a.State), a.Role, a.AssignedBy,
		int64(a.ETA/time.Second), db.timeArg(tx.now), db.timeArg(tx.now)).Scan(&a.ID)
	if err != nil {
		return db.translate(err) // the active-assignment index: ECONFLICT
	}
	if err := tx.followIncident(ctx, inc, zhufang.AssignAssigned, a.AssignedBy); err != nil {
		return err
	}
	if err := tx.addEvent(zhufang.AssignmentChanged{Ground: inc.Ground(), Assignment: *a, UnitStatus: status}); err != nil {
		return err
	}
	if err := tx.audit(ctx, zhufang.AuditAssign, incidentRecord(a.IncidentID), "unit "+itoa(a.UnitID)+" as "+a.Role); err != nil {
		return err
	}
	return tx.commit()
}

// followIncident records the steps the incident takes as an assignment
// reaches s (zhufang.AssignmentSteps), each in an UPDATE that names the
// state it expects.
func (tx *Tx) followIncident(ctx context.Context, inc *zhufang.Incident, s zhufang.AssignmentState, actor string) error {
	for _, step := range zhufang.AssignmentSteps(inc.State, s) {
		res, err := tx.exec(ctx, `UPDATE incidents SET state = ?, updated_at = ? WHERE id = ? AND state = ?`,
			string(step), tx.db.timeArg(tx.now), inc.ID, string(inc.State))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return zhufang.Errorf(zhufang.ECONFLICT, "incident %d changed meanwhile; try again", inc.ID)
		}
		t := zhufang.Transition{IncidentID: inc.ID, From: inc.State, To: step, At: tx.now, Actor: actor}
		if err := tx.addTransition(ctx, t); err != nil {
			return err
		}
		if err := tx.addEvent(zhufang.IncidentTransitioned{Ground: inc.Ground(), Transition: t}); err != nil {
			return err
		}
		inc.State, inc.UpdatedAt = step, tx.now
	}
	return nil
}

// AdvanceAssignment moves an assignment on, from the unit's device or by a
// dispatcher, and its unit and incident with it.
func (db *DB) AdvanceAssignment(ctx context.Context, id int64, to zhufang.AssignmentState, actor string) (*zhufang.Assignment, error) {
	if err := zhufang.ValidateActor(actor); err != nil {
		return nil, err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback()
	a, incGround, unitGround, err := db.scanAssignmentGrounds(tx.queryRow(ctx, assignmentGrounds, id), id)
	if err != nil {
		return nil, err
	}
	// Who may see and move an assignment is the root's one rule, which
	// FindAssignmentByID follows too.
	if err := zhufang.AuthorizeAssignment(ctx, a, incGround, unitGround); err != nil {
		return nil, err
	}
	if err := zhufang.CheckAssignmentTransition(a.State, to); err != nil {
		return nil, err
	}
	// Lock the incident before touching the assignment and the unit: the
	// same order as closing an incident (incident, assignments, units),
	// so the two cannot deadlock on PostgreSQL.
	inc, err := tx.loadIncident(ctx, a.IncidentID)
	if err != nil {
		return nil, err
	}
	res, err := tx.exec(ctx, `UPDATE assignments SET state = ?, updated_at = ? WHERE id = ? AND state = ?`,
		string(to), db.timeArg(tx.now), id, string(a.State))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, zhufang.Errorf(zhufang.ECONFLICT, "assignment %d changed meanwhile; reload it", id)
	}
	a.State, a.UpdatedAt = to, tx.now
	unitStatus := zhufang.UnitStatusFor(to)
	if _, err := tx.exec(ctx, `UPDATE units SET status = ?, updated_at = ? WHERE id = ?`, string(unitStatus), db.timeArg(tx.now), a.UnitID); err != nil {
		return nil, err
	}
	if err := tx.followIncident(ctx, inc, to, actor); err != nil {
		return nil, err
	}
	if err := tx.addEvent(zhufang.AssignmentChanged{Ground: inc.Ground(), Assignment: *a, UnitStatus: unitStatus}); err != nil {
		return nil, err
	}
	if err := tx.audit(ctx, zhufang.AuditAssignment, "assignment:"+itoa(id), "unit "+itoa(a.UnitID)+" "+string(to)); err != nil {
		return nil, err
	}
	return a, tx.commit()
}

// FindAssignmentByID returns one assignment the actor may see
// (zhufang.SeesAssignment): of an incident on their ground or of a unit on
// it.
func (db *DB) FindAssignmentByID(ctx context.Context, id int64) (*zhufang.Assignment, error) {
	a, incGround, unitGround, err := db.scanAssignmentGrounds(db.queryRow(ctx, assignmentGrounds, id), id)
	if err != nil {
		return nil, err
	}
	if !zhufang.SeesAssignment(ctx, a, incGround, unitGround) {
		return nil, zhufang.AssignmentNotFound(id)
	}
	return a, nil
}

// FindAssignments returns an incident's assignments, oldest first, never
// nil. Whoever sees the incident sees every assignment on it
// (zhufang.SeesAssignment); anyone else is told the incident does not
// exist.
func (db *DB) FindAssignments(ctx context.Context, incidentID int64) ([]*zhufang.Assignment, error) {
	if _, err := db.FindIncidentByID(ctx, incidentID); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT `+assignmentColumns+` FROM assignments WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*zhufang.Assignment{}
	for rows.Next() {
		a, err := scanAssignment(rows)
		if err != nil {
			return nil, db.translate(err)
		}
		out = append(out, a)
	}
	return out, db.translate(rows.Err())
}

// SetUnitStatus changes a unit's status outside an assignment (off duty,
// busy, back on duty), checked against the status machine.
func (db *DB) SetUnitStatus(ctx context.Context, id int64, to zhufang.UnitStatus, actor string) (*zhufang.Unit, error) {
	if err := zhufang.ValidateActor(actor); err != nil {
		return nil, err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback()
	if err := zhufang.Authorize(ctx, zhufang.PermCrew); err != nil {
		return nil, err
	}
	if err := tx.unitVisible(ctx, id); err != nil {
		return nil, err
	}
	u, err := scanUnit(tx.queryRow(ctx, `SELECT `+unitColumns+` FROM units WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "unit %d does not exist", id)
	}
	if err != nil {
		return nil, db.translate(err)
	}
	var active int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM assignments WHERE unit_id = ? AND state NOT IN `+endedAssignments, id).Scan(&active); err != nil {
		return nil, db.translate(err)
	}
	if err := zhufang.CheckUnitStatusChange(id, u.Status, to, active > 0); err != nil {
		return nil, err
	}
	res, err := tx.exec(ctx, `UPDATE units SET status = ?, updated_at = ? WHERE id = ? AND status = ?`, string(to), db.timeArg(tx.now), id, string(u.Status))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, zhufang.Errorf(zhufang.ECONFLICT, "unit %d changed meanwhile; reload it", id)
	}
	from := u.Status
	u.Status = to
	g, err := tx.unitGround(ctx, u)
	if err != nil {
		return nil, err
	}
	if err := tx.addEvent(zhufang.UnitStatusChanged{Ground: g, UnitID: id, Status: to, Actor: actor}); err != nil {
		return nil, err
	}
	if err := tx.audit(ctx, zhufang.AuditUnitStatus, "unit:"+itoa(id), string(from)+" → "+string(to)); err != nil {
		return nil, err
	}
	return u, tx.commit()
}

// unitGround is where a unit belongs: its station's county, its station,
// its community if it has one.
func (tx *Tx) unitGround(ctx context.Context, u *zhufang.Unit) (zhufang.Ground, error) {
	g := zhufang.Ground{StationID: u.StationID, CommunityID: u.CommunityID}
	err := tx.queryRow(ctx, `SELECT bureau_id FROM stations WHERE id = ?`, u.StationID).Scan(&g.BureauID)
	if err != nil && err != sql.ErrNoRows {
		return g, tx.db.translate(err)
	}
	return g, nil
}

// releaseUnits ends the active assignments of an incident that has ended
// (zhufang.Released): units on the way are stood down, units on scene are
// cleared, and every one is available again.
func (tx *Tx) releaseUnits(ctx context.Context, inc *zhufang.Incident, actor string) error {
	rows, err := tx.tx.QueryContext(ctx, tx.db.rebind(`SELECT `+assignmentColumns+` FROM assignments
		WHERE incident_id = ? AND state NOT IN `+endedAssignments+` ORDER BY id`), inc.ID)
	if err != nil {
		return tx.db.translate(err)
	}
	var active []*zhufang.Assignment
	for rows.Next() {
		a, err := scanAssignment(rows)
		if err != nil {
			rows.Close()
			return tx.db.translate(err)
		}
		active = append(active, a)
	}
	rows.Close()
	for _, a := range active {
		to := zhufang.Released(a.State)
		status := zhufang.UnitStatusFor(to)
		if _, err := tx.exec(ctx, `UPDATE assignments SET state = ?, updated_at = ? WHERE id = ?`, string(to), tx.db.timeArg(tx.now), a.ID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE units SET status = ?, updated_at = ? WHERE id = ?`, string(status), tx.db.timeArg(tx.now), a.UnitID); err != nil {
			return err
		}
		a.State, a.UpdatedAt = to, tx.now
		if err := tx.addEvent(zhufang.AssignmentChanged{Ground: inc.Ground(), Assignment: *a, UnitStatus: status, Actor: actor}); err != nil {
			return err
		}
	}
	return nil
}
