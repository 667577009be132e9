package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"zhufang"
)

var _ zhufang.HistoryService = (*DB)(nil)

const (
	historyIncidentColumns = `id, number, source, received_at, caller_name, caller_phone, address, lon, lat,
		category, place_type, description, flag_weapon, flag_injured, flag_trapped, flag_minors,
		community_id, station_id, bureau_id, zone, lane, triage_rule, triage_reason, also_street, assign_to,
		overridden_by, rule_lane, state, due_acknowledge, due_on_scene, due_handling, duplicate_of, case_number,
		redirected_to, created_at, updated_at`
	historyTransitionColumns = `id, incident_id, from_state, to_state, at, actor, note`
	historyAssignmentColumns = `id, incident_id, unit_id, state, role, assigned_by, eta_seconds, created_at, updated_at`
)

// ImportHistory stores past incidents in one transaction: interrupted, it
// leaves the database as it was. Incidents get the next IDs in the order
// they come, and numbers from their day and ID as intake gives them; their
// transitions and assignments point at those IDs. It writes no events
// (nothing is live) and one audit entry for the whole import.
func (db *DB) ImportHistory(ctx context.Context, batches <-chan []zhufang.PastIncident) (int64, error) {
	// History comes in from the system's own tools (zhufang demo, an
	// import of an old system's records), never from a user or device.
	if err := zhufang.AuthorizeSystem(ctx, "importing history"); err != nil {
		return 0, err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.rollback()
	if db.engine == SQLite {
		// A larger page cache for this connection spills fewer pages
		// of the growing tables and indexes in mid-transaction.
		if _, err := tx.exec(ctx, `PRAGMA cache_size = -131072`); err != nil {
			return 0, err
		}
		defer tx.exec(context.WithoutCancel(ctx), `PRAGMA cache_size = -2000`)
	}
	var incID, trID, asID int64
	for _, q := range []struct {
		table string
		dst   *int64
	}{{"incidents", &incID}, {"incident_transitions", &trID}, {"assignments", &asID}} {
		if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+q.table).Scan(q.dst); err != nil {
			return 0, db.translate(err)
		}
	}
	var n int64
	t := db.timeArg
	for {
		var batch []zhufang.PastIncident
		var ok bool
		select {
		case <-ctx.Done():
			return 0, db.translate(ctx.Err())
		case batch, ok = <-batches:
		}
		if !ok {
			break
		}
		var trs []zhufang.Transition
		var ass []zhufang.Assignment
		for i := range batch {
			p := &batch[i]
			incID++
			p.Incident.ID = incID
			p.Incident.Number = zhufang.IncidentNumber(p.Incident.ReceivedAt, incID)
			for _, tr := range p.Transitions {
				tr.IncidentID = incID
				trs = append(trs, tr)
			}
			for _, a := range p.Assignments {
				asID++
				a.ID, a.IncidentID = asID, incID
				ass = append(ass, a)
			}
		}
		err := tx.insertRows(ctx, "incidents", historyIncidentColumns, len(batch), func(i int) []any {
			inc := &batch[i].Incident
			return []any{inc.ID, inc.Number, string(inc.Source), t(inc.ReceivedAt), inc.CallerName, inc.CallerPhone, inc.Address,
				inc.Position.Lon, inc.Position.Lat, inc.Category, inc.PlaceType, inc.Description,
				inc.Flags.Weapon, inc.Flags.Injured, inc.Flags.Trapped, inc.Flags.Minors,
				nullID(inc.CommunityID), nullID(inc.StationID), nullID(inc.BureauID), string(inc.Zone), string(inc.Triage.Lane),
				inc.Triage.Rule, inc.Triage.Reason, inc.Triage.AlsoStreet, inc.Triage.AssignTo, inc.Triage.OverriddenBy,
				string(inc.Triage.RuleLane), string(inc.State), t(inc.Due.Acknowledge), t(inc.Due.OnScene), t(inc.Due.Handling),
				nullID(inc.DuplicateOf), inc.CaseNumber, inc.RedirectedTo, t(inc.CreatedAt), t(inc.UpdatedAt)}
		})
		if err != nil {
			return 0, err
		}
		err = tx.insertRows(ctx, "incident_transitions", historyTransitionColumns, len(trs), func(i int) []any {
			tr := &trs[i]
			trID++
			return []any{trID, tr.IncidentID, string(tr.From), string(tr.To), t(tr.At), tr.Actor, tr.Note}
		})
		if err != nil {
			return 0, err
		}
		err = tx.insertRows(ctx, "assignments", historyAssignmentColumns, len(ass), func(i int) []any {
			a := &ass[i]
			return []any{a.ID, a.IncidentID, a.UnitID, string(a.State), a.Role, a.AssignedBy, int64(a.ETA / time.Second),
				t(a.CreatedAt), t(a.UpdatedAt)}
		})
		if err != nil {
			return 0, err
		}
		n += int64(len(batch))
	}
	if err := tx.resetSequencesOf(ctx, "incidents", "incident_transitions", "assignments"); err != nil {
		return 0, err
	}
	if err := tx.audit(ctx, zhufang.AuditHistoryImport, "history", fmt.Sprintf("%d incidents", n)); err != nil {
		return 0, err
	}
	return n, tx.commit()
}

