package zhufang

import "fmt"

// cityCheck holds what City.Validate has seen so far.
type cityCheck struct {
	ids   map[string]map[int64]bool // kind → IDs
	codes map[string]bool           // kind+code
}

func (ck *cityCheck) add(kind string, id int64) error {
	if id <= 0 {
		return Errorf(EINVALID, "%s has no ID", kind)
	}
	if ck.ids[kind] == nil {
		ck.ids[kind] = map[int64]bool{}
	}
	if ck.ids[kind][id] {
		return Errorf(ECONFLICT, "%s ID %d is used twice", kind, id)
	}
	ck.ids[kind][id] = true
	return nil
}

func (ck *cityCheck) unique(kind, code string) error {
	if ck.codes[kind+code] {
		return Errorf(ECONFLICT, "%s code %s is used twice", kind, code)
	}
	ck.codes[kind+code] = true
	return nil
}

// ref checks that id names a record of kind; 0 passes when optional.
func (ck *cityCheck) ref(kind string, id int64, optional bool) error {
	if (id == 0 && optional) || ck.ids[kind][id] {
		return nil
	}
	return Errorf(ENOTFOUND, "%s %d does not exist", kind, id)
}

// first returns the first non-nil error, wrapped with what it is about.
func first(what string, errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// Validate checks every record of the city and that every reference points
// at a record of the city, so that an import fails with a message naming the
// record rather than a database constraint. Parents are checked before
// their children, so a reference can only point backwards.
func (c *City) Validate() error {
	ck := &cityCheck{ids: map[string]map[int64]bool{}, codes: map[string]bool{}}
	for _, b := range c.Bureaus {
		if err := first("bureau "+b.Code, b.Validate(), ck.add("bureau", b.ID), ck.unique("bureau", b.Code),
			ck.ref("bureau", b.ParentID, true)); err != nil {
			return err
		}
	}
	for _, s := range c.Stations {
		if err := first("station "+s.Code, s.Validate(), ck.add("station", s.ID), ck.unique("station", s.Code),
			ck.ref("bureau", s.BureauID, false)); err != nil {
			return err
		}
	}
	for _, u := range c.SubUnits {
		if err := first("sub-unit "+u.Name, u.Validate(), ck.add("sub-unit", u.ID), ck.ref("station", u.StationID, false)); err != nil {
			return err
		}
	}
	for _, o := range c.Offices {
		if err := first("police office "+o.Name, o.Validate(), ck.add("police office", o.ID),
			ck.ref("station", o.StationID, false)); err != nil {
			return err
		}
	}
	for _, m := range c.Communities {
		if err := first("community "+m.Code, m.Validate(), ck.add("community", m.ID), ck.unique("community", m.Code),
			ck.ref("station", m.StationID, false), ck.ref("police office", m.OfficeID, false)); err != nil {
			return err
		}
	}
	for _, g := range c.Grids {
		if err := first("grid "+g.Code, g.Validate(), ck.add("grid", g.ID), ck.unique("grid", g.Code),
			ck.ref("community", g.CommunityID, false)); err != nil {
			return err
		}
	}
	for _, o := range c.Officers {
		if err := first("officer "+o.BadgeNo, o.Validate(), ck.add("officer", o.ID), ck.unique("badge", o.BadgeNo),
			ck.ref("station", o.StationID, false), ck.ref("sub-unit", o.SubUnitID, true),
			ck.ref("police office", o.OfficeID, true)); err != nil {
			return err
		}
	}
	for _, co := range c.Companies {
		if err := first("security company "+co.Name, validateNamed(co.Name, co.Seat, nil), ck.add("security company", co.ID),
			ck.ref("bureau", co.BureauID, false)); err != nil {
			return err
		}
	}
	for _, t := range c.Teams {
		if err := first("team "+t.Name, validateNamed(t.Name, t.Seat, nil), ck.add("team", t.ID),
			ck.ref("station", t.StationID, false), ck.ref("community", t.CommunityID, false)); err != nil {
			return err
		}
	}
	for _, u := range c.Units {
		if err := first("unit "+u.CallSign, u.Validate(), ck.add("unit", u.ID), ck.unique("unit", u.CallSign),
			ck.ref("station", u.StationID, false), ck.ref("security company", u.CompanyID, true),
			ck.ref("community", u.CommunityID, true)); err != nil {
			return err
		}
	}
	for _, m := range c.Members {
		if err := first(fmt.Sprintf("member %d", m.ID), m.Validate(), ck.add("member", m.ID),
			ck.ref("community", m.CommunityID, false), ck.ref("security company", m.CompanyID, true),
			ck.ref("team", m.TeamID, true), ck.ref("grid", m.GridID, true)); err != nil {
			return err
		}
	}
	return nil
}
