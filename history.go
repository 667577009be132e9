package zhufang

import (
	"context"
	"time"
)

// PastIncident is an ended incident of a city's history: the incident as
// it ended, every change of its state, and the units that were sent.
// History is imported in bulk (a demo city's two years, or an old system's
// records), not through intake.
type PastIncident struct {
	Incident    Incident
	Transitions []Transition
	Assignments []Assignment
}

// DemoCity records a generated demo city: the seed it was built from and
// the day its incident history ends, which anchor the incident model that
// the live demo and the simulation draw from.
type DemoCity struct {
	Seed uint64 `json:"seed"`
	// AnchorDay is the last day of the history (China time), YYYY-MM-DD.
	AnchorDay   string    `json:"anchor_day"`
	HistoryDays int       `json:"history_days"`
	Incidents   int64     `json:"incidents"`
	BuiltAt     time.Time `json:"built_at"`
}

// Validate checks the record: an anchor day that is a date, and a history
// of no negative length.
func (d DemoCity) Validate() error {
	if _, err := d.Anchor(); err != nil {
		return err
	}
	if d.HistoryDays < 0 {
		return Errorf(EINVALID, "history days must not be negative")
	}
	return nil
}

// Anchor returns AnchorDay as midnight China time.
func (d DemoCity) Anchor() (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, d.AnchorDay, ChinaTime)
	if err != nil {
		return time.Time{}, Errorf(EINVALID, "demo city anchor day %q is not YYYY-MM-DD", d.AnchorDay)
	}
	return t, nil
}

// CategoryCount is how many incidents of one category were received in a
// period.
type CategoryCount struct {
	Category string `json:"category"`
	Count    int64  `json:"count"`
}

// HistoryService stores and reads a city's history.
type HistoryService interface {
	// ImportHistory stores past incidents in one transaction, giving them
	// IDs and numbers in the order they come, and returns how many.
	ImportHistory(ctx context.Context, batches <-chan []PastIncident) (int64, error)
	// CountByCategory counts the incidents received in [from, to) by
	// category, on the actor's ground.
	CountByCategory(ctx context.Context, from, to time.Time) ([]CategoryCount, error)
	// FindReceived lists the incidents received in [from, to), oldest
	// first, in the lane given or every lane ("" ); the street lane
	// includes live disputes.
	FindReceived(ctx context.Context, from, to time.Time, lane Lane) ([]*Incident, error)
	// SetDemoCity records the demo city; FindDemoCity reads the record,
	// ENOTFOUND when the database holds no demo city.
	SetDemoCity(ctx context.Context, d DemoCity) error
	FindDemoCity(ctx context.Context) (DemoCity, error)
}

// PostureService plans where idle units should wait (快反 posts) for the
// hour, from the street incidents of the past weeks, and says which parts
// of the ground no idle unit reaches within the on-scene threshold now.
type PostureService interface {
	// Posture plans for the hour of now over the units given (the live
	// units on the actor's ground) and the actor's ground's history.
	Posture(ctx context.Context, now time.Time, units []LiveUnit) (*Posture, error)
}

// Posture is the plan of one hour, by county bureau.
type Posture struct {
	Hour        int             `json:"hour"`         // China time
	HistoryDays int             `json:"history_days"` // days of street incidents it learnt from
	Bureaus     []BureauPosture `json:"bureaus"`
	Took        float64         `json:"took_ms"` // time to plan
}

// BureauPosture is one county bureau's plan.
type BureauPosture struct {
	BureauID int64 `json:"bureau_id"`
	// Expected is the street incidents expected in the hour; CoveredNow
	// and CoveredPlanned the shares of them within reach of an idle unit
	// where the units are now and where the plan puts them.
	Expected       float64       `json:"expected"`
	CoveredNow     float64       `json:"covered_now"`
	CoveredPlanned float64       `json:"covered_planned"`
	Units          []PostureUnit `json:"units"`     // the idle cars and motorcycles planned for
	Posts          []PosturePost `json:"posts"`     // where they should wait
	Uncovered      []PostureCell `json:"uncovered"` // where no idle unit reaches in time now, most demand first
}

// PostureUnit is an idle unit the plan moves.
type PostureUnit struct {
	UnitID   int64  `json:"unit_id"`
	CallSign string `json:"call_sign"`
	At       Point  `json:"at"`
	Stale    bool   `json:"stale"`
}

// PosturePost sends a unit to wait at a point.
type PosturePost struct {
	UnitID int64   `json:"unit_id"`
	At     Point   `json:"at"`
	Meters float64 `json:"meters"` // from where the unit is
}

// PostureCell is a square of the ground, centred on its incidents, with
// the street incidents expected in it in the hour.
type PostureCell struct {
	At       Point    `json:"at"`
	Zone     ZoneKind `json:"zone"`
	Expected float64  `json:"expected"`
	Side     float64  `json:"side_m"` // metres: 400 in towns, coarser in the country
}
