package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"zhufang"
)

// orgTables lists the organisation's tables, parents before children.
var orgTables = []string{"bureaus", "stations", "sub_units", "police_offices", "communities", "grids",
	"officers", "security_companies", "teams", "members", "units"}

// ImportCity stores a whole organisation in one transaction, with the IDs
// the city carries. The database must hold no organisation yet (ECONFLICT
// otherwise); ReplaceCity swaps one city for another.
func (db *DB) ImportCity(ctx context.Context, c *zhufang.City) error {
	return db.importCity(ctx, c, false)
}

// ReplaceCity deletes the organisation a database holds, with the incidents
// on its ground, and stores c instead, in one transaction: interrupted, it
// leaves the old city as it was.
func (db *DB) ReplaceCity(ctx context.Context, c *zhufang.City) error {
	return db.importCity(ctx, c, true)
}

func (db *DB) importCity(ctx context.Context, c *zhufang.City, replace bool) error {
	if err := c.Validate(); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if replace {
		if err := tx.clearCity(ctx); err != nil {
			return err
		}
	}
	var n int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM bureaus`).Scan(&n); err != nil {
		return db.translate(err)
	}
	if n > 0 {
		return zhufang.Errorf(zhufang.ECONFLICT, "the database already holds an organisation; replace it instead")
	}
	if err := tx.importRows(ctx, c); err != nil {
		return err
	}
	if err := tx.resetSequences(ctx); err != nil {
		return err
	}
	return tx.commit()
}

// importRows writes every record of c.
func (tx *Tx) importRows(ctx context.Context, c *zhufang.City) error {
	now := tx.db.timeArg(tx.now)
	steps := []func() error{
		func() error {
			return tx.insertRows(ctx, "bureaus", "id, code, name, level, parent_id, seat_lon, seat_lat, area, created_at", len(c.Bureaus), func(i int) []any {
				b := c.Bureaus[i]
				b.CreatedAt = tx.now
				return []any{b.ID, b.Code, b.Name, string(b.Level), nullID(b.ParentID), b.Seat.Lon, b.Seat.Lat, encodeArea(b.Area), now}
			})
		},
		func() error {
			return tx.insertRows(ctx, "stations", "id, code, name, kind, bureau_id, townships, seat_lon, seat_lat, area, created_at", len(c.Stations), func(i int) []any {
				s := c.Stations[i]
				s.CreatedAt = tx.now
				return []any{s.ID, s.Code, s.Name, string(s.Kind), s.BureauID, strings.Join(s.Townships, ","), s.Seat.Lon, s.Seat.Lat, encodeArea(s.Area), now}
			})
		},
		func() error {
			return tx.insertRows(ctx, "sub_units", "id, station_id, kind, name", len(c.SubUnits), func(i int) []any {
				u := c.SubUnits[i]
				return []any{u.ID, u.StationID, string(u.Kind), u.Name}
			})
		},
		func() error {
			return tx.insertRows(ctx, "police_offices", "id, name, kind, station_id, seat_lon, seat_lat", len(c.Offices), func(i int) []any {
				o := c.Offices[i]
				return []any{o.ID, o.Name, string(o.Kind), o.StationID, o.Seat.Lon, o.Seat.Lat}
			})
		},
		func() error {
			return tx.insertRows(ctx, "communities", "id, code, name, kind, county_code, station_id, office_id, population, households, zone, seat_lon, seat_lat, area, created_at", len(c.Communities), func(i int) []any {
				m := c.Communities[i]
				m.CreatedAt = tx.now
				return []any{m.ID, m.Code, m.Name, string(m.Kind), m.CountyCode, m.StationID, m.OfficeID, m.Population, m.Households, string(m.Zone), m.Seat.Lon, m.Seat.Lat, encodeArea(m.Area), now}
			})
		},
		func() error {
			return tx.insertRows(ctx, "grids", "id, code, name, community_id, households, seat_lon, seat_lat, area", len(c.Grids), func(i int) []any {
				g := c.Grids[i]
				return []any{g.ID, g.Code, g.Name, g.CommunityID, g.Households, g.Seat.Lon, g.Seat.Lat, encodeArea(g.Area)}
			})
		},
		func() error {
			return tx.insertRows(ctx, "officers", "id, badge_no, name, rank, post, station_id, sub_unit_id, office_id, seconded_from, phone", len(c.Officers), func(i int) []any {
				o := c.Officers[i]
				return []any{o.ID, o.BadgeNo, o.Name, string(o.Rank), string(o.Post), o.StationID, nullID(o.SubUnitID), nullID(o.OfficeID), o.SecondedFrom, o.Phone}
			})
		},
		func() error {
			return tx.insertRows(ctx, "security_companies", "id, name, bureau_id, seat_lon, seat_lat", len(c.Companies), func(i int) []any {
				s := c.Companies[i]
				return []any{s.ID, s.Name, s.BureauID, s.Seat.Lon, s.Seat.Lat}
			})
		},
		func() error {
			return tx.insertRows(ctx, "teams", "id, name, station_id, community_id, seat_lon, seat_lat", len(c.Teams), func(i int) []any {
				t := c.Teams[i]
				return []any{t.ID, t.Name, t.StationID, t.CommunityID, t.Seat.Lon, t.Seat.Lat}
			})
		},
		func() error {
			return tx.insertRows(ctx, "members", "id, kind, name, phone, community_id, company_id, team_id, grid_id, home_lon, home_lat", len(c.Members), func(i int) []any {
				m := c.Members[i]
				return []any{m.ID, string(m.Kind), m.Name, m.Phone, m.CommunityID, nullID(m.CompanyID), nullID(m.TeamID), nullID(m.GridID), m.Home.Lon, m.Home.Lat}
			})
		},
		func() error {
			return tx.insertRows(ctx, "units", "id, call_sign, kind, platform, station_id, company_id, community_id, capabilities, crew, status, lon, lat, home_lon, home_lat, updated_at", len(c.Units), func(i int) []any {
				u := c.Units[i]
				home := u.Home
				if home.IsZero() {
					home = u.Position
				}
				return []any{u.ID, u.CallSign, string(u.Kind), string(u.Platform), u.StationID, nullID(u.CompanyID), nullID(u.CommunityID),
					strings.Join(u.Capabilities, ","), u.Crew, string(u.Status), u.Position.Lon, u.Position.Lat, home.Lon, home.Lat, now}
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// insertRows inserts n rows in multi-row INSERT statements, which both
// engines take an order of magnitude faster than one statement a row. The
// statement of a full batch is prepared once per transaction.
func (tx *Tx) insertRows(ctx context.Context, table, columns string, n int, row func(i int) []any) error {
	ncol := strings.Count(columns, ",") + 1
	batch := max(1, min(500, 30000/ncol)) // stay under both engines' parameter limits
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncol), ", ") + ")"
	args := make([]any, 0, batch*ncol)
	for start := 0; start < n; start += batch {
		end := min(n, start+batch)
		args = args[:0]
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
		}
		q := tx.db.rebind("INSERT INTO " + table + " (" + columns + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(one+", ", end-start), ", "))
		var err error
		if end-start == batch {
			var st *sql.Stmt
			if st, err = tx.prepared(ctx, q); err == nil {
				_, err = st.ExecContext(ctx, args...)
			}
		} else {
			_, err = tx.tx.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return tx.db.translate(err)
		}
	}
	return nil
}

// prepared returns the transaction's prepared statement of q, preparing it
// the first time; the transaction's end closes it.
func (tx *Tx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := tx.stmts[q]; ok {
		return st, nil
	}
	st, err := tx.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[q] = st
	return st, nil
}

// resetSequences moves PostgreSQL's identity sequences past the IDs an
// import wrote explicitly, so that later inserts do not collide.
func (tx *Tx) resetSequences(ctx context.Context) error {
	return tx.resetSequencesOf(ctx, orgTables...)
}

// resetSequencesOf moves the identity sequences of the tables named.
func (tx *Tx) resetSequencesOf(ctx context.Context, tables ...string) error {
	if tx.db.engine != Postgres {
		return nil
	}
	for _, t := range tables {
		q := `SELECT setval(pg_get_serial_sequence('` + t + `', 'id'), COALESCE((SELECT MAX(id) FROM ` + t + `), 0) + 1, false)`
		if _, err := tx.exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// ClearOrg deletes the whole organisation and the incidents on its ground.
func (db *DB) ClearOrg(ctx context.Context) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if err := tx.clearCity(ctx); err != nil {
		return err
	}
	return tx.commit()
}

func (tx *Tx) clearCity(ctx context.Context) error {
	// The city's incidents hang on its communities and go with them.
	tables := append(append([]string{}, orgTables...), "incidents", "incident_transitions", "breach_alerts",
		"devices", "unit_tracks", "assignments", "users", "sessions", "sign_in_throttle", "demo_city")
	if tx.db.engine == Postgres {
		// One TRUNCATE of all tables skips the per-row foreign-key checks
		// that make deleting a city row by row take seconds.
		_, err := tx.exec(ctx, `TRUNCATE `+strings.Join(tables, ", ")+` RESTART IDENTITY`)
		return err
	}
	for i := len(tables) - 1; i >= 0; i-- {
		if _, err := tx.exec(ctx, `DELETE FROM `+tables[i]); err != nil {
			return err
		}
	}
	return nil
}
