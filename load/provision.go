package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"net/http"
	"sort"

	"zhufang"
	"zhufang/auth"
)

// Store is the servers' database, where a run's dispatcher and devices are
// made and later retired.
type Store interface {
	CreateUser(ctx context.Context, u *zhufang.User, password string) error
	SetUserDisabled(ctx context.Context, username string, disabled bool) error
	CreateDevice(ctx context.Context, unitID int64) (id int64, token string, err error)
	RevokeDevice(ctx context.Context, id int64) error
	FindUnits(ctx context.Context, stationID int64) ([]*zhufang.Unit, error)
}

// Creds are what a load run acts with: a dispatcher's session, unit
// devices, and the ground where incidents happen.
type Creds struct {
	Username string          // the run's dispatcher, load-<8 hex>
	Session  string          // its session token, signed in over HTTP
	Units    []Unit          // units whose devices report positions
	Points   []zhufang.Point // homes of units with a station: incidents happen near them
	// Inside reports whether a point lies in the city's jurisdiction; nil
	// takes every point.
	Inside func(zhufang.Point) bool
}

// Unit is one unit a load run moves, with its device's token.
type Unit struct {
	ID     int64
	Device int64
	Token  string
	Home   zhufang.Point
}

// Provision makes, in the servers' database, a city-wide dispatcher
// with a random password and device tokens for up to units patrol units
// with a station inside the city that loc knows, then signs the dispatcher
// in at the first of urls that answers. Both are audited as the system,
// like `user add` and `device add`. With units 0 (enough to verify) it
// reads no ground, and loc may be nil.
func Provision(ctx context.Context, st Store, loc zhufang.Locator, urls []string, units int) (Creds, error) {
	var creds Creds
	var cands []Unit
	var err error
	if units > 0 {
		if cands, err = ground(ctx, st, loc, &creds); err != nil {
			return creds, err
		}
		cands = cands[:min(units, len(cands))]
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return creds, err
	}
	password, err := auth.NewPassword()
	if err != nil {
		return creds, err
	}
	u := zhufang.User{Username: "load-" + hex.EncodeToString(b[:]), Name: "压力测试 load", Role: zhufang.RoleDispatcher,
		Scope: zhufang.Scope{Level: zhufang.ScopeCity}, Lang: "zh"}
	if err := st.CreateUser(ctx, &u, password); err != nil {
		return creds, err
	}
	creds.Username = u.Username
	for _, c := range cands {
		if c.Device, c.Token, err = st.CreateDevice(ctx, c.ID); err != nil {
			return creds, err
		}
		creds.Units = append(creds.Units, c)
	}
	client := newClient()
	defer client.CloseIdleConnections()
	body := map[string]string{"username": u.Username, "password": password}
	for _, base := range urls {
		var sess struct{ Token string }
		if err = call(ctx, client, http.MethodPost, base+"/api/v1/session", "", body, http.StatusCreated, &sess); err == nil {
			creds.Session = sess.Token
			return creds, nil
		}
	}
	return creds, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot sign in at any --url", err)
}

// ground sets where a run's incidents happen and which points are
// inside the city, and returns the units with a station inside it: police
// patrols first, in random order, so that a run's devices are spread over
// the city; the mass-prevention teams only after them.
func ground(ctx context.Context, st Store, loc zhufang.Locator, creds *Creds) ([]Unit, error) {
	creds.Inside = func(p zhufang.Point) bool { _, ok := loc.Locate(p); return ok }
	all, err := st.FindUnits(ctx, 0)
	if err != nil {
		return nil, err
	}
	var cands []Unit
	patrol := map[int64]bool{}
	for _, u := range all {
		home := u.Home
		if home.IsZero() {
			home = u.Position
		}
		if u.StationID == 0 || home.IsZero() || !creds.Inside(home) {
			continue
		}
		creds.Points = append(creds.Points, home)
		cands = append(cands, Unit{ID: u.ID, Home: home})
		patrol[u.ID] = u.Kind == zhufang.UnitPatrolCar || u.Kind == zhufang.UnitMotorcycle || u.Kind == zhufang.UnitFoot
	}
	if len(cands) == 0 {
		return nil, zhufang.Errorf(zhufang.EINVALID, "the database holds no unit with a station inside the city: is --db the servers' database?")
	}
	mrand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	sort.SliceStable(cands, func(i, j int) bool { return patrol[cands[i].ID] && !patrol[cands[j].ID] })
	return cands, nil
}

// Retire revokes a run's device tokens and disables its dispatcher,
// which ends the session: they were made for the run and nobody else
// holds them.
func Retire(ctx context.Context, st Store, creds Creds) error {
	for _, u := range creds.Units {
		if err := st.RevokeDevice(ctx, u.Device); err != nil {
			return err
		}
	}
	if creds.Username == "" {
		return nil
	}
	return st.SetUserDisabled(ctx, creds.Username, true)
}
