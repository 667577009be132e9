package sqlstore

import (
	"context"
	"database/sql/driver"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// LeaderOptions tune Lead. The zero value is what a node uses.
type LeaderOptions struct {
	// Retry is how often a follower tries to take the lead. Default 1 s,
	// so a dead leader's jobs move within about a second of PostgreSQL
	// noticing its connection is gone.
	Retry time.Duration
	// Check is how often the leader makes sure its connection, and so its
	// lock, is still there. Default 1 s.
	Check  time.Duration
	Logger *slog.Logger // slog.Default() if nil
}

func (o LeaderOptions) withDefaults() LeaderOptions {
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.Check <= 0 {
		o.Check = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Leadership is one node's part in choosing the cluster's leader: the one
// node that runs the background jobs that must run once per cluster (the
// breach watcher, the fleet's snapshot, the live demo city).
type Leadership struct {
	leading atomic.Bool
	terms   atomic.Int64
	done    chan struct{}
}

// Leading reports whether this node leads now.
func (l *Leadership) Leading() bool { return l.leading.Load() }

// Terms reports how many times this node has taken the lead.
func (l *Leadership) Terms() int64 { return l.terms.Load() }

// Done is closed once Lead has stopped, its job finished and its lock let go.
func (l *Leadership) Done() <-chan struct{} { return l.done }

// Lead runs job whenever this node leads, until ctx ends. On PostgreSQL
// the leader is whoever holds a session advisory lock, on a connection of
// its own outside the pool: when the leader's process dies, the server
// drops the lock with the connection and a follower takes it within Retry.
// A leader whose connection fails stops its job (cancels its context and
// waits for it) at its next Check; a node that takes the lock waits two
// Checks before starting the job, so that a cut-off leader whose process
// still runs has stopped first. The jobs are safe even should they overlap
// (a breach is one row, raised once); the wait keeps them from doing the
// same work twice.
// SQLite serves one node, which always leads.
func (db *DB) Lead(ctx context.Context, opt LeaderOptions, job func(ctx context.Context)) *Leadership {
	opt = opt.withDefaults()
	l := &Leadership{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		if db.engine != Postgres {
			l.leading.Store(true)
			l.terms.Add(1)
			job(ctx)
			l.leading.Store(false)
			return
		}
		db.campaign(ctx, l, opt, job)
	}()
	return l
}

// campaign tries for the lock until ctx ends, leading whenever it has it.
func (db *DB) campaign(ctx context.Context, l *Leadership, opt LeaderOptions, job func(ctx context.Context)) {
	var warned time.Time // an outage is told every 30 s, not every Retry
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		conn, err := pgx.ConnectConfig(cctx, db.pgConfig.Copy())
		cancel()
		if err == nil {
			db.contend(ctx, conn, l, opt, job)
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(closeCtx) // lets the lock go, if it is still ours
			cancel()
		} else if ctx.Err() == nil && time.Since(warned) >= 30*time.Second {
			opt.Logger.Warn("leader election: cannot reach PostgreSQL", "db", db.where, "err", err)
			warned = time.Now()
		}
		sleep(ctx, opt.Retry)
	}
}

// contend tries for the lock on conn every Retry and leads while it holds
// it. It returns when ctx ends or conn fails.
func (db *DB) contend(ctx context.Context, conn *pgx.Conn, l *Leadership, opt LeaderOptions, job func(ctx context.Context)) {
	for ctx.Err() == nil {
		var got bool
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := conn.QueryRow(qctx, `SELECT pg_try_advisory_lock($1)`, db.keys.leader).Scan(&got)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				opt.Logger.Warn("leader election: lost the connection", "db", db.where, "err", err)
			}
			return
		}
		if got {
			db.lead(ctx, conn, l, opt, job)
			return
		}
		sleep(ctx, opt.Retry)
	}
}

// lead runs job while conn, which holds the lock, stays healthy.
func (db *DB) lead(ctx context.Context, conn *pgx.Conn, l *Leadership, opt LeaderOptions, job func(ctx context.Context)) {
	sleep(ctx, 2*opt.Check)
	if ctx.Err() != nil {
		return
	}
	l.terms.Add(1)
	l.leading.Store(true)
	opt.Logger.Info("leading the cluster: running the breach watcher and the other once-per-cluster jobs")
	jctx, stop := context.WithCancel(ctx)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		job(jctx)
	}()
	tick := time.NewTicker(opt.Check)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
		case <-tick.C:
			qctx, cancel := context.WithTimeout(ctx, opt.Check)
			_, err := conn.Exec(qctx, `SELECT 1`)
			cancel()
			if err == nil || ctx.Err() != nil {
				continue
			}
			opt.Logger.Warn("no longer leading: the connection holding the lead failed", "err", err)
		}
		break
	}
	stop()
	<-finished
	l.leading.Store(false)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Exclusive runs fn while no other node of the cluster runs an Exclusive
// of the same name: on PostgreSQL under a session advisory lock named by
// the schema and name, waited for; on SQLite, one node, at once. It is for
// one-off work at start-up, such as building the demo city, that two
// nodes starting together must not both do.
func (db *DB) Exclusive(ctx context.Context, name string, fn func() error) error {
	if db.engine != Postgres {
		return fn()
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return db.translate(err)
	}
	defer conn.Close()
	var key int64
	if err := conn.QueryRowContext(ctx, `SELECT hashtextextended(current_schema() || '/exclusive/' || $1, 0)`, name).Scan(&key); err != nil {
		return db.translate(err)
	}
	// The wait may be as long as the other node's work: lift the session's
	// lock timeout for it.
	if _, err := conn.ExecContext(ctx, `SET lock_timeout = 0`); err != nil {
		return db.translate(err)
	}
	_, err = conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key)
	conn.ExecContext(ctx, `RESET lock_timeout`)
	if err != nil {
		return db.translate(err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// The lock is the session's: make sure the session ends with it
			// rather than going back to the pool still holding it.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return fn()
}