// CountByCategory counts the incidents received in [from, to) by category.
func (db *DB) CountByCategory(ctx context.Context, from, to time.Time) ([]zhufang.CategoryCount, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewStats); err != nil {
		return nil, err
	}
	where, args := incidentScope(ctx)
	rows, err := db.query(ctx, `SELECT category, count(*) FROM incidents i WHERE received_at >= ? AND received_at < ?`+where+
		` GROUP BY category ORDER BY category`, append([]any{db.timeArg(from), db.timeArg(to)}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []zhufang.CategoryCount
	for rows.Next() {
		var c zhufang.CategoryCount
		if err := rows.Scan(&c.Category, &c.Count); err != nil {
			return nil, db.translate(err)
		}
		out = append(out, c)
	}
	return out, db.translate(rows.Err())
}

// FindReceived lists the incidents received in [from, to), oldest first.
func (db *DB) FindReceived(ctx context.Context, from, to time.Time, lane zhufang.Lane) ([]*zhufang.Incident, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewIncidents); err != nil {
		return nil, err
	}
	where, args := incidentScope(ctx)
	q := `SELECT ` + incidentColumns + ` FROM incidents i WHERE received_at >= ? AND received_at < ?` + where
	args = append([]any{db.timeArg(from), db.timeArg(to)}, args...)
	lq, largs := laneClause(lane)
	return db.queryIncidents(ctx, q+lq+` ORDER BY received_at, id`, append(args, largs...)...)
}

// SetDemoCity records the demo city, replacing an earlier record.
func (db *DB) SetDemoCity(ctx context.Context, d zhufang.DemoCity) error {
	if err := d.Validate(); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if _, err := tx.exec(ctx, `DELETE FROM demo_city`); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO demo_city (id, seed, anchor_day, history_days, incidents, built_at) VALUES (1, ?, ?, ?, ?, ?)`,
		int64(d.Seed), d.AnchorDay, d.HistoryDays, d.Incidents, db.timeArg(d.BuiltAt)); err != nil {
		return err
	}
	return tx.commit()
}

// FindDemoCity reads the demo city's record.
func (db *DB) FindDemoCity(ctx context.Context) (zhufang.DemoCity, error) {
	var d zhufang.DemoCity
	var seed int64
	err := db.queryRow(ctx, `SELECT seed, anchor_day, history_days, incidents, built_at FROM demo_city WHERE id = 1`).
		Scan(&seed, &d.AnchorDay, &d.HistoryDays, &d.Incidents, nullTime{&d.BuiltAt})
	if errors.Is(err, sql.ErrNoRows) {
		return d, zhufang.Errorf(zhufang.ENOTFOUND, "database %s holds no demo city: build one with zhufang demo", db.Where())
	}
	d.Seed = uint64(seed)
	return d, db.translate(err)
}
