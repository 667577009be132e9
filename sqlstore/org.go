package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"zhufang"
)

// Ensure the store keeps the domain's contract.
var _ zhufang.OrgService = (*DB)(nil)

// CreateBureau adds a bureau and sets its ID and creation time.
func (db *DB) CreateBureau(ctx context.Context, b *zhufang.Bureau) (err error) {
	if err := b.Validate(); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if b.ParentID != 0 {
		if err := tx.mustExist(ctx, "bureaus", "parent bureau", b.ParentID); err != nil {
			return err
		}
	}
	b.CreatedAt = tx.now
	err = tx.queryRow(ctx, `INSERT INTO bureaus (code, name, level, parent_id, seat_lon, seat_lat, area, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		b.Code, b.Name, string(b.Level), nullID(b.ParentID), b.Seat.Lon, b.Seat.Lat, encodeArea(b.Area), db.timeArg(tx.now)).Scan(&b.ID)
	if err != nil {
		return db.translate(err)
	}
	return tx.commit()
}

// CreateStation adds a station and sets its ID and creation time.
func (db *DB) CreateStation(ctx context.Context, s *zhufang.Station) (err error) {
	if err := s.Validate(); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if err := tx.mustExist(ctx, "bureaus", "bureau", s.BureauID); err != nil {
		return err
	}
	s.CreatedAt = tx.now
	err = tx.queryRow(ctx, `INSERT INTO stations (code, name, kind, bureau_id, townships, seat_lon, seat_lat, area, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.Code, s.Name, string(s.Kind), s.BureauID, strings.Join(s.Townships, ","), s.Seat.Lon, s.Seat.Lat,
		encodeArea(s.Area), db.timeArg(tx.now)).Scan(&s.ID)
	if err != nil {
		return db.translate(err)
	}
	return tx.commit()
}

// CreatePoliceOffice adds a police office and sets its ID.
func (db *DB) CreatePoliceOffice(ctx context.Context, o *zhufang.PoliceOffice) (err error) {
	if err := o.Validate(); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if err := tx.mustExist(ctx, "stations", "station", o.StationID); err != nil {
		return err
	}
	err = tx.queryRow(ctx, `INSERT INTO police_offices (name, kind, station_id, seat_lon, seat_lat)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, o.Name, string(o.Kind), o.StationID, o.Seat.Lon, o.Seat.Lat).Scan(&o.ID)
	if err != nil {
		return db.translate(err)
	}
	return tx.commit()
}

// CreateCommunity adds a community or village and sets its ID and creation
// time.
func (db *DB) CreateCommunity(ctx context.Context, c *zhufang.Community) (err error) {
	if err := c.Validate(); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if err := tx.mustExist(ctx, "stations", "station", c.StationID); err != nil {
		return err
	}
	var officeStation int64
	if err := tx.queryRow(ctx, `SELECT station_id FROM police_offices WHERE id = ?`, c.OfficeID).Scan(&officeStation); err != nil {
		if err == sql.ErrNoRows {
			return zhufang.Errorf(zhufang.ENOTFOUND, "police office %d does not exist", c.OfficeID)
		}
		return db.translate(err)
	}
	if err := c.CheckOffice(officeStation); err != nil {
		return err
	}
	c.CreatedAt = tx.now
	err = tx.queryRow(ctx, `INSERT INTO communities (code, name, kind, county_code, station_id, office_id,
		population, households, zone, seat_lon, seat_lat, area, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Code, c.Name, string(c.Kind), c.CountyCode, c.StationID, c.OfficeID, c.Population, c.Households,
		string(c.Zone), c.Seat.Lon, c.Seat.Lat, encodeArea(c.Area), db.timeArg(tx.now)).Scan(&c.ID)
	if err != nil {
		return db.translate(err)
	}
	return tx.commit()
}

// mustExist returns ENOTFOUND naming kind if table has no row id.
func (tx *Tx) mustExist(ctx context.Context, table, kind string, id int64) error {
	var n int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM `+table+` WHERE id = ?`, id).Scan(&n); err != nil {
		return tx.db.translate(err)
	}
	if n == 0 {
		return zhufang.Errorf(zhufang.ENOTFOUND, "%s %d does not exist", kind, id)
	}
	return nil
}

// FindBureaus returns every bureau, the city first.
func (db *DB) FindBureaus(ctx context.Context) ([]*zhufang.Bureau, error) {
	rows, err := db.query(ctx, `SELECT id, code, name, level, COALESCE(parent_id, 0), seat_lon, seat_lat, area, created_at
		FROM bureaus ORDER BY CASE level WHEN 'city' THEN 0 ELSE 1 END, code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*zhufang.Bureau
	for rows.Next() {
		b := &zhufang.Bureau{}
		var level string
		if err := rows.Scan(&b.ID, &b.Code, &b.Name, &level, &b.ParentID, &b.Seat.Lon, &b.Seat.Lat,
			areaColumn{&b.Area}, timeColumn{&b.CreatedAt}); err != nil {
			return nil, db.translate(err)
		}
		b.Level = zhufang.BureauLevel(level)
		out = append(out, b)
	}
	return out, db.translate(rows.Err())
}

// FindStations returns every station with its area, ordered by code.
func (db *DB) FindStations(ctx context.Context) ([]*zhufang.Station, error) {
	return db.findStations(ctx, true)
}

func (db *DB) findStations(ctx context.Context, withArea bool) ([]*zhufang.Station, error) {
	area := "NULL"
	if withArea {
		area = "area"
	}
	rows, err := db.query(ctx, `SELECT id, code, name, kind, bureau_id, townships, seat_lon, seat_lat, `+area+`, created_at
		FROM stations ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*zhufang.Station
	for rows.Next() {
		s := &zhufang.Station{}
		var kind, townships string
		if err := rows.Scan(&s.ID, &s.Code, &s.Name, &kind, &s.BureauID, &townships, &s.Seat.Lon, &s.Seat.Lat,
			areaColumn{&s.Area}, timeColumn{&s.CreatedAt}); err != nil {
			return nil, db.translate(err)
		}
		s.Kind = zhufang.StationKind(kind)
		if townships != "" {
			s.Townships = strings.Split(townships, ",")
		}
		out = append(out, s)
	}
	return out, db.translate(rows.Err())
}

const communityColumns = `id, code, name, kind, county_code, station_id, office_id, population, households, zone, seat_lon, seat_lat`

func scanCommunity(sc interface{ Scan(...any) error }, withArea bool) (*zhufang.Community, error) {
	c := &zhufang.Community{}
	var kind, zone string
	dest := []any{&c.ID, &c.Code, &c.Name, &kind, &c.CountyCode, &c.StationID, &c.OfficeID, &c.Population,
		&c.Households, &zone, &c.Seat.Lon, &c.Seat.Lat}
	if withArea {
		dest = append(dest, areaColumn{&c.Area})
	}
	dest = append(dest, timeColumn{&c.CreatedAt})
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	c.Kind, c.Zone = zhufang.CommunityKind(kind), zhufang.ZoneKind(zone)
	return c, nil
}

// FindCommunityByID returns one community with its area.
func (db *DB) FindCommunityByID(ctx context.Context, id int64) (*zhufang.Community, error) {
	row := db.queryRow(ctx, `SELECT `+communityColumns+`, area, created_at FROM communities WHERE id = ?`, id)
	c, err := scanCommunity(row, true)
	if err == sql.ErrNoRows {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "community %d does not exist", id)
	}
	return c, db.translate(err)
}

// FindCommunities returns the communities the filter selects, ordered by
// code.
func (db *DB) FindCommunities(ctx context.Context, f zhufang.CommunityFilter) ([]*zhufang.Community, error) {
	q := `SELECT ` + communityColumns
	if f.WithArea {
		q += `, area`
	}
	q += `, created_at FROM communities WHERE 1 = 1`
	var args []any
	if f.StationID != 0 {
		q += ` AND station_id = ?`
		args = append(args, f.StationID)
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, string(f.Kind))
	}
	q += ` ORDER BY code`
	if f.Limit > 0 {
		q += ` LIMIT ? OFFSET ?`
		args = append(args, f.Limit, max(f.Offset, 0))
	}
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*zhufang.Community
	for rows.Next() {
		c, err := scanCommunity(rows, f.WithArea)
		if err != nil {
			return nil, db.translate(err)
		}
		out = append(out, c)
	}
	return out, db.translate(rows.Err())
}

// OrgSummary counts the organisation by kind.
func (db *DB) OrgSummary(ctx context.Context) (*zhufang.OrgSummary, error) {
	s := &zhufang.OrgSummary{}
	err := db.queryRow(ctx, `SELECT
		(SELECT count(*) FROM bureaus WHERE level = 'city'),
		(SELECT count(*) FROM bureaus WHERE level = 'county'),
		(SELECT count(*) FROM stations),
		(SELECT count(*) FROM sub_units),
		(SELECT count(*) FROM police_offices WHERE kind = 'urban'),
		(SELECT count(*) FROM police_offices WHERE kind = 'rural'),
		(SELECT count(*) FROM communities WHERE kind = 'urban'),
		(SELECT count(*) FROM communities WHERE kind = 'village'),
		(SELECT count(*) FROM grids),
		(SELECT count(*) FROM officers),
		(SELECT count(*) FROM officers WHERE rank = 'police'),
		(SELECT count(*) FROM officers WHERE rank = 'auxiliary'),
		(SELECT count(*) FROM officers WHERE post = 'community_officer'),
		(SELECT count(*) FROM officers WHERE post = 'village_auxiliary'),
		(SELECT count(*) FROM officers WHERE seconded_from <> ''),
		(SELECT count(*) FROM security_companies),
		(SELECT count(*) FROM teams),
		(SELECT count(*) FROM members),
		(SELECT count(*) FROM members WHERE kind = 'guard'),
		(SELECT count(*) FROM members WHERE kind = 'volunteer'),
		(SELECT count(*) FROM members WHERE kind = 'grid_worker'),
		(SELECT count(*) FROM members WHERE kind = 'mediator'),
		(SELECT COALESCE(SUM(population), 0) FROM communities),
		(SELECT count(*) FROM units),
		(SELECT count(*) FROM units WHERE platform = 'police'),
		(SELECT count(*) FROM units WHERE platform = 'mass')`).Scan(
		&s.CityBureaus, &s.CountyBureaus, &s.Stations, &s.SubUnits, &s.UrbanOffices, &s.RuralOffices,
		&s.UrbanCommunities, &s.Villages, &s.Grids, &s.Officers, &s.PoliceOfficers, &s.AuxiliaryOfficers,
		&s.CommunityOfficers, &s.VillageAuxiliaries, &s.SecondedOfficers, &s.SecurityCompanies,
		&s.CommunityPoliceTeams, &s.MassPreventionMembers, &s.Guards, &s.Volunteers, &s.GridWorkers,
		&s.Mediators, &s.Population, &s.Units, &s.PoliceUnits, &s.MassUnits)
	if err != nil {
		return nil, db.translate(err)
	}
	return s, nil
}

// IsEmpty reports whether the database holds no organisation yet.
func (db *DB) IsEmpty(ctx context.Context) (bool, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT count(*) FROM bureaus`).Scan(&n); err != nil {
		return false, db.translate(err)
	}
	return n == 0, nil
}

// FindOrgTree returns the city bureau, its county bureaus and their
// stations with counts, without areas.
func (db *DB) FindOrgTree(ctx context.Context) (*zhufang.OrgTree, error) {
	bureaus, err := db.FindBureaus(ctx)
	if err != nil {
		return nil, err
	}
	stations, err := db.findStations(ctx, false)
	if err != nil {
		return nil, err
	}
	nodes := map[int64]*zhufang.StationNode{}
	for _, s := range stations {
		nodes[s.ID] = &zhufang.StationNode{Station: s}
	}
	rows, err := db.query(ctx, `SELECT station_id, kind, count(*), COALESCE(SUM(population), 0) FROM communities GROUP BY station_id, kind`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, pop int64
		var kind string
		var n int
		if err := rows.Scan(&id, &kind, &n, &pop); err != nil {
			return nil, db.translate(err)
		}
		if nd := nodes[id]; nd != nil {
			if kind == string(zhufang.CommunityUrban) {
				nd.UrbanCommunities = n
			} else {
				nd.Villages = n
			}
			nd.Population += pop
		}
	}
	if err := rows.Err(); err != nil {
		return nil, db.translate(err)
	}
	rows2, err := db.query(ctx, `SELECT station_id, count(*) FROM officers GROUP BY station_id`)
	if err != nil {
		return nil, err
	}
	defer rows2.Close()
	for rows2.Next() {
		var id int64
		var n int
		if err := rows2.Scan(&id, &n); err != nil {
			return nil, db.translate(err)
		}
		if nd := nodes[id]; nd != nil {
			nd.Officers = n
		}
	}
	if err := rows2.Err(); err != nil {
		return nil, db.translate(err)
	}
	tree := &zhufang.OrgTree{}
	byBureau := map[int64]*zhufang.BureauNode{}
	for _, b := range bureaus {
		b.Area = nil // the tree is for listing; areas are large
		if b.Level == zhufang.BureauCity {
			tree.City = b
			continue
		}
		bn := &zhufang.BureauNode{Bureau: b}
		byBureau[b.ID] = bn
		tree.Counties = append(tree.Counties, bn)
	}
	for _, s := range stations {
		if bn := byBureau[s.BureauID]; bn != nil {
			bn.Stations = append(bn.Stations, nodes[s.ID])
		}
	}
	return tree, nil
}
