package sqlstore

import (
	"context"
	"database/sql"
	"strconv"

	"zhufang"
)

// SetUserRole gives a user another role and ground, as an administrator
// does in the console. The pair is checked as a new user's would be (the
// role works at the scope's level, the scope names a record); the user's
// sessions end, since what they may see has changed; the change is audited.
// An administrator may not change their own role, so that nobody locks the
// last administrator out by accident.
func (db *DB) SetUserRole(ctx context.Context, username string, role zhufang.Role, scope zhufang.Scope) error {
	if err := zhufang.Authorize(ctx, zhufang.PermManageUsers); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	u := &zhufang.User{}
	err = tx.queryRow(ctx, `SELECT id, username, name, lang FROM users WHERE username = ?`, username).Scan(&u.ID, &u.Username, &u.Name, &u.Lang)
	if err == sql.ErrNoRows {
		return zhufang.Errorf(zhufang.ENOTFOUND, "user %q does not exist", username)
	}
	if err != nil {
		return db.translate(err)
	}
	if a := zhufang.ActorFromContext(ctx); a != nil && a.User != nil && a.User.ID == u.ID {
		return zhufang.Errorf(zhufang.EINVALID, "you cannot change your own role or ground")
	}
	u.Role, u.Scope = role, scope
	if err := u.Validate(); err != nil {
		return err
	}
	if err := tx.completeScope(ctx, &u.Scope); err != nil {
		return err
	}
	s := u.Scope
	if _, err := tx.exec(ctx, `UPDATE users SET role = ?, scope_level = ?, bureau_id = ?, station_id = ?, community_id = ?, updated_at = ?
		WHERE id = ?`, string(u.Role), string(s.Level), nullID(s.BureauID), nullID(s.StationID), nullID(s.CommunityID),
		db.timeArg(tx.now), u.ID); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, u.ID); err != nil {
		return err
	}
	detail := string(u.Role) + " " + string(s.Level)
	if id := s.RecordID(); id != 0 {
		detail += " " + strconv.FormatInt(id, 10)
	}
	if err := tx.audit(ctx, zhufang.AuditUserRole, userRecord(u.ID), detail); err != nil {
		return err
	}
	return tx.commit()
}
