package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"zhufang"
	"zhufang/auth"
)

// usersPage is the administrator's list of users with the forms that
// change them.
type usersPage struct {
	Users    []*zhufang.User
	Roles    []zhufang.Role
	Levels   []zhufang.ScopeLevel
	Langs    []string
	Orgs     []orgChoice
	OrgNames map[string]string // "station 12" → its name, for the list
	Done     string            // a message key: what the last change did
	Shown    *oneTimePassword  // a password made just now, shown once
	Self     string            // the administrator's own username
}

// groundForm is what the role-and-ground fields show: the choices and
// the user's current ones (none for a new user).
type groundForm struct {
	Role   zhufang.Role
	Scope  zhufang.Scope
	Roles  []zhufang.Role
	Levels []zhufang.ScopeLevel
}

// Ground fills the role-and-ground fields for u, or empty for a new user.
func (d *usersPage) Ground(u *zhufang.User) groundForm {
	g := groundForm{Roles: d.Roles, Levels: d.Levels}
	if u != nil {
		g.Role, g.Scope = u.Role, u.Scope
	}
	return g
}

// orgChoice is one record a scope can name, as the org picker offers it.
type orgChoice struct {
	ID    int64
	Level zhufang.ScopeLevel
	Name  string
}

// oneTimePassword is a password the console made for a user, shown to
// the administrator this once and stored only as a hash.
type oneTimePassword struct {
	Username, Password string
}

// usersDone are the messages a change may leave on the list, keyed by
// what the query says; anything else shows none.
var usersDone = map[string]string{"disabled": "users.done.disabled", "enabled": "users.done.enabled", "role": "users.done.role"}

// usersList shows every user to an administrator.
func (s *Server) usersList(w http.ResponseWriter, r *http.Request) error {
	return s.renderUsers(w, r, usersDone[r.URL.Query().Get("done")], nil)
}

// renderUsers draws the users page with a message and, after an add or
// reset, the new password.
func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, done string, shown *oneTimePassword) error {
	ctx := r.Context()
	if err := zhufang.Authorize(ctx, zhufang.PermManageUsers); err != nil {
		return err
	}
	users, err := s.Users.FindUsers(ctx)
	if err != nil {
		return err
	}
	c, err := s.city(ctx)
	if err != nil {
		return err
	}
	d := &usersPage{Users: users, Roles: zhufang.Roles, Langs: zhufang.Languages, Done: done, Shown: shown,
		Levels: []zhufang.ScopeLevel{zhufang.ScopeCity, zhufang.ScopeCounty, zhufang.ScopeStation, zhufang.ScopeCommunity},
		Orgs:   orgChoices(c), OrgNames: map[string]string{}, Self: zhufang.ActorFromContext(ctx).Name()}
	for _, o := range d.Orgs {
		d.OrgNames[zhufang.ScopeOf(o.Level, o.ID).String()] = o.Name
	}
	return s.renderPage(w, r, "users", s.newPage(r, "users.title", "users", d))
}

// orgChoices lists every record a user's ground may name, with its ID:
// county bureaus, stations, then communities, each by code.
func orgChoices(c *cityRef) []orgChoice {
	var out []orgChoice
	for _, b := range c.counties {
		out = append(out, orgChoice{ID: b.ID, Level: zhufang.ScopeCounty, Name: b.Name})
	}
	for _, st := range c.stationList {
		out = append(out, orgChoice{ID: st.ID, Level: zhufang.ScopeStation, Name: st.Name})
	}
	cs := make([]*zhufang.Community, 0, len(c.communities))
	for _, cm := range c.communities {
		cs = append(cs, cm)
	}
	slices.SortFunc(cs, func(a, b *zhufang.Community) int { return strings.Compare(a.Code, b.Code) })
	for _, cm := range cs {
		name := cm.Name
		if st := c.stations[cm.StationID]; st != nil {
			name = st.Name + " · " + cm.Name
		}
		out = append(out, orgChoice{ID: cm.ID, Level: zhufang.ScopeCommunity, Name: name})
	}
	return out
}

// formScope reads a ground from the form: its level and, below the city,
// the ID of the record it names.
func formScope(r *http.Request) (zhufang.Scope, error) {
	level := zhufang.ScopeLevel(r.PostForm.Get("scope"))
	if level == zhufang.ScopeCity {
		return zhufang.ScopeOf(level, 0), nil
	}
	org, err := strconv.ParseInt(strings.TrimSpace(r.PostForm.Get("org")), 10, 64)
	if err != nil || org <= 0 {
		return zhufang.Scope{}, zhufang.Errorf(zhufang.EINVALID, "org must be the ID of the county bureau, station or community")
	}
	return zhufang.ScopeOf(level, org), nil
}

// addUser creates a user from the form with a new password, shown once.
func (s *Server) addUser(w http.ResponseWriter, r *http.Request) error {
	u := &zhufang.User{Role: zhufang.Role(r.PostForm.Get("role")), Lang: r.PostForm.Get("lang")}
	var err error
	if u.Username, err = formText(r, "username", 32); err != nil {
		return err
	}
	if u.Name, err = formText(r, "name", 50); err != nil {
		return err
	}
	if u.Scope, err = formScope(r); err != nil {
		return err
	}
	password, err := auth.NewPassword()
	if err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, "cannot make a password", err)
	}
	if err := s.Users.CreateUser(r.Context(), u, password); err != nil {
		return err
	}
	return s.renderUsers(w, r, "users.done.added", &oneTimePassword{Username: u.Username, Password: password})
}

// targetUser is the user the path names; an administrator may not
// disable or demote themselves here.
func targetUser(r *http.Request) (string, error) {
	name := r.PathValue("username")
	if name == zhufang.ActorFromContext(r.Context()).Name() {
		return "", zhufang.Errorf(zhufang.EINVALID, "you cannot change your own account here")
	}
	return name, nil
}

// setUserActive disables or enables a user.
func (s *Server) setUserActive(w http.ResponseWriter, r *http.Request) error {
	name, err := targetUser(r)
	if err != nil {
		return err
	}
	disable := r.PostForm.Get("active") == "0"
	if err := s.Users.SetUserDisabled(r.Context(), name, disable); err != nil {
		return err
	}
	done := "enabled"
	if disable {
		done = "disabled"
	}
	http.Redirect(w, r, "/users?done="+done, http.StatusSeeOther)
	return nil
}

// resetPassword gives a user a new password, shown once; their sessions end.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	name, err := targetUser(r)
	if err != nil {
		return err
	}
	password, err := auth.NewPassword()
	if err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, "cannot make a password", err)
	}
	if err := s.Users.SetPassword(r.Context(), name, password); err != nil {
		return err
	}
	return s.renderUsers(w, r, "users.done.password", &oneTimePassword{Username: name, Password: password})
}

// setUserRole gives a user another role and ground.
func (s *Server) setUserRole(w http.ResponseWriter, r *http.Request) error {
	name, err := targetUser(r)
	if err != nil {
		return err
	}
	scope, err := formScope(r)
	if err != nil {
		return err
	}
	if err := s.Users.SetUserRole(r.Context(), name, zhufang.Role(r.PostForm.Get("role")), scope); err != nil {
		return err
	}
	http.Redirect(w, r, "/users?done=role", http.StatusSeeOther)
	return nil
}
