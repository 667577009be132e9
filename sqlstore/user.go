package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"zhufang"
	"zhufang/auth"
)

var _ zhufang.UserService = (*DB)(nil)

const userColumns = `id, username, name, role, scope_level, COALESCE(bureau_id, 0), COALESCE(station_id, 0),
	COALESCE(community_id, 0), lang, disabled, created_at, updated_at, CAST(last_login_at AS TEXT)`

func scanUser(sc interface{ Scan(...any) error }, extra ...any) (*zhufang.User, error) {
	u := &zhufang.User{}
	var role, level string
	var lastLogin sql.NullString
	dest := append([]any{&u.ID, &u.Username, &u.Name, &role, &level, &u.Scope.BureauID, &u.Scope.StationID,
		&u.Scope.CommunityID, &u.Lang, &u.Disabled, timeColumn{&u.CreatedAt}, timeColumn{&u.UpdatedAt}, &lastLogin}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	u.Role, u.Scope.Level = zhufang.Role(role), zhufang.ScopeLevel(level)
	if lastLogin.Valid {
		if err := (timeColumn{&u.LastLoginAt}).parse(normalTime(lastLogin.String)); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// normalTime turns PostgreSQL's text form of a timestamptz into RFC 3339.
func normalTime(s string) string {
	if t, err := time.Parse("2006-01-02 15:04:05.999999-07", s); err == nil {
		return t.Format(time.RFC3339Nano)
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999-07:00", s); err == nil {
		return t.Format(time.RFC3339Nano)
	}
	return s
}

// CreateUser stores a user with the hash of their password. The scope's
// upper levels are filled in from the org tree.
func (db *DB) CreateUser(ctx context.Context, u *zhufang.User, password string) error {
	if err := zhufang.Authorize(ctx, zhufang.PermManageUsers); err != nil {
		return err
	}
	if err := u.Validate(); err != nil {
		return err
	}
	if err := zhufang.ValidatePassword(password); err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, "cannot hash the password", err)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if err := tx.completeScope(ctx, &u.Scope); err != nil {
		return err
	}
	u.CreatedAt, u.UpdatedAt = tx.now, tx.now
	err = tx.queryRow(ctx, `INSERT INTO users (username, name, role, scope_level, bureau_id, station_id, community_id,
		lang, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Username, u.Name, string(u.Role), string(u.Scope.Level), nullID(u.Scope.BureauID), nullID(u.Scope.StationID),
		nullID(u.Scope.CommunityID), u.Lang, hash, u.Disabled, db.timeArg(tx.now), db.timeArg(tx.now)).Scan(&u.ID)
	if err != nil {
		if zhufang.ErrorCode(db.translate(err)) == zhufang.ECONFLICT {
			return zhufang.Errorf(zhufang.ECONFLICT, "username %q is taken", u.Username)
		}
		return db.translate(err)
	}
	if err := tx.audit(ctx, zhufang.AuditUserCreate, userRecord(u.ID), string(u.Role)+" "+string(u.Scope.Level)); err != nil {
		return err
	}
	return tx.commit()
}

func userRecord(id int64) string { return "user:" + itoa(id) }

// completeScope fills in the levels above the scope's own, and checks its
// record exists.
func (tx *Tx) completeScope(ctx context.Context, s *zhufang.Scope) error {
	switch s.Level {
	case zhufang.ScopeCity:
		*s = zhufang.Scope{Level: zhufang.ScopeCity}
	case zhufang.ScopeCounty:
		*s = zhufang.Scope{Level: s.Level, BureauID: s.BureauID}
		var n int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM bureaus WHERE id = ? AND level = 'county'`, s.BureauID).Scan(&n); err != nil {
			return tx.db.translate(err)
		}
		if n == 0 {
			return zhufang.Errorf(zhufang.ENOTFOUND, "county bureau %d does not exist", s.BureauID)
		}
	case zhufang.ScopeStation:
		s.CommunityID = 0
		err := tx.queryRow(ctx, `SELECT bureau_id FROM stations WHERE id = ?`, s.StationID).Scan(&s.BureauID)
		if err == sql.ErrNoRows {
			return zhufang.Errorf(zhufang.ENOTFOUND, "station %d does not exist", s.StationID)
		}
		return tx.db.translate(err)
	case zhufang.ScopeCommunity:
		err := tx.queryRow(ctx, `SELECT s.id, s.bureau_id FROM communities c JOIN stations s ON s.id = c.station_id WHERE c.id = ?`,
			s.CommunityID).Scan(&s.StationID, &s.BureauID)
		if err == sql.ErrNoRows {
			return zhufang.Errorf(zhufang.ENOTFOUND, "community %d does not exist", s.CommunityID)
		}
		return tx.db.translate(err)
	}
	return nil
}

// FindUserByID returns ENOTFOUND for an unknown ID.
func (db *DB) FindUserByID(ctx context.Context, id int64) (*zhufang.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "user %d does not exist", id)
	}
	return u, db.translate(err)
}

