package zhufang

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// IncidentSource is how an incident reached the police.
type IncidentSource string

// Incident sources.
const (
	SourceCall110     IncidentSource = "call_110"     // 110 报警电话
	SourceWalkIn      IncidentSource = "walk_in"      // 来所报警
	SourcePatrol      IncidentSource = "patrol"       // 巡逻发现
	SourceVideoPatrol IncidentSource = "video_patrol" // 视频巡查
	SourceDrone       IncidentSource = "drone"        // 无人机发现
	SourceVolunteer   IncidentSource = "volunteer"    // 群防力量报告
	SourceAlarm       IncidentSource = "alarm"        // 报警装置
)

var incidentSources = map[IncidentSource]bool{SourceCall110: true, SourceWalkIn: true, SourcePatrol: true,
	SourceVideoPatrol: true, SourceDrone: true, SourceVolunteer: true, SourceAlarm: true}

// IncidentState is where an incident stands in 接警 → 派警 → 签收 → 到场 →
// 处置 → 反馈 → 结警, or the branch that ended it.
type IncidentState string

// Incident states.
const (
	StateReceived     IncidentState = "received"     // 接警
	StateDispatched   IncidentState = "dispatched"   // 派警
	StateAcknowledged IncidentState = "acknowledged" // 签收
	StateOnScene      IncidentState = "on_scene"     // 到场
	StateHandling     IncidentState = "handling"     // 处置
	StateFeedback     IncidentState = "feedback"     // 反馈
	StateClosed       IncidentState = "closed"       // 结警
	StateCancelled    IncidentState = "cancelled"    // 撤警
	StateDuplicate    IncidentState = "duplicate"    // 重复报警
	StateRedirected   IncidentState = "redirected"   // 转交 (12345, other departments, mediation)
)

// incidentTransitions lists the legal moves. On scene is optional: a case
// team may take a case up at the station without going to a scene.
var incidentTransitions = map[IncidentState][]IncidentState{
	StateReceived:     {StateDispatched, StateCancelled, StateDuplicate, StateRedirected},
	StateDispatched:   {StateAcknowledged, StateCancelled, StateDuplicate, StateRedirected},
	StateAcknowledged: {StateOnScene, StateHandling, StateCancelled, StateRedirected},
	StateOnScene:      {StateHandling},
	StateHandling:     {StateFeedback},
	StateFeedback:     {StateClosed},
}

// IncidentStates lists every state in the order of the flow.
var IncidentStates = []IncidentState{StateReceived, StateDispatched, StateAcknowledged, StateOnScene, StateHandling,
	StateFeedback, StateClosed, StateCancelled, StateDuplicate, StateRedirected}

