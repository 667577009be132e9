package zhufang

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user is in the bureau; it decides what they may do.
type Role string

// The roles of the bureau.
const (
	RoleCityCommander    Role = "city_commander"    // 市局指挥长
	RoleCountyCommander  Role = "county_commander"  // 县局指挥长
	RoleDispatcher       Role = "dispatcher"        // 指挥室接警调度员
	RoleStationChief     Role = "station_chief"     // 派出所所长
	RoleCommunityOfficer Role = "community_officer" // 社区民警
	RoleAuxiliary        Role = "auxiliary_officer" // 辅警
	RoleCaseOfficer      Role = "case_officer"      // 办案民警
	RoleMediator         Role = "mediator"          // 调解员
	RoleDronePilot       Role = "drone_pilot"       // 飞手
	RoleAnalyst          Role = "analyst"           // 情报分析员
	RoleAdmin            Role = "admin"             // 系统管理员
)

// Roles lists every role in a stable order.
var Roles = []Role{RoleCityCommander, RoleCountyCommander, RoleDispatcher, RoleStationChief,
	RoleCommunityOfficer, RoleAuxiliary, RoleCaseOfficer, RoleMediator, RoleDronePilot, RoleAnalyst, RoleAdmin}

// Permission is one kind of action a role may take.
type Permission string

// The permissions. Reading is split from writing, and personal data (a
// caller's name and phone) from the rest of an incident.
const (
	PermViewIncidents Permission = "view_incidents" // board, incident pages, map
	PermIntake        Permission = "intake"         // take a 110 report
	PermHandle        Permission = "handle"         // change an incident's state or lane
	PermAssign        Permission = "assign"         // send a unit
	PermCrew          Permission = "crew"           // advance an assignment, set a unit's status
	PermViewUnits     Permission = "view_units"
	PermViewPersonal  Permission = "view_personal" // unmasked caller name and phone
	PermViewOrg       Permission = "view_org"
	PermViewStats     Permission = "view_stats" // compliance
	PermManageUsers   Permission = "manage_users"
	PermViewAudit     Permission = "view_audit"
)

// rolePermissions is the one table of who may do what. Jurisdiction is a
// separate question: a permission is only ever used on the user's own ground.
var rolePermissions = map[Role][]Permission{
	RoleCityCommander:    {PermViewIncidents, PermHandle, PermAssign, PermViewUnits, PermViewPersonal, PermViewOrg, PermViewStats},
	RoleCountyCommander:  {PermViewIncidents, PermHandle, PermAssign, PermViewUnits, PermViewPersonal, PermViewOrg, PermViewStats},
	RoleDispatcher:       {PermViewIncidents, PermIntake, PermHandle, PermAssign, PermCrew, PermViewUnits, PermViewPersonal, PermViewOrg, PermViewStats},
	RoleStationChief:     {PermViewIncidents, PermHandle, PermAssign, PermCrew, PermViewUnits, PermViewPersonal, PermViewOrg, PermViewStats},
	RoleCommunityOfficer: {PermViewIncidents, PermHandle, PermCrew, PermViewUnits, PermViewPersonal, PermViewOrg},
	RoleAuxiliary:        {PermViewIncidents, PermCrew, PermViewUnits, PermViewOrg},
	RoleCaseOfficer:      {PermViewIncidents, PermHandle, PermViewPersonal, PermViewOrg},
	RoleMediator:         {PermViewIncidents, PermViewOrg},
	RoleDronePilot:       {PermViewIncidents, PermCrew, PermViewUnits, PermViewOrg},
	RoleAnalyst:          {PermViewIncidents, PermViewUnits, PermViewOrg, PermViewStats},
	RoleAdmin:            {PermViewOrg, PermManageUsers, PermViewAudit},
}

// Can reports whether the role carries the permission.
func (r Role) Can(p Permission) bool { return slices.Contains(rolePermissions[r], p) }

// ScopeLevel is how much ground a user covers.
type ScopeLevel string

// The levels of ground, from the whole city down to one community.
const (
	ScopeCity      ScopeLevel = "city"
	ScopeCounty    ScopeLevel = "county"
	ScopeStation   ScopeLevel = "station"
	ScopeCommunity ScopeLevel = "community"
)

