package sqlstore

import (
	"context"
	"strings"
	"time"

	"zhufang"
)

// The reads in this file feed the metrics endpoint. They are system reads
// of counts and ages, with no personal data, so they take no actor and are
// neither scoped nor audited.

// IncidentCounts counts, by state and lane, the incidents still open and
// the incidents received since since (in whatever state they are now),
// each ordered by state then lane. Both reads stay small however long the
// history: open incidents through the index on state, recent ones through
// the index on received_at. (A count of every incident ever took more than
// two seconds on the demo's two years in SQLite.)
func (db *DB) IncidentCounts(ctx context.Context, since time.Time) (open, recent []zhufang.IncidentCount, err error) {
	var states []any
	for _, s := range zhufang.IncidentStates {
		if !s.Terminal() {
			states = append(states, string(s))
		}
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ")
	if open, err = db.incidentCounts(ctx, `state IN (`+marks+`)`, states...); err != nil {
		return nil, nil, err
	}
	recent, err = db.incidentCounts(ctx, `received_at >= ?`, db.timeArg(since))
	return open, recent, err
}

// incidentCounts groups the incidents matching where. The rows are picked
// in a materialized step first: left to itself, SQLite walks the whole
// index on state to group without sorting, 0.7 s on the demo's history,
// instead of the few rows the received_at index finds (2 ms).
func (db *DB) incidentCounts(ctx context.Context, where string, args ...any) ([]zhufang.IncidentCount, error) {
	rows, err := db.query(ctx, `WITH picked AS MATERIALIZED (SELECT state, lane FROM incidents WHERE `+where+`)
		SELECT state, lane, COUNT(*) FROM picked GROUP BY state, lane ORDER BY state, lane`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []zhufang.IncidentCount
	for rows.Next() {
		var c zhufang.IncidentCount
		var state, lane string
		if err := rows.Scan(&state, &lane, &c.N); err != nil {
			return nil, db.translate(err)
		}
		c.State, c.Lane = zhufang.IncidentState(state), zhufang.Lane(lane)
		out = append(out, c)
	}
	return out, db.translate(rows.Err())
}

// OutboxLag reports the events committed but not yet published: how many,
// and when the oldest was written (the zero time when none waits). A lag
// that grows means the relay or the event bus is stuck.
func (db *DB) OutboxLag(ctx context.Context) (n int64, oldest time.Time, err error) {
	err = db.queryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM outbox WHERE published_at IS NULL`).
		Scan(&n, timeColumn{&oldest})
	return n, oldest, db.translate(err)
}
