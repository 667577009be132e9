package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"zhufang"
)

// PlanOfOpenDeadlines returns the engine's plan for FindOpenDeadlines'
// read, as text.
func (db *DB) PlanOfOpenDeadlines(ctx context.Context) (string, error) {
	return db.plan(ctx, db.openDeadlinesQuery())
}

// PlanOfIncidents returns the engine's plan for FindIncidents' read of f
// by the context's actor, as text.
func (db *DB) PlanOfIncidents(ctx context.Context, f zhufang.IncidentFilter) (string, error) {
	q, args := db.incidentsQuery(ctx, f)
	return db.plan(ctx, q, args...)
}

// IndexDefinition returns how the named index was created: its SQL on
// SQLite, pg_indexes' indexdef on PostgreSQL.
func (db *DB) IndexDefinition(ctx context.Context, name string) (string, error) {
	q := `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`
	if db.engine == Postgres {
		q = `SELECT indexdef FROM pg_indexes WHERE indexname = ? AND schemaname = current_schema()`
	}
	var def string
	err := db.queryRow(ctx, q, name).Scan(&def)
	return def, err
}

// plan explains q: SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN.
func (db *DB) plan(ctx context.Context, q string, args ...any) (string, error) {
	explain := `EXPLAIN QUERY PLAN `
	if db.engine == Postgres {
		explain = `EXPLAIN `
	}
	rows, err := db.query(ctx, explain+q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		fmt.Fprintln(&b, vals...)
	}
	return b.String(), rows.Err()
}

// MigrateBefore brings a new database's schema up to, not including, the
// migration named name: a database as an older zhufang left it.
func (db *DB) MigrateBefore(ctx context.Context, name string) error {
	ms, err := migrations(db.engine)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.name == name {
			return nil
		}
		if err := db.apply(ctx, m); err != nil {
			return err
		}
	}
	return fmt.Errorf("no migration named %q", name)
}