// roleLevels says at which levels a role can sit: a dispatcher works in the
// city's or a county's command room, a community officer in one community.
var roleLevels = map[Role][]ScopeLevel{
	RoleCityCommander:    {ScopeCity},
	RoleCountyCommander:  {ScopeCounty},
	RoleDispatcher:       {ScopeCity, ScopeCounty},
	RoleStationChief:     {ScopeStation},
	RoleCommunityOfficer: {ScopeCommunity},
	RoleAuxiliary:        {ScopeCommunity},
	RoleCaseOfficer:      {ScopeStation},
	RoleMediator:         {ScopeStation, ScopeCommunity},
	RoleDronePilot:       {ScopeCounty, ScopeCity},
	RoleAnalyst:          {ScopeCity, ScopeCounty},
	RoleAdmin:            {ScopeCity},
}

// Scope is the ground a user covers. The IDs above the level are filled in
// too (a station scope carries its county), so one comparison decides.
type Scope struct {
	Level       ScopeLevel `json:"level"`
	BureauID    int64      `json:"bureau_id,omitempty"`
	StationID   int64      `json:"station_id,omitempty"`
	CommunityID int64      `json:"community_id,omitempty"`
}

// Covers reports whether a record with this jurisdiction lies on the
// scope's ground. A record without a jurisdiction is covered only by the city.
func (s Scope) Covers(bureauID, stationID, communityID int64) bool {
	switch s.Level {
	case ScopeCity:
		return true
	case ScopeCounty:
		return bureauID != 0 && bureauID == s.BureauID
	case ScopeStation:
		return stationID != 0 && stationID == s.StationID
	case ScopeCommunity:
		return communityID != 0 && communityID == s.CommunityID
	}
	return false
}

// ScopeOf names a scope by its level and the ID of its record: the bureau
// of a county, the station, the community; none for the city.
func ScopeOf(level ScopeLevel, id int64) Scope {
	s := Scope{Level: level}
	switch level {
	case ScopeCounty:
		s.BureauID = id
	case ScopeStation:
		s.StationID = id
	case ScopeCommunity:
		s.CommunityID = id
	}
	return s
}

// RecordID is the ID of the record the scope names, as ScopeOf takes it:
// its county bureau, station or community; 0 for the city.
func (s Scope) RecordID() int64 {
	switch s.Level {
	case ScopeCounty:
		return s.BureauID
	case ScopeStation:
		return s.StationID
	case ScopeCommunity:
		return s.CommunityID
	}
	return 0
}

// String names the scope as ScopeOf takes it: "station 12", or "city".
func (s Scope) String() string {
	switch s.Level {
	case ScopeCounty:
		return "county " + formatInt(s.BureauID)
	case ScopeStation:
		return "station " + formatInt(s.StationID)
	case ScopeCommunity:
		return "community " + formatInt(s.CommunityID)
	}
	return string(s.Level)
}

// Validate checks that the scope names the record of its level.
func (s Scope) Validate() error {
	switch s.Level {
	case ScopeCity:
		return nil
	case ScopeCounty:
		if s.BureauID == 0 {
			return Errorf(EINVALID, "a county scope needs its county bureau")
		}
	case ScopeStation:
		if s.StationID == 0 {
			return Errorf(EINVALID, "a station scope needs its station")
		}
	case ScopeCommunity:
		if s.CommunityID == 0 {
			return Errorf(EINVALID, "a community scope needs its community")
		}
	default:
		return Errorf(EINVALID, "scope level %q is not one of city, county, station, community", s.Level)
	}
	return nil
}

// Languages the console speaks; the first is the default.
var Languages = []string{"zh", "en"}

// User is a person who signs in to the console.
type User struct {
	ID          int64     `json:"id"`
	Username    string    `json:"username"`
	Name        string    `json:"name"`
	Role        Role      `json:"role"`
	Scope       Scope     `json:"scope"`
	Lang        string    `json:"lang"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	LastLoginAt time.Time `json:"last_login_at,omitzero"`
}

var usernamePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{2,31}$`)

