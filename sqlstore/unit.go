package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"strings"
	"time"

	"zhufang"
	"zhufang/auth"
)

var (
	_ zhufang.UnitService       = (*DB)(nil)
	_ zhufang.AssignmentService = (*DB)(nil)
)

const unitColumns = `id, call_sign, kind, platform, station_id, COALESCE(company_id, 0), COALESCE(community_id, 0),
	capabilities, crew, status, lon, lat, position_at, home_lon, home_lat`

func scanUnit(sc interface{ Scan(...any) error }) (*zhufang.Unit, error) {
	u := &zhufang.Unit{}
	var kind, platform, caps, status string
	dest := []any{&u.ID, &u.CallSign, &kind, &platform, &u.StationID, &u.CompanyID, &u.CommunityID, &caps, &u.Crew, &status,
		&u.Position.Lon, &u.Position.Lat, nullTime{&u.PositionAt}, &u.Home.Lon, &u.Home.Lat}
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	u.Kind, u.Platform, u.Status = zhufang.UnitKind(kind), zhufang.Platform(platform), zhufang.UnitStatus(status)
	u.Capabilities = []string{}
	if caps != "" {
		u.Capabilities = strings.Split(caps, ",")
	}
	return u, nil
}

// nullTime scans a nullable timestamp into a zero time for NULL.
type nullTime struct{ t *time.Time }

// Scan reads NULL as the zero time.
func (n nullTime) Scan(v any) error {
	if v == nil {
		*n.t = time.Time{}
		return nil
	}
	return timeColumn(n).Scan(v)
}

// FindUnits returns the units of a station, or all units for 0.
func (db *DB) FindUnits(ctx context.Context, stationID int64) ([]*zhufang.Unit, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewUnits); err != nil {
		return nil, err
	}
	where, args := unitScope(ctx)
	q := `SELECT ` + unitColumns + ` FROM units u WHERE 1 = 1` + where
	if stationID != 0 {
		q += ` AND station_id = ?`
		args = append(args, stationID)
	}
	rows, err := db.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*zhufang.Unit
	for rows.Next() {
		u, err := scanUnit(rows)
		if err != nil {
			return nil, db.translate(err)
		}
		out = append(out, u)
	}
	return out, db.translate(rows.Err())
}

// FindUnitByID returns one unit.
func (db *DB) FindUnitByID(ctx context.Context, id int64) (*zhufang.Unit, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewUnits); err != nil {
		return nil, err
	}
	where, args := unitScope(ctx)
	u, err := scanUnit(db.queryRow(ctx, `SELECT `+unitColumns+` FROM units u WHERE id = ?`+where, append([]any{id}, args...)...))
	if err == sql.ErrNoRows {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "unit %d does not exist", id)
	}
	return u, db.translate(err)
}

// CreateDevice registers a device for a unit and returns its token, which
// is shown once and stored only as a hash.
func (db *DB) CreateDevice(ctx context.Context, unitID int64) (id int64, token string, err error) {
	if err := zhufang.Authorize(ctx, zhufang.PermManageUsers); err != nil {
		return 0, "", err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, "", zhufang.WrapError(zhufang.EINTERNAL, "cannot make a token", err)
	}
	token = "zfd_" + hex.EncodeToString(b[:])
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, "", err
	}
	defer tx.rollback()
	if err := tx.mustExist(ctx, "units", "unit", unitID); err != nil {
		return 0, "", err
	}
	err = tx.queryRow(ctx, `INSERT INTO devices (unit_id, token_hash, created_at) VALUES (?, ?, ?) RETURNING id`,
		unitID, auth.HashToken(token), db.timeArg(tx.now)).Scan(&id)
	if err != nil {
		return 0, "", db.translate(err)
	}
	if err := tx.audit(ctx, zhufang.AuditDeviceToken, "unit:"+itoa(unitID), "device "+itoa(id)+" added"); err != nil {
		return 0, "", err
	}
	return id, token, tx.commit()
}

