package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"zhufang"
	"zhufang/auth"
)

// errBadLogin is the one answer to a wrong username, a wrong password and
// a disabled account's right password, so the answer does not tell which
// usernames exist or which accounts are disabled.
var errBadLogin = zhufang.Errorf(zhufang.EUNAUTHORIZED, "wrong username or password")

// Authenticate checks a password, throttled by zhufang.SignInWait under the
// name and the source address of the context's actor. The failures are kept
// in the database, so they hold across restarts and across nodes, and for
// names no user has exactly as for real ones.
//
// Each attempt is first counted as a failure, in a transaction that also
// checks the throttle, and only then is the password checked (outside any
// transaction, since argon2 is slow on purpose); a right password takes the
// count back. So guesses sent at once cannot all slip through the check.
func (db *DB) Authenticate(ctx context.Context, username, password string) (*zhufang.User, error) {
	addr := ""
	if a := zhufang.ActorFromContext(ctx); a != nil {
		addr = a.Address
	}
	source := zhufang.SignInSource(addr)
	u, hash, err := db.reserveAttempt(ctx, username, source)
	if err != nil {
		return nil, err
	}
	if u == nil {
		auth.SpendCheck(password)
		return nil, errBadLogin
	}
	ok, err := auth.CheckPassword(hash, password)
	if err != nil {
		return nil, zhufang.WrapError(zhufang.EINTERNAL, "cannot check the password", err)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback()
	if !ok || u.Disabled {
		// A disabled account's right password stays counted as a failure
		// and is answered like a wrong one; only the audit trail says why.
		detail := ""
		if ok {
			detail = "account disabled"
		}
		if err := tx.auditAs(ctx, u.Username, u.ID, addr, zhufang.AuditSignInFailed, userRecord(u.ID), detail); err != nil {
			return nil, err
		}
		if err := tx.commit(); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	}
	// The user's row first, then the throttle's in their order: the order
	// changeUser takes them in too, so that on PostgreSQL neither waits
	// for the other crosswise.
	if _, err := tx.exec(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, db.timeArg(tx.now), u.ID); err != nil {
		return nil, err
	}
	if err := tx.takeBackFailure(ctx, username, source); err != nil {
		return nil, err
	}
	if err := tx.auditAs(ctx, u.Username, u.ID, addr, zhufang.AuditSignIn, userRecord(u.ID), ""); err != nil {
		return nil, err
	}
	u.LastLoginAt = tx.now
	return u, tx.commit()
}

// reserveAttempt checks the throttle and counts the attempt as a failure,
// in one transaction holding the name's and the source's rows; it returns
// the user and their stored hash, or a nil user for a name no one has.
// ETOOMANY when the attempt must wait; such an attempt is not counted, so
// hammering a lock does not make it longer.
func (db *DB) reserveAttempt(ctx context.Context, username, source string) (*zhufang.User, string, error) {
	if err := db.sweepThrottle(ctx); err != nil {
		return nil, "", err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, "", err
	}
	defer tx.rollback()
	var hash string
	u, err := scanUser(tx.queryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE username = ?`, username), &hash)
	if err == sql.ErrNoRows {
		u, err = nil, nil
	}
	if err != nil {
		return nil, "", db.translate(err)
	}
	keys := throttleKeysOf(username, source)
	h, err := tx.signInHistory(ctx, keys)
	if err != nil {
		return nil, "", err
	}
	if err := zhufang.SignInWait(h, tx.now).Err(); err != nil {
		return nil, "", err
	}
	h = h.CountFailure(tx.now)
	for i, c := range []zhufang.FailureCount{h.Account, h.Pair, h.Source} {
		k := keys[i]
		if _, err := tx.exec(ctx, `UPDATE sign_in_throttle SET failures = ?, since = ?, last_failure_at = ?
			WHERE kind = ? AND name = ? AND source = ?`,
			c.Failures, db.timeArg(c.Since), db.timeArg(c.LastFailure), k.kind, k.name, k.source); err != nil {
			return nil, "", err
		}
	}
	return u, hash, tx.commit()
}

// throttleKey names one row of sign_in_throttle.
type throttleKey struct{ kind, name, source string }

// throttleKeysOf gives the rows an attempt is counted under, in the order
// they are locked (so that two attempts never wait on each other's rows
// crosswise): the account, the pair, the source.
func throttleKeysOf(name, source string) [3]throttleKey {
	return [3]throttleKey{{"account", name, ""}, {"pair", name, source}, {"source", "", source}}
}

// signInHistory reads, creating them if need be and locking them until
// the transaction ends, the rows of an attempt.
func (tx *Tx) signInHistory(ctx context.Context, keys [3]throttleKey) (zhufang.SignInHistory, error) {
	var h zhufang.SignInHistory
	for i, c := range []*zhufang.FailureCount{&h.Account, &h.Pair, &h.Source} {
		k := keys[i]
		// The no-op update makes PostgreSQL lock an existing row and return
		// it; SQLite's transaction holds the whole database anyway.
		err := tx.queryRow(ctx, `INSERT INTO sign_in_throttle (kind, name, source) VALUES (?, ?, ?)
			ON CONFLICT (kind, name, source) DO UPDATE SET failures = sign_in_throttle.failures
			RETURNING failures, since, last_failure_at, last_success_at`, k.kind, k.name, k.source).
			Scan(&c.Failures, timeColumn{&c.Since}, timeColumn{&c.LastFailure}, timeColumn{&c.LastSuccess})
		if err != nil {
			return h, tx.db.translate(err)
		}
	}
	return h, nil
}

// takeBackFailure undoes, for a right password, the failure the attempt
// was counted as: the pair's count is cleared and its success remembered
// (the source is known to the name from now on); the source and account
// give back the one failure and no more, so that signing in does not
// forgive a spray from the same address or a guess at the same account.
// The counts are changed where they stand, since other attempts may have
// counted since the reservation.
func (tx *Tx) takeBackFailure(ctx context.Context, name, source string) error {
	for _, k := range throttleKeysOf(name, source) { // in lock order
		q := `UPDATE sign_in_throttle SET failures = failures - 1 WHERE kind = ? AND name = ? AND source = ? AND failures > 0`
		args := []any{k.kind, k.name, k.source}
		if k.kind == "pair" {
			q = `UPDATE sign_in_throttle SET failures = 0, since = NULL, last_failure_at = NULL, last_success_at = ?
				WHERE kind = ? AND name = ? AND source = ?`
			args = append([]any{tx.db.timeArg(tx.now)}, args...)
		}
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// clearFailures forgets the failures counted against a name, from every
// source (a password reset, an account enabled), keeping the sources it
// signed in from.
func (tx *Tx) clearFailures(ctx context.Context, name string) error {
	// The account's row first, as an attempt takes it before its pair's.
	for _, kind := range []string{"account", "pair"} {
		if _, err := tx.exec(ctx, `UPDATE sign_in_throttle SET failures = 0, since = NULL, last_failure_at = NULL
			WHERE kind = ? AND name = ?`, kind, name); err != nil {
			return err
		}
	}
	return nil
}

// sweepEvery is how often a process deletes expired sign-in rows.
const sweepEvery = time.Minute

// sweepThrottle deletes, at most once every sweepEvery per process, the
// rows whose failures no limit counts any more and whose success no longer
// makes the source known: the table holds only the last day's attempts
// and the last months' known sources, however many names are tried. It
// runs on its own, before an attempt's transaction, and on PostgreSQL
// passes over rows an attempt holds, so it never waits for one.
func (db *DB) sweepThrottle(ctx context.Context) error {
	now := db.clock.Now()
	last := db.swept.Load()
	if now.UnixNano()-last < int64(sweepEvery) || !db.swept.CompareAndSwap(last, now.UnixNano()) {
		return nil
	}
	expired := `(last_failure_at IS NULL OR last_failure_at < ?) AND (last_success_at IS NULL OR last_success_at < ?)`
	q := `DELETE FROM sign_in_throttle WHERE ` + expired
	if db.engine == Postgres {
		q = `DELETE FROM sign_in_throttle WHERE (kind, name, source) IN
			(SELECT kind, name, source FROM sign_in_throttle WHERE ` + expired + ` FOR UPDATE SKIP LOCKED)`
	}
	_, err := db.exec(ctx, q, db.timeArg(now.Add(-zhufang.ForgetAfter)), db.timeArg(now.Add(-zhufang.KnownSourceFor)))
	return err
}