// Validate checks the user's own fields.
func (u *User) Validate() error {
	if !usernamePattern.MatchString(u.Username) {
		return Errorf(EINVALID, "username must be 3 to 32 lower-case letters, digits, '.', '_' or '-', starting with a letter")
	}
	if strings.TrimSpace(u.Name) == "" || !utf8.ValidString(u.Name) || utf8.RuneCountInString(u.Name) > 50 {
		return Errorf(EINVALID, "name must be given, in at most 50 characters")
	}
	levels, ok := roleLevels[u.Role]
	if !ok {
		return Errorf(EINVALID, "role %q is not known", u.Role)
	}
	if err := u.Scope.Validate(); err != nil {
		return err
	}
	if !slices.Contains(levels, u.Scope.Level) {
		return Errorf(EINVALID, "a %s works at the %s level, not %s", u.Role, levels[0], u.Scope.Level)
	}
	if u.Lang == "" {
		u.Lang = Languages[0]
	}
	return CheckLanguage(u.Lang)
}

// CheckLanguage returns EINVALID for a language the console does not speak.
func CheckLanguage(lang string) error {
	if !slices.Contains(Languages, lang) {
		return Errorf(EINVALID, "language %q is not one of zh, en", lang)
	}
	return nil
}

// CheckActive returns EFORBIDDEN for a disabled account, which may not
// sign in or hold a session.
func (u *User) CheckActive() error {
	if u.Disabled {
		return Errorf(EFORBIDDEN, "this account is disabled")
	}
	return nil
}

// Can reports whether the user may take actions of this kind (on their own
// ground).
func (u *User) Can(p Permission) bool { return u != nil && !u.Disabled && u.Role.Can(p) }

// ValidatePassword sets the floor for a password: long enough that a
// guess a second for a lifetime does not find it.
func ValidatePassword(p string) error {
	if utf8.RuneCountInString(p) < 10 || len(p) > 256 {
		return Errorf(EINVALID, "a password must have at least 10 characters and at most 256 bytes")
	}
	return nil
}

// Session lifetimes: an idle console signs out after IdleTimeout; no
// session outlives MaxSessionAge, however busy.
const (
	IdleTimeout   = 30 * time.Minute
	MaxSessionAge = 12 * time.Hour
)

// Session is a signed-in browser or API client. The token itself is never
// stored; only its hash is.
type Session struct {
	UserID    int64
	CSRF      string
	Address   string
	CreatedAt time.Time
	SeenAt    time.Time
}

// Expired reports whether the session has passed its idle or absolute limit.
func (s *Session) Expired(now time.Time) bool {
	return now.Sub(s.SeenAt) >= IdleTimeout || now.Sub(s.CreatedAt) >= MaxSessionAge
}

// UserService keeps users and their sessions.
type UserService interface {
	// CreateUser stores a new user with the password's hash. ECONFLICT for
	// a username taken, ENOTFOUND for a scope naming no record.
	CreateUser(ctx context.Context, u *User, password string) error
	FindUserByID(ctx context.Context, id int64) (*User, error)
	FindUserByName(ctx context.Context, username string) (*User, error)
	FindUsers(ctx context.Context) ([]*User, error)
	// SetPassword changes a password and ends every session of the user.
	SetPassword(ctx context.Context, username, password string) error
	// SetUserDisabled disables or enables a user; disabling ends every
	// session.
	SetUserDisabled(ctx context.Context, username string, disabled bool) error
	// SetUserRole gives a user another role and ground and ends their
	// sessions; EINVALID for a pair that does not fit or for oneself.
	SetUserRole(ctx context.Context, username string, role Role, scope Scope) error
	SetUserLang(ctx context.Context, id int64, lang string) error
	// Authenticate checks a password with throttling: EUNAUTHORIZED for a
	// wrong name or password (the same message for both), ETOOMANY with
	// the wait for a throttled or locked account, EFORBIDDEN for a disabled one.
	Authenticate(ctx context.Context, username, password string) (*User, error)
	// CreateSession starts a session and returns its secret token.
	CreateSession(ctx context.Context, userID int64, address string) (token string, s *Session, err error)
	// SessionUser returns the user and session of a token and marks it seen;
	// EUNAUTHORIZED for an unknown, expired or revoked token or a disabled user.
	SessionUser(ctx context.Context, token string) (*User, *Session, error)
	DeleteSession(ctx context.Context, token string) error
	// DeleteUserSessions ends every session of a user (sign out everywhere).
	DeleteUserSessions(ctx context.Context, userID int64) error
}

