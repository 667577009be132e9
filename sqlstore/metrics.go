package sqlstore

import (
	"context"
	"time"

	"zhufang"
)

// The reads in this file feed the metrics endpoint. They are system reads
// of counts and ages, with no personal data, so they take no actor and are
// neither scoped nor audited.

// IncidentCount is how many incidents are in one state and lane.
type IncidentCount struct {
	State zhufang.IncidentState
	Lane  zhufang.Lane
	N     int64
}

// IncidentCounts counts every incident in the database by state and lane,
// ordered by state then lane.
func (db *DB) IncidentCounts(ctx context.Context) ([]IncidentCount, error) {
	rows, err := db.query(ctx, `SELECT state, lane, COUNT(*) FROM incidents GROUP BY state, lane ORDER BY state, lane`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []IncidentCount
	for rows.Next() {
		var c IncidentCount
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