// RevokeDevice stops a device's token from working.
func (db *DB) RevokeDevice(ctx context.Context, id int64) error {
	if err := zhufang.Authorize(ctx, zhufang.PermManageUsers); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	res, err := tx.exec(ctx, `UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, db.timeArg(tx.now), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return zhufang.Errorf(zhufang.ENOTFOUND, "device %d does not exist or is already revoked", id)
	}
	if err := tx.audit(ctx, zhufang.AuditDeviceToken, "device:"+itoa(id), "revoked"); err != nil {
		return err
	}
	return tx.commit()
}

// DeviceUnit returns the unit a device token speaks for: EUNAUTHORIZED for
// a token that is unknown or revoked.
func (db *DB) DeviceUnit(ctx context.Context, token string) (int64, error) {
	want := auth.HashToken(token)
	var unit int64
	var got string
	var revoked sql.NullString
	err := db.queryRow(ctx, `SELECT unit_id, token_hash, CAST(revoked_at AS TEXT) FROM devices WHERE token_hash = ?`, want).Scan(&unit, &got, &revoked)
	if err == sql.ErrNoRows || (err == nil && subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1) {
		return 0, zhufang.Errorf(zhufang.EUNAUTHORIZED, "unknown device token")
	}
	if err != nil {
		return 0, db.translate(err)
	}
	if revoked.Valid {
		return 0, zhufang.Errorf(zhufang.EUNAUTHORIZED, "this device token was revoked")
	}
	return unit, nil
}

// AppendTrack stores position reports in the units' tracks. A report
// repeated with the same unit and time is stored once; reports arriving out
// of order are all kept. It returns how many were new.
func (db *DB) AppendTrack(ctx context.Context, reports []zhufang.PositionReport) (int, error) {
	if len(reports) == 0 {
		return 0, nil
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.rollback()
	added := 0
	for start := 0; start < len(reports); start += 500 {
		end := min(len(reports), start+500)
		q := `INSERT INTO unit_tracks (unit_id, at, lon, lat, speed, heading, received_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", end-start), ", ") + ` ON CONFLICT (unit_id, at) DO NOTHING`
		args := make([]any, 0, 7*(end-start))
		for _, r := range reports[start:end] {
			args = append(args, r.UnitID, db.timeArg(r.At), r.Point.Lon, r.Point.Lat, r.Speed, r.Heading, db.timeArg(tx.now))
		}
		res, err := tx.exec(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		added += int(n)
	}
	return added, tx.commit()
}

// FindTrack returns a unit's reports between two times, oldest first.
func (db *DB) FindTrack(ctx context.Context, unitID int64, from, to time.Time) ([]zhufang.PositionReport, error) {
	if _, err := db.FindUnitByID(ctx, unitID); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT unit_id, at, lon, lat, speed, heading FROM unit_tracks
		WHERE unit_id = ? AND at >= ? AND at <= ? ORDER BY at`, unitID, db.timeArg(from), db.timeArg(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []zhufang.PositionReport
	for rows.Next() {
		var r zhufang.PositionReport
		if err := rows.Scan(&r.UnitID, timeColumn{&r.At}, &r.Point.Lon, &r.Point.Lat, &r.Speed, &r.Heading); err != nil {
			return nil, db.translate(err)
		}
		out = append(out, r)
	}
	return out, db.translate(rows.Err())
}

// SavePositions snapshots the units' latest positions; a position older than
// the stored one is ignored, so snapshots from several nodes never move a
// unit back.
func (db *DB) SavePositions(ctx context.Context, latest []zhufang.PositionReport) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	for _, r := range latest {
		if _, err := tx.exec(ctx, `UPDATE units SET lon = ?, lat = ?, position_at = ?, updated_at = ?
			WHERE id = ? AND (position_at IS NULL OR position_at < ?)`,
			r.Point.Lon, r.Point.Lat, db.timeArg(r.At), db.timeArg(tx.now), r.UnitID, db.timeArg(r.At)); err != nil {
			return err
		}
	}
	return tx.commit()
}