// Actor is who is acting in a request: a signed-in user, a device, or the
// system itself (nil). The store reads it from the context to scope what
// it returns and to write the audit trail.
type Actor struct {
	User       *User
	DeviceUnit int64 // the unit a device token speaks for
	Address    string
}

type actorKey struct{}

// NewContextWithActor returns a context that carries the actor.
func NewContextWithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the request's actor, nil for the system.
func ActorFromContext(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// Name is how the actor appears in transitions and the audit trail.
func (a *Actor) Name() string {
	switch {
	case a == nil:
		return "system"
	case a.User != nil:
		return a.User.Username
	case a.DeviceUnit != 0:
		return "device:" + formatInt(a.DeviceUnit)
	}
	return "anonymous"
}

// Authorize returns EFORBIDDEN unless the context's actor may take this
// kind of action. The system (no actor) may do anything; a device may only
// act as a crew.
func Authorize(ctx context.Context, p Permission) error {
	a := ActorFromContext(ctx)
	switch {
	case a == nil:
		return nil
	case a.User != nil:
		if a.User.Can(p) {
			return nil
		}
		return Errorf(EFORBIDDEN, "your role may not do this")
	case a.DeviceUnit != 0 && p == PermCrew:
		return nil
	}
	return Errorf(EFORBIDDEN, "this credential may not do this")
}

// AuthorizeSelf returns EFORBIDDEN unless the context's actor is the user
// userID or may manage users (or is the system); what names the action for
// the message, as "change your language".
func AuthorizeSelf(ctx context.Context, userID int64, what string) error {
	a := ActorFromContext(ctx)
	if a == nil || a.User != nil && (a.User.ID == userID || a.User.Can(PermManageUsers)) {
		return nil
	}
	return Errorf(EFORBIDDEN, "you may %s only for yourself", what)
}

// AuthorizeSystem returns EFORBIDDEN unless the context carries no actor:
// what only the system's own tools do (importing a city's history), never a
// user or a device.
func AuthorizeSystem(ctx context.Context, what string) error {
	if ActorFromContext(ctx) != nil {
		return Errorf(EFORBIDDEN, "%s is done by the system only", what)
	}
	return nil
}

// Sees reports whether the context's actor may see a record on ground g:
// the system sees everything, a user their scope's ground, a device no
// ground (only its own unit, which its reads check by ID).
func Sees(ctx context.Context, g Ground) bool {
	s := ScopeFromContext(ctx)
	return s != nil && s.Covers(g.BureauID, g.StationID, g.CommunityID)
}

// AuthorizeIncident returns an error unless the context's actor may take
// this kind of action on the incident. An incident the actor may not see
// (SeesIncident) is reported as not existing, before the role is checked,
// so that no one can tell an incident they may not see from one that does
// not exist (nor probe IDs); only an actor who sees the incident learns
// that their role may not do this to it (EFORBIDDEN).
func AuthorizeIncident(ctx context.Context, p Permission, inc *Incident) error {
	if !SeesIncident(ctx, inc) {
		return IncidentNotFound(inc.ID)
	}
	return Authorize(ctx, p)
}

// SeesIncident reports whether the context's actor may see the incident:
// the system always; a user whose role views incidents (an administrator's
// does not), on their ground; a device never (it sees its own unit's
// assignments, see SeesAssignment).
func SeesIncident(ctx context.Context, inc *Incident) bool {
	a := ActorFromContext(ctx)
	if a == nil {
		return true
	}
	return a.User.Can(PermViewIncidents) && Sees(ctx, inc.Ground())
}

// IncidentNotFound is how an incident that does not exist, or is off the
// actor's ground, is reported: the same way.
func IncidentNotFound(id int64) error {
	return Errorf(ENOTFOUND, "incident %d does not exist", id)
}

// ScopeFromContext returns the ground the actor may see: the city for the
// system, nil for an actor without a user (a device sees only its unit).
func ScopeFromContext(ctx context.Context) *Scope {
	a := ActorFromContext(ctx)
	if a == nil {
		return &Scope{Level: ScopeCity}
	}
	if a.User == nil {
		return nil
	}
	return &a.User.Scope
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