// FindUserByName returns ENOTFOUND for an unknown username.
func (db *DB) FindUserByName(ctx context.Context, username string) (*zhufang.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if err == sql.ErrNoRows {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "user %q does not exist", username)
	}
	return u, db.translate(err)
}

// FindUsers returns every user by username.
func (db *DB) FindUsers(ctx context.Context) ([]*zhufang.User, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermManageUsers); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*zhufang.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.translate(err)
		}
		out = append(out, u)
	}
	return out, db.translate(rows.Err())
}

// SetPassword changes a password, clears the name's sign-in failures and
// ends every session of the user.
func (db *DB) SetPassword(ctx context.Context, username, password string) error {
	if err := zhufang.ValidatePassword(password); err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, "cannot hash the password", err)
	}
	return db.changeUser(ctx, username, zhufang.AuditUserPassword,
		`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash)
}

// SetUserDisabled disables or enables a user, clearing the name's sign-in
// failures; disabling ends their sessions.
func (db *DB) SetUserDisabled(ctx context.Context, username string, disabled bool) error {
	action := zhufang.AuditUserEnable
	if disabled {
		action = zhufang.AuditUserDisable
	}
	return db.changeUser(ctx, username, action, `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`, disabled)
}

// changeUser runs one UPDATE of a user named by username (its last two
// parameters are the time and the ID), clears the name's sign-in failures,
// ends the user's sessions and audits.
func (db *DB) changeUser(ctx context.Context, username, action, update string, arg any) error {
	if err := zhufang.Authorize(ctx, zhufang.PermManageUsers); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	var id int64
	err = tx.queryRow(ctx, `SELECT id FROM users WHERE username = ?`, username).Scan(&id)
	if err == sql.ErrNoRows {
		return zhufang.Errorf(zhufang.ENOTFOUND, "user %q does not exist", username)
	}
	if err != nil {
		return db.translate(err)
	}
	if _, err := tx.exec(ctx, update, arg, db.timeArg(tx.now), id); err != nil {
		return err
	}
	if err := tx.clearFailures(ctx, username); err != nil {
		return err
	}
	if action != zhufang.AuditUserEnable {
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
			return err
		}
	}
	if err := tx.audit(ctx, action, userRecord(id), ""); err != nil {
		return err
	}
	return tx.commit()
}

// SetUserLang sets the language the console speaks to a user.
func (db *DB) SetUserLang(ctx context.Context, id int64, lang string) error {
	if err := zhufang.AuthorizeSelf(ctx, id, "change the language"); err != nil {
		return err
	}
	if err := zhufang.CheckLanguage(lang); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	res, err := tx.exec(ctx, `UPDATE users SET lang = ?, updated_at = ? WHERE id = ?`, lang, db.timeArg(tx.now), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return zhufang.Errorf(zhufang.ENOTFOUND, "user %d does not exist", id)
	}
	return tx.commit()
}

// CreateSession starts a session and returns its token; only the token's
// hash is stored.
func (db *DB) CreateSession(ctx context.Context, userID int64, address string) (string, *zhufang.Session, error) {
	token, err := auth.NewToken()
	if err != nil {
		return "", nil, zhufang.WrapError(zhufang.EINTERNAL, "cannot make a token", err)
	}
	csrf, err := auth.NewToken()
	if err != nil {
		return "", nil, zhufang.WrapError(zhufang.EINTERNAL, "cannot make a token", err)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return "", nil, err
	}
	defer tx.rollback()
	var disabled bool
	err = tx.queryRow(ctx, `SELECT disabled FROM users WHERE id = ?`, userID).Scan(&disabled)
	if err == sql.ErrNoRows {
		return "", nil, zhufang.Errorf(zhufang.ENOTFOUND, "user %d does not exist", userID)
	}
	if err != nil {
		return "", nil, db.translate(err)
	}
	if err := (&zhufang.User{Disabled: disabled}).CheckActive(); err != nil {
		return "", nil, err
	}
	s := &zhufang.Session{UserID: userID, CSRF: csrf, Address: address, CreatedAt: tx.now, SeenAt: tx.now}
	if _, err := tx.exec(ctx, `INSERT INTO sessions (token_hash, user_id, csrf, address, created_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)`,
		auth.HashToken(token), userID, csrf, address, db.timeArg(tx.now), db.timeArg(tx.now)); err != nil {
		return "", nil, err
	}
	return token, s, tx.commit()
}

// seenEvery is how stale a session's last-seen time may be before a
// request writes it again: often enough for the idle timeout, rarely
// enough that reading pages does not write the database.
const seenEvery = time.Minute

// SessionUser returns the user and session of a token, refusing an
// expired session (which it deletes) and a disabled user.
func (db *DB) SessionUser(ctx context.Context, token string) (*zhufang.User, *zhufang.Session, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "please sign in")
	}
	s := &zhufang.Session{}
	th := auth.HashToken(token)
	u, err := scanUser(db.queryRow(ctx, `SELECT `+sessionUserColumns+`, s.csrf, s.address, s.created_at, s.seen_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, th),
		&s.CSRF, &s.Address, timeColumn{&s.CreatedAt}, timeColumn{&s.SeenAt})
	if err == sql.ErrNoRows {
		return nil, nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "your session has ended; please sign in again")
	}
	if err != nil {
		return nil, nil, db.translate(err)
	}
	s.UserID = u.ID
	now := db.clock.Now()
	if s.Expired(now) {
		db.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, th)
		return nil, nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "your session has expired; please sign in again")
	}
	if u.Disabled {
		return nil, nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "this account is disabled")
	}
	if now.Sub(s.SeenAt) >= seenEvery {
		if _, err := db.exec(ctx, `UPDATE sessions SET seen_at = ? WHERE token_hash = ?`, db.timeArg(now), th); err != nil {
			return nil, nil, err
		}
		s.SeenAt = now
	}
	return u, s, nil
}