// CanTransition reports whether an incident may move from one state to
// another.
func CanTransition(from, to IncidentState) bool {
	for _, s := range incidentTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// CheckTransition returns ECONFLICT naming the legal next states when the
// move is not allowed, EINVALID for a state that does not exist.
func CheckTransition(from, to IncidentState) error {
	if !knownState(to) {
		return Errorf(EINVALID, "unknown incident state %q", to)
	}
	if CanTransition(from, to) {
		return nil
	}
	next := incidentTransitions[from]
	if len(next) == 0 {
		return Errorf(ECONFLICT, "incident is %s and can no longer change", from)
	}
	names := make([]string, len(next))
	for i, s := range next {
		names[i] = string(s)
	}
	return Errorf(ECONFLICT, "incident cannot go from %s to %s; from %s it can go to %s", from, to, from, strings.Join(names, ", "))
}

// TerminalStates are the states that end an incident: the flow's end and
// its three branches.
var TerminalStates = []IncidentState{StateClosed, StateCancelled, StateDuplicate, StateRedirected}

// Terminal reports whether the state ends the incident.
func (s IncidentState) Terminal() bool { return slices.Contains(TerminalStates, s) }

func knownState(s IncidentState) bool {
	for _, k := range IncidentStates {
		if k == s {
			return true
		}
	}
	return false
}

// IncidentFlags mark what makes a scene dangerous.
type IncidentFlags struct {
	Weapon  bool `json:"weapon"`  // 涉枪涉刀
	Injured bool `json:"injured"` // 有人受伤
	Trapped bool `json:"trapped"` // 有人被困
	Minors  bool `json:"minors"`  // 涉及未成年人
}

// Incident is one 110 call or other report (警情).
type Incident struct {
	ID          int64          `json:"id"`
	Number      string         `json:"number"` // 接警单编号
	Source      IncidentSource `json:"source"`
	ReceivedAt  time.Time      `json:"received_at"`
	CallerName  string         `json:"caller_name,omitempty"`
	CallerPhone string         `json:"caller_phone,omitempty"`
	Address     string         `json:"address"`
	Position    Point          `json:"position"`
	Category    string         `json:"category"`
	PlaceType   string         `json:"place_type,omitempty"`
	Description string         `json:"description"`
	Flags       IncidentFlags  `json:"flags"`

	CommunityID int64    `json:"community_id,omitempty"`
	StationID   int64    `json:"station_id,omitempty"`
	BureauID    int64    `json:"bureau_id,omitempty"`
	Zone        ZoneKind `json:"zone"`

	Triage TriageResult  `json:"triage"`
	State  IncidentState `json:"state"`
	Due    Deadlines     `json:"due"`

	DuplicateOf  int64  `json:"duplicate_of,omitempty"`
	CaseNumber   string `json:"case_number,omitempty"`
	DisputeID    int64  `json:"dispute_id,omitempty"`
	RedirectedTo string `json:"redirected_to,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Transition is one timestamped change of an incident's state and who made
// it.
type Transition struct {
	IncidentID int64         `json:"incident_id"`
	From       IncidentState `json:"from"`
	To         IncidentState `json:"to"`
	At         time.Time     `json:"at"`
	Actor      string        `json:"actor"`
	Note       string        `json:"note,omitempty"`
}

// Ground is where the incident lies.
func (inc *Incident) Ground() Ground {
	return Ground{BureauID: inc.BureauID, StationID: inc.StationID, CommunityID: inc.CommunityID}
}

func (inc *Incident) idOrZero() int64 {
	if inc == nil {
		return 0
	}
	return inc.ID
}

// Masked returns a copy of the incident with the caller's name and phone
// masked, for whoever may not see personal data (and for events, which
// anyone on the incident's ground receives).
func (inc *Incident) Masked() *Incident {
	c := *inc
	c.CallerPhone = MaskPhone(c.CallerPhone)
	c.CallerName = MaskName(c.CallerName)
	return &c
}

// IncidentNumber is the number (接警单编号) of the incident with this ID
// received at t: J, the day of receipt in China, and the ID.
func IncidentNumber(receivedAt time.Time, id int64) string {
	return fmt.Sprintf("J%s%08d", receivedAt.In(ChinaTime).Format("20060102"), id)
}

// CheckPrepared returns EINVALID for an incident that intake has not
// prepared (see Intake.Receive), which nothing may store.
func (inc *Incident) CheckPrepared() error {
	if inc.State != StateReceived || inc.Triage.Lane == "" || inc.Due.Acknowledge.IsZero() {
		return Errorf(EINVALID, "incident was not prepared by intake")
	}
	return nil
}

// Apply makes the change r asks for at the given time: it checks the
// request and the move, sets what the change links (the incident it
// duplicates, who it was redirected to, its case number) and the state,
// and returns the transition to record. The caller checks that an
// incident it duplicates exists and may be seen.
func (inc *Incident) Apply(r TransitionRequest, at time.Time) (Transition, error) {
	if err := r.Validate(); err != nil {
		return Transition{}, err
	}
	if err := CheckTransition(inc.State, r.To); err != nil {
		return Transition{}, err
	}
	if r.To == StateDuplicate {
		if r.DuplicateOf == inc.ID {
			return Transition{}, Errorf(EINVALID, "an incident cannot duplicate itself")
		}
		inc.DuplicateOf = r.DuplicateOf
	}
	if r.To == StateRedirected {
		inc.RedirectedTo = r.RedirectedTo
	}
	if r.CaseNumber != "" {
		inc.CaseNumber = r.CaseNumber
	}
	t := Transition{IncidentID: inc.ID, From: inc.State, To: r.To, At: at, Actor: r.Actor, Note: r.Note}
	inc.State, inc.UpdatedAt = r.To, at
	return t, nil
}

// OverrideLane records a dispatcher's change of the incident's lane at the
// given time; an incident that has ended keeps its lane.
func (inc *Incident) OverrideLane(lane Lane, by, reason, assignTo string, at time.Time) error {
	if inc.State.Terminal() {
		return Errorf(ECONFLICT, "incident %d is %s; its lane can no longer change", inc.ID, inc.State)
	}
	tr, err := inc.Triage.Override(lane, by, reason, assignTo)
	if err != nil {
		return err
	}
	inc.Triage, inc.UpdatedAt = tr, at
	return nil
}

// MaxTextRunes bounds free text an outside party may send.
const MaxTextRunes = 4000

// Validate checks an incident as received, before the store resolves its
// jurisdiction and triage.
func (inc *Incident) Validate(now time.Time) error {
	if !incidentSources[inc.Source] {
		return Errorf(EINVALID, "incident source %q must be one of call_110, walk_in, patrol, video_patrol, drone, volunteer, alarm", inc.Source)
	}
	if inc.ReceivedAt.IsZero() {
		return Errorf(EINVALID, "an incident needs the time it was received")
	}
	if inc.ReceivedAt.After(now.Add(2 * time.Minute)) {
		return Errorf(EINVALID, "received time %s is in the future", inc.ReceivedAt.Format(time.RFC3339))
	}
	if inc.ReceivedAt.Before(now.Add(-30 * 24 * time.Hour)) {
		return Errorf(EINVALID, "received time %s is more than 30 days ago; old incidents are imported, not taken in", inc.ReceivedAt.Format(time.RFC3339))
	}
	if err := inc.Position.Validate(); err != nil {
		return err
	}
	if inc.CallerPhone != "" && !ValidPhone(inc.CallerPhone) {
		return Errorf(EINVALID, "caller phone must be 3 to 20 digits, optionally with a leading +")
	}
	for name, v := range map[string]string{"address": inc.Address, "description": inc.Description, "caller name": inc.CallerName, "place type": inc.PlaceType} {
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxTextRunes {
			return Errorf(EINVALID, "%s must be valid text of at most %d characters", name, MaxTextRunes)
		}
	}
	if strings.TrimSpace(inc.Address) == "" && inc.Position.IsZero() {
		return Errorf(EINVALID, "an incident needs an address or a position")
	}
	return nil
}

// ValidPhone reports whether s is a caller's phone number as intake takes
// it: 3 to 20 digits, optionally after a +; a form checks it too, to say
// which field is wrong.
func ValidPhone(s string) bool {
	s = strings.TrimPrefix(s, "+")
	return len(s) >= 3 && len(s) <= 20 && allDigits(s)
}

// MaskName shows a name as its first character and a fixed "**" (张三丰 →
// 张**), so neither the given name nor the name's length shows. A name of
// one character would be shown whole that way, so it becomes "***": all
// that shows of any name is its first character, and only when more
// follows. For a Chinese name the first character is the family name's.
func MaskName(n string) string {
	r := []rune(strings.TrimSpace(n))
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "***"
	}
	return string(r[0]) + "**"
}

// MaskPhone shows at most a phone number's last four digits, in a fixed
// shape: ****5678 for a number of at least 11 digits (a mobile number, or
// a landline with its area code), **** for anything shorter, where four
// digits would be too much of it. Neither the other digits nor the length
// show, so a short number cannot be read back from its mask.
func MaskPhone(s string) string {
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
		}
	}
	switch {
	case s == "":
		return ""
	case len(digits) >= 11:
		return "****" + string(digits[len(digits)-4:])
	}
	return "****"
}

// IncidentFilter selects incidents. Zero fields do not filter.
type IncidentFilter struct {
	State     IncidentState
	Lane      Lane
	StationID int64
	Open      bool // only incidents not yet ended
	Limit     int
	Offset    int
}

// TransitionRequest asks for a state change with what it links.
type TransitionRequest struct {
	To           IncidentState `json:"to"`
	Actor        string        `json:"actor"`
	Note         string        `json:"note,omitempty"`
	DuplicateOf  int64         `json:"duplicate_of,omitempty"`  // with to=duplicate
	RedirectedTo string        `json:"redirected_to,omitempty"` // with to=redirected
	CaseNumber   string        `json:"case_number,omitempty"`   // converts the incident to a case
}

// Validate checks the request's own fields.
func (r *TransitionRequest) Validate() error {
	if !knownState(r.To) {
		return Errorf(EINVALID, "unknown incident state %q", r.To)
	}
	if err := ValidateActor(r.Actor); err != nil {
		return err
	}
	if !utf8.ValidString(r.Note) || utf8.RuneCountInString(r.Note) > MaxTextRunes {
		return Errorf(EINVALID, "note must be valid text of at most %d characters", MaxTextRunes)
	}
	if (r.To == StateDuplicate) != (r.DuplicateOf != 0) {
		return Errorf(EINVALID, "duplicate_of is required when marking a duplicate, and only then")
	}
	if r.To == StateRedirected && strings.TrimSpace(r.RedirectedTo) == "" {
		return Errorf(EINVALID, "redirected_to must say who takes the incident (12345, a department, mediation)")
	}
	if len(r.CaseNumber) > 64 || len(r.RedirectedTo) > 200 {
		return Errorf(EINVALID, "case number or redirect target too long")
	}
	return nil
}

// MaxActorRunes bounds the name of who acts, as transitions, assignments
// and the audit trail record it.
const MaxActorRunes = 100

// ValidateActor checks the name of who acts: not blank, valid text, at most
// MaxActorRunes characters.
func ValidateActor(a string) error { return checkActor("actor", a) }

// checkActor is ValidateActor for a field of another name.
func checkActor(field, a string) error {
	if strings.TrimSpace(a) == "" || !utf8.ValidString(a) || utf8.RuneCountInString(a) > MaxActorRunes {
		return Errorf(EINVALID, "%s must name who acts, in at most %d characters", field, MaxActorRunes)
	}
	return nil
}

// IncidentCreator stores new incidents. Only Intake.Receive calls it:
// everything else takes reports in through intake.
type IncidentCreator interface {
	// CreateIncident stores an incident that intake prepared, in state
	// received, records the intake transition and sets ID, Number and the
	// timestamps.
	CreateIncident(ctx context.Context, inc *Incident, actor string) error
}

// IncidentService keeps incidents and their history.
type IncidentService interface {
	IncidentCreator
	// FindIncidentByID returns ENOTFOUND for an unknown ID.
	FindIncidentByID(ctx context.Context, id int64) (*Incident, error)
	FindIncidents(ctx context.Context, f IncidentFilter) ([]*Incident, error)
	FindTransitions(ctx context.Context, id int64) ([]Transition, error)
	// FindTransitionsOf returns the histories of many incidents at once,
	// leaving out those not on the actor's ground.
	FindTransitionsOf(ctx context.Context, ids []int64) (map[int64][]Transition, error)
	// TransitionIncident moves an incident to another state: ECONFLICT for
	// an illegal move (including one another dispatcher made first),
	// ENOTFOUND for an unknown incident.
	TransitionIncident(ctx context.Context, id int64, r TransitionRequest) (*Incident, error)
	// OverrideLane records a dispatcher's change of lane.
	OverrideLane(ctx context.Context, id int64, lane Lane, by, reason, assignTo string) (*Incident, error)
}

// Intake takes reports in (接警): whatever their source (a 110 call, a
// walk-in report, a patrol, a drone, an alarm), each goes through the
// same steps: its category checked, its jurisdiction and zone resolved
// from its position, its lane from the triage rules, its 1-3-5 due times
// from the zone, and then it is stored.
type Intake struct {
	Categories *Categories
	Locator    Locator
	Triage     *Triage
	Zones      ZoneProfiles
	Clock      Clock
	Store      IncidentCreator
}

// Receive takes a report in for actor: it fills in what intake decides and
// stores the incident, setting its ID and number. A report without a
// receipt time was received now.
func (in *Intake) Receive(ctx context.Context, inc *Incident, actor string) error {
	if in.Store == nil {
		return Errorf(EINTERNAL, "intake has no store")
	}
	if inc.ReceivedAt.IsZero() {
		inc.ReceivedAt = in.Clock.Now().UTC().Truncate(time.Microsecond)
	}
	if err := in.prepare(inc); err != nil {
		return err
	}
	return in.Store.CreateIncident(ctx, inc, actor)
}

// prepare validates inc and fills in what intake decides. A position
// outside the city is refused: the city has no unit to send there.
func (in *Intake) prepare(inc *Incident) error {
	now := in.Clock.Now()
	if err := inc.Validate(now); err != nil {
		return err
	}
	if _, err := in.Categories.Lookup(inc.Category); err != nil {
		return err
	}
	if inc.Position.IsZero() {
		return Errorf(EINVALID, "an incident needs a position [lon, lat] to be dispatched")
	}
	j, ok := in.Locator.Locate(inc.Position)
	if !ok {
		return Errorf(EINVALID, "position (%g, %g) lies outside the city's jurisdiction", inc.Position.Lon, inc.Position.Lat)
	}
	inc.CommunityID, inc.StationID, inc.BureauID, inc.Zone = j.Community.ID, j.Station.ID, j.County.ID, j.Zone
	if inc.Zone == "" {
		inc.Zone = ZoneRural
	}
	inc.Triage = in.Triage.Classify(TriageInput{Category: inc.Category, Description: inc.Description,
		PlaceType: inc.PlaceType, ReceivedAt: inc.ReceivedAt, Flags: inc.Flags})
	inc.Due = DueTimes(inc.ReceivedAt, in.Zones[inc.Zone])
	inc.State = StateReceived
	return nil
}
