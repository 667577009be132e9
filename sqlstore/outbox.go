package sqlstore

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"zhufang"
)

// Relay publishes the outbox: events that committed transactions wrote are
// sent to the event bus and marked published. Nothing is published that did
// not commit, and nothing committed is lost if the bus is down: the rows wait
// for the next round.
type Relay struct {
	db     *DB
	bus    zhufang.EventService
	logger *slog.Logger
	wake   chan struct{}
	done   chan struct{}
}

// StartRelay starts publishing db's outbox to bus until ctx ends. Wait on
// the returned relay's Done before closing db.
func (db *DB) StartRelay(ctx context.Context, bus zhufang.EventService, logger *slog.Logger) *Relay {
	r := &Relay{db: db, bus: bus, logger: logger, wake: make(chan struct{}, 1), done: make(chan struct{})}
	db.relay = r
	go r.run(ctx)
	return r
}

// Done is closed when the relay has stopped.
func (r *Relay) Done() <-chan struct{} { return r.done }

func (r *Relay) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Relay) run(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(time.Second) // catches rows other nodes or a crash left behind
	defer tick.Stop()
	for {
		if err := r.Drain(ctx); err != nil && ctx.Err() == nil {
			r.logger.Warn("outbox relay", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

// Drain publishes every unpublished event, oldest first.
func (r *Relay) Drain(ctx context.Context) error {
	for {
		n, err := r.batch(ctx, 200)
		if err != nil || n < 200 {
			return err
		}
	}
}

func (r *Relay) batch(ctx context.Context, limit int) (int, error) {
	tx, err := r.db.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.rollback()
	if r.db.engine == Postgres {
		// Several nodes share the outbox. One batch at a time, in ID order,
		// keeps the stream in the outbox's (commit) order; skipping rows
		// another relay had locked would publish later rows first.
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, r.db.keys.relay); err != nil {
			return 0, err
		}
	}
	q := `SELECT id, topic, payload, created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT ?`
	rows, err := tx.tx.QueryContext(ctx, r.db.rebind(q), limit)
	if err != nil {
		return 0, r.db.translate(err)
	}
	var events []zhufang.Event
	for rows.Next() {
		var e zhufang.Event
		var payload []byte
		if err := rows.Scan(&e.ID, &e.Topic, &payload, timeColumn{&e.At}); err != nil {
			rows.Close()
			return 0, r.db.translate(err)
		}
		e.Payload = payload
		events = append(events, e)
	}
	rows.Close()
	if len(events) == 0 {
		return 0, nil
	}
	if err := r.bus.Publish(ctx, events...); err != nil {
		return 0, zhufang.WrapError(zhufang.EUNAVAILABLE, "event bus refused events", err)
	}
	ids := make([]any, 0, len(events)+1)
	ids = append(ids, r.db.timeArg(tx.now))
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(events)), ", ")
	if _, err := tx.exec(ctx, `UPDATE outbox SET published_at = ? WHERE id IN (`+marks+`)`, ids...); err != nil {
		return 0, err
	}
	return len(events), tx.commit()
}

var _ zhufang.EventLog = (*DB)(nil)

// FindEventsSince reads committed events back from the outbox, which
// keeps them after publishing for exactly this. Events not yet marked
// published are included: the relay publishes a batch before it marks it,
// and a console that joined the live stream just after the publish and
// replayed just before the mark would otherwise never see those events.
// IDs follow commit order, so every committed event is safe to send; the
// live copy that may follow is dropped by its ID.
func (db *DB) FindEventsSince(ctx context.Context, after int64, limit int) ([]zhufang.Event, error) {
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	rows, err := db.query(ctx, `SELECT id, topic, payload, created_at FROM outbox
		WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []zhufang.Event
	for rows.Next() {
		var e zhufang.Event
		var payload []byte
		if err := rows.Scan(&e.ID, &e.Topic, &payload, timeColumn{&e.At}); err != nil {
			return nil, db.translate(err)
		}
		e.Payload = payload
		out = append(out, e)
	}
	return out, db.translate(rows.Err())
}

// pendingEvent is an event a transaction will write to the outbox as it
// commits.
type pendingEvent struct {
	topic, payload string
}

// flushEvents writes the transaction's events to the outbox just before
// commit. On PostgreSQL it first takes the outbox lock, held until commit,
// so that outbox IDs are handed out in commit order: when the relay sees
// row n, every row before n has committed too, and a console resuming
// after event n can never miss one that committed later with a smaller ID.
// Taking the lock last keeps it short and free of deadlocks: a transaction
// holding it wants no other lock.
func (tx *Tx) flushEvents(ctx context.Context) error {
	if tx.db.engine == Postgres {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, tx.db.keys.outbox); err != nil {
			return err
		}
	}
	args := make([]any, 0, 3*len(tx.events))
	at := tx.db.timeArg(tx.now)
	for _, e := range tx.events {
		args = append(args, e.topic, e.payload, at)
	}
	marks := strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(tx.events)), ", ")
	_, err := tx.exec(ctx, `INSERT INTO outbox (topic, payload, created_at) VALUES `+marks, args...)
	tx.events = nil
	return err
}
