package sqlstore

import (
	"context"
	"encoding/json"
)

// SetBeforeCommit makes each of db's transactions call f between writing
// its events to the outbox and committing, for tests of commit order.
func (db *DB) SetBeforeCommit(f func()) { db.beforeCommit = f }

// WriteEvent commits one event in a transaction of its own.
func (db *DB) WriteEvent(ctx context.Context, topic string, payload any) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	tx.events = append(tx.events, pendingEvent{topic: topic, payload: string(b)})
	return tx.commit()
}

// TerminateLeader cuts the connection that holds the leader's lock, as a
// dying leader's would be, and reports how many it cut.
func (db *DB) TerminateLeader(ctx context.Context) (int, error) {
	rows, err := db.query(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = ?`, db.keys.leader)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}