// sessionUserColumns is userColumns for the session query, whose users
// table is aliased u; scanUser reads both.
const sessionUserColumns = `u.id, u.username, u.name, u.role, u.scope_level, COALESCE(u.bureau_id, 0), COALESCE(u.station_id, 0),
	COALESCE(u.community_id, 0), u.lang, u.disabled, u.created_at, u.updated_at, CAST(u.last_login_at AS TEXT)`

// DeleteSession ends one session (sign out).
func (db *DB) DeleteSession(ctx context.Context, token string) error {
	var user int64
	err := db.queryRow(ctx, `SELECT user_id FROM sessions WHERE token_hash = ?`, auth.HashToken(token)).Scan(&user)
	if err == sql.ErrNoRows {
		return nil // already ended
	}
	if err != nil {
		return db.translate(err)
	}
	return db.endSessions(ctx, `DELETE FROM sessions WHERE token_hash = ?`, auth.HashToken(token), user, zhufang.AuditSignOut)
}

// DeleteUserSessions ends every session of a user (sign out everywhere).
func (db *DB) DeleteUserSessions(ctx context.Context, userID int64) error {
	if err := zhufang.AuthorizeSelf(ctx, userID, "end sessions"); err != nil {
		return err
	}
	return db.endSessions(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID, userID, zhufang.AuditSignOutAll)
}

func (db *DB) endSessions(ctx context.Context, q string, arg any, user int64, action string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if _, err := tx.exec(ctx, q, arg); err != nil {
		return err
	}
	if err := tx.audit(ctx, action, userRecord(user), ""); err != nil {
		return err
	}
	return tx.commit()
}

// exec runs one statement outside a transaction; used only for writes that
// stand alone (a session's last-seen time).
func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if db.writer != nil {
		select {
		case db.writer <- struct{}{}:
		case <-ctx.Done():
			return nil, db.translate(ctx.Err())
		}
		defer db.release()
	}
	r, err := db.db.ExecContext(ctx, db.rebind(q), args...)
	return r, db.translate(err)
}
