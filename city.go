package zhufang

import "fmt"

// Validate checks every record of the city and that every reference points
// at a record of the city, so that an import fails with a message naming the
// record rather than a database constraint.
func (c *City) Validate() error {
	ids := func() map[int64]bool { return map[int64]bool{} }
	bureaus, stations, subUnits, offices := ids(), ids(), ids(), ids()
	communities, grids, companies, teams := ids(), ids(), ids(), ids()
	codes := map[string]string{}
	unique := func(kind, code string) error {
		if prev, ok := codes[kind+code]; ok {
			return Errorf(ECONFLICT, "%s code %s is used twice (%s)", kind, code, prev)
		}
		codes[kind+code] = kind
		return nil
	}
	newID := func(set map[int64]bool, kind string, id int64) error {
		if id <= 0 {
			return Errorf(EINVALID, "%s has no ID", kind)
		}
		if set[id] {
			return Errorf(ECONFLICT, "%s ID %d is used twice", kind, id)
		}
		set[id] = true
		return nil
	}
	ref := func(set map[int64]bool, kind string, id int64, optional bool) error {
		if id == 0 && optional {
			return nil
		}
		if !set[id] {
			return Errorf(ENOTFOUND, "%s %d does not exist", kind, id)
		}
		return nil
	}
	wrap := func(kind, name string, err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%s %s: %w", kind, name, err)
	}
	for _, b := range c.Bureaus {
		err := b.Validate()
		if err == nil {
			err = newID(bureaus, "bureau", b.ID)
		}
		if err == nil {
			err = unique("bureau", b.Code)
		}
		if err == nil && b.ParentID != 0 {
			err = ref(bureaus, "parent bureau", b.ParentID, false)
		}
		if err := wrap("bureau", b.Code, err); err != nil {
			return err
		}
	}
	for _, s := range c.Stations {
		err := s.Validate()
		if err == nil {
			err = newID(stations, "station", s.ID)
		}
		if err == nil {
			err = unique("station", s.Code)
		}
		if err == nil {
			err = ref(bureaus, "bureau", s.BureauID, false)
		}
		if err := wrap("station", s.Code, err); err != nil {
			return err
		}
	}
	for _, u := range c.SubUnits {
		err := u.Validate()
		if err == nil {
			err = newID(subUnits, "sub-unit", u.ID)
		}
		if err == nil {
			err = ref(stations, "station", u.StationID, false)
		}
		if err := wrap("sub-unit", u.Name, err); err != nil {
			return err
		}
	}
	for _, o := range c.Offices {
		err := o.Validate()
		if err == nil {
			err = newID(offices, "police office", o.ID)
		}
		if err == nil {
			err = ref(stations, "station", o.StationID, false)
		}
		if err := wrap("police office", o.Name, err); err != nil {
			return err
		}
	}
	for _, cm := range c.Communities {
		err := cm.Validate()
		if err == nil {
			err = newID(communities, "community", cm.ID)
		}
		if err == nil {
			err = unique("community", cm.Code)
		}
		if err == nil {
			err = ref(stations, "station", cm.StationID, false)
		}
		if err == nil {
			err = ref(offices, "police office", cm.OfficeID, false)
		}
		if err := wrap("community", cm.Code, err); err != nil {
			return err
		}
	}
	for _, g := range c.Grids {
		err := g.Validate()
		if err == nil {
			err = newID(grids, "grid", g.ID)
		}
		if err == nil {
			err = unique("grid", g.Code)
		}
		if err == nil {
			err = ref(communities, "community", g.CommunityID, false)
		}
		if err := wrap("grid", g.Code, err); err != nil {
			return err
		}
	}
	officerIDs := map[int64]bool{}
	for _, o := range c.Officers {
		err := o.Validate()
		if err == nil {
			err = newID(officerIDs, "officer", o.ID)
		}
		if err == nil {
			err = unique("badge", o.BadgeNo)
		}
		if err == nil {
			err = ref(stations, "station", o.StationID, false)
		}
		if err == nil {
			err = ref(subUnits, "sub-unit", o.SubUnitID, true)
		}
		if err == nil {
			err = ref(offices, "police office", o.OfficeID, true)
		}
		if err := wrap("officer", o.BadgeNo, err); err != nil {
			return err
		}
	}
	for _, co := range c.Companies {
		err := validateNamed(co.Name, co.Seat, nil)
		if err == nil {
			err = newID(companies, "security company", co.ID)
		}
		if err == nil {
			err = ref(bureaus, "bureau", co.BureauID, false)
		}
		if err := wrap("security company", co.Name, err); err != nil {
			return err
		}
	}
	for _, t := range c.Teams {
		err := validateNamed(t.Name, t.Seat, nil)
		if err == nil {
			err = newID(teams, "team", t.ID)
		}
		if err == nil {
			err = ref(stations, "station", t.StationID, false)
		}
		if err == nil {
			err = ref(communities, "community", t.CommunityID, false)
		}
		if err := wrap("team", t.Name, err); err != nil {
			return err
		}
	}
	memberIDs := map[int64]bool{}
	for _, m := range c.Members {
		err := m.Validate()
		if err == nil {
			err = newID(memberIDs, "member", m.ID)
		}
		if err == nil {
			err = ref(communities, "community", m.CommunityID, false)
		}
		if err == nil {
			err = ref(companies, "security company", m.CompanyID, true)
		}
		if err == nil {
			err = ref(teams, "team", m.TeamID, true)
		}
		if err == nil {
			err = ref(grids, "grid", m.GridID, true)
		}
		if err := wrap("member", fmt.Sprint(m.ID), err); err != nil {
			return err
		}
	}
	return nil
}
