package zhufang

import (
	"context"
	"slices"
	"time"
	"unicode/utf8"
)

// BureauLevel says whether a bureau is the city bureau (市局) or a county or
// district bureau (分局/县局).
type BureauLevel string

// Bureau levels.
const (
	BureauCity   BureauLevel = "city"
	BureauCounty BureauLevel = "county"
)

// Bureau is a public-security bureau: the city bureau or one of its county
// or district bureaus. Code is the GB/T 2260 code of the division it polices.
type Bureau struct {
	ID        int64        `json:"id"`
	Code      string       `json:"code"`
	Name      string       `json:"name"`
	Level     BureauLevel  `json:"level"`
	ParentID  int64        `json:"parent_id,omitempty"` // 0 for the city bureau
	Seat      Point        `json:"seat"`
	Area      MultiPolygon `json:"area,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
}

// Validate checks the bureau's own fields (not its references).
func (b *Bureau) Validate() error {
	switch b.Level {
	case BureauCity:
		if err := ValidateDivisionCode(b.Code); err != nil {
			return err
		}
		if b.Code[4:] != "00" {
			return Errorf(EINVALID, "city bureau code %q must be a prefecture code ending in 00", b.Code)
		}
		if b.ParentID != 0 {
			return Errorf(EINVALID, "a city bureau has no parent bureau")
		}
	case BureauCounty:
		if err := ValidateCountyCode(b.Code); err != nil {
			return err
		}
		if b.ParentID == 0 {
			return Errorf(EINVALID, "county bureau %s needs a parent city bureau", b.Code)
		}
	default:
		return Errorf(EINVALID, "bureau level %q must be city or county", b.Level)
	}
	return validateNamed(b.Name, b.Seat, b.Area)
}

// StationKind says whether a station polices a town (urban, seated at a
// street office) or the countryside (rural, seated at a town or township).
type StationKind string

// Station kinds.
const (
	StationUrban StationKind = "urban"
	StationRural StationKind = "rural"
)

// Station is a police station (派出所). Code is the nine-digit code of the
// township that seats it; Townships lists every township it covers.
type Station struct {
	ID        int64        `json:"id"`
	Code      string       `json:"code"`
	Name      string       `json:"name"`
	Kind      StationKind  `json:"kind"`
	BureauID  int64        `json:"bureau_id"`
	Townships []string     `json:"townships"`
	Seat      Point        `json:"seat"`
	Area      MultiPolygon `json:"area,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
}

// Validate checks the station's own fields.
func (s *Station) Validate() error {
	if err := ValidateTownshipCode(s.Code, ""); err != nil {
		return err
	}
	if s.Kind != StationUrban && s.Kind != StationRural {
		return Errorf(EINVALID, "station kind %q must be urban or rural", s.Kind)
	}
	if s.BureauID == 0 {
		return Errorf(EINVALID, "station %s needs a bureau", s.Code)
	}
	for _, t := range s.Townships {
		if err := ValidateTownshipCode(t, ""); err != nil {
			return err
		}
	}
	return validateNamed(s.Name, s.Seat, s.Area)
}

// SubUnitKind names the parts of a station's 两队一室 structure.
type SubUnitKind string

// The 两队一室: community-policing team, case team and command room.
const (
	SubUnitCommunityTeam SubUnitKind = "community_team" // 社区警务队
	SubUnitCaseTeam      SubUnitKind = "case_team"      // 案件办理队
	SubUnitCommandRoom   SubUnitKind = "command_room"   // 综合指挥室
)

// SubUnit is one team or room of a station.
type SubUnit struct {
	ID        int64       `json:"id"`
	StationID int64       `json:"station_id"`
	Kind      SubUnitKind `json:"kind"`
	Name      string      `json:"name"`
}

// Validate checks the sub-unit's own fields.
func (u *SubUnit) Validate() error {
	switch u.Kind {
	case SubUnitCommunityTeam, SubUnitCaseTeam, SubUnitCommandRoom:
	default:
		return Errorf(EINVALID, "sub-unit kind %q must be community_team, case_team or command_room", u.Kind)
	}
	if u.StationID == 0 {
		return Errorf(EINVALID, "sub-unit %q needs a station", u.Name)
	}
	return validateName(u.Name)
}

// OfficeKind says whether a police office is an urban community office
// (社区警务室) or a rural one (农村警务室).
type OfficeKind string

// Office kinds.
const (
	OfficeUrban OfficeKind = "urban"
	OfficeRural OfficeKind = "rural"
)

// PoliceOffice is a community or rural police office of a station; it serves
// one or more communities (Community.OfficeID points at it).
type PoliceOffice struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Kind      OfficeKind `json:"kind"`
	StationID int64      `json:"station_id"`
	Seat      Point      `json:"seat"`
}

// Validate checks the office's own fields.
func (o *PoliceOffice) Validate() error {
	if o.Kind != OfficeUrban && o.Kind != OfficeRural {
		return Errorf(EINVALID, "police office kind %q must be urban or rural", o.Kind)
	}
	if o.StationID == 0 {
		return Errorf(EINVALID, "police office %q needs a station", o.Name)
	}
	return validateNamed(o.Name, o.Seat, nil)
}

// CommunityKind says whether a community is an urban community (社区) or an
// administrative village (行政村).
type CommunityKind string

// Community kinds.
const (
	CommunityUrban   CommunityKind = "urban"
	CommunityVillage CommunityKind = "village"
)

// Community is an urban community or a village: the smallest area of the
// organisation, and the ground a community officer or village auxiliary
// answers for. Code is the twelve-digit statistical code; CountyCode the
// six-digit code of its county-level division.
type Community struct {
	ID         int64         `json:"id"`
	Code       string        `json:"code"`
	Name       string        `json:"name"`
	Kind       CommunityKind `json:"kind"`
	CountyCode string        `json:"county_code"`
	StationID  int64         `json:"station_id"`
	OfficeID   int64         `json:"office_id"`
	Population int           `json:"population"`
	Households int           `json:"households"`
	Zone       ZoneKind      `json:"zone"`
	Seat       Point         `json:"seat"`
	Area       MultiPolygon  `json:"area,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
}

// CheckOffice returns EINVALID unless the community's police office, which
// belongs to the station officeStation, is of the community's own station.
func (c *Community) CheckOffice(officeStation int64) error {
	if officeStation != c.StationID {
		return Errorf(EINVALID, "police office %d belongs to another station than %d", c.OfficeID, c.StationID)
	}
	return nil
}

// Validate checks the community's own fields.
func (c *Community) Validate() error {
	if err := ValidateCountyCode(c.CountyCode); err != nil {
		return err
	}
	if err := ValidateCommunityCode(c.Code, c.CountyCode); err != nil {
		return err
	}
	if c.Kind != CommunityUrban && c.Kind != CommunityVillage {
		return Errorf(EINVALID, "community kind %q must be urban or village", c.Kind)
	}
	if c.StationID == 0 || c.OfficeID == 0 {
		return Errorf(EINVALID, "community %s needs a station and a police office", c.Code)
	}
	if !slices.Contains(ZoneKinds, c.Zone) {
		return Errorf(EINVALID, "community %s: zone %q must be urban_core, urban, suburban or rural", c.Code, c.Zone)
	}
	if c.Population < 0 || c.Households < 0 {
		return Errorf(EINVALID, "community %s has a negative population or household count", c.Code)
	}
	return validateNamed(c.Name, c.Seat, c.Area)
}

// Grid is a management grid (网格) inside a community, of a few hundred
// households.
type Grid struct {
	ID          int64        `json:"id"`
	Code        string       `json:"code"`
	Name        string       `json:"name"`
	CommunityID int64        `json:"community_id"`
	Households  int          `json:"households"`
	Seat        Point        `json:"seat"`
	Area        MultiPolygon `json:"area,omitempty"`
}

// Validate checks the grid's own fields.
func (g *Grid) Validate() error {
	if len(g.Code) != 15 || !allDigits(g.Code) {
		return Errorf(EINVALID, "grid code %q must be 15 digits (community code and a 3-digit number)", g.Code)
	}
	if g.CommunityID == 0 {
		return Errorf(EINVALID, "grid %s needs a community", g.Code)
	}
	return validateNamed(g.Name, g.Seat, g.Area)
}

// OfficerRank separates sworn police (民警) from auxiliary police (辅警).
type OfficerRank string

// Officer ranks.
const (
	RankPolice    OfficerRank = "police"
	RankAuxiliary OfficerRank = "auxiliary"
)

// OfficerPost is what an officer does.
type OfficerPost string

// Officer posts. The two that the model is built around are the community
// officer (one full-time 社区民警 per urban community office) and the village
// auxiliary (一村一辅警).
const (
	PostStationChief     OfficerPost = "station_chief"     // 所长
	PostInstructor       OfficerPost = "instructor"        // 教导员
	PostTeamLeader       OfficerPost = "team_leader"       // 队长/主任
	PostCommunityOfficer OfficerPost = "community_officer" // 社区民警
	PostVillageAuxiliary OfficerPost = "village_auxiliary" // 驻村辅警
	PostCaseOfficer      OfficerPost = "case_officer"      // 办案民警
	PostCommandDuty      OfficerPost = "command_duty"      // 指挥室值班
	PostPatrol           OfficerPost = "patrol"            // 巡逻
)

var officerPosts = map[OfficerPost]bool{
	PostStationChief: true, PostInstructor: true, PostTeamLeader: true, PostCommunityOfficer: true,
	PostVillageAuxiliary: true, PostCaseOfficer: true, PostCommandDuty: true, PostPatrol: true,
}

// Officer is a sworn or auxiliary officer. An officer serves a station and
// usually one of its sub-units or offices. SecondedFrom names the HQ
// department an officer was moved down from (机关警力下沉), if any.
type Officer struct {
	ID           int64       `json:"id"`
	BadgeNo      string      `json:"badge_no"`
	Name         string      `json:"name"`
	Rank         OfficerRank `json:"rank"`
	Post         OfficerPost `json:"post"`
	StationID    int64       `json:"station_id"`
	SubUnitID    int64       `json:"sub_unit_id,omitempty"`
	OfficeID     int64       `json:"office_id,omitempty"`
	SecondedFrom string      `json:"seconded_from,omitempty"`
	Phone        string      `json:"phone,omitempty"`
}

// Validate checks the officer's own fields.
func (o *Officer) Validate() error {
	if o.Rank != RankPolice && o.Rank != RankAuxiliary {
		return Errorf(EINVALID, "officer rank %q must be police or auxiliary", o.Rank)
	}
	if !officerPosts[o.Post] {
		return Errorf(EINVALID, "officer post %q is not known", o.Post)
	}
	if o.Post == PostCommunityOfficer && o.Rank != RankPolice {
		return Errorf(EINVALID, "a community officer must be sworn police")
	}
	if (o.Post == PostCommunityOfficer || o.Post == PostVillageAuxiliary) && o.OfficeID == 0 {
		return Errorf(EINVALID, "a %s must serve a police office", o.Post)
	}
	if o.BadgeNo == "" || o.StationID == 0 {
		return Errorf(EINVALID, "officer %q needs a badge number and a station", o.Name)
	}
	return validateName(o.Name)
}

// SecurityCompany is a licensed security company whose guards join
// police–security linkage (警保联动).
type SecurityCompany struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	BureauID int64  `json:"bureau_id"`
	Seat     Point  `json:"seat"`
}

// Team is a community police team (群防群治队伍): a standing team of
// mass-prevention members organised around a community.
type Team struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	StationID   int64  `json:"station_id"`
	CommunityID int64  `json:"community_id"`
	Seat        Point  `json:"seat"`
}

// MemberKind is the kind of a mass-prevention member.
type MemberKind string

// Mass-prevention member kinds.
const (
	MemberGuard      MemberKind = "guard"       // 保安
	MemberVolunteer  MemberKind = "volunteer"   // 义警/志愿者
	MemberGridWorker MemberKind = "grid_worker" // 网格员
	MemberMediator   MemberKind = "mediator"    // 调解员
)

// Member is one person of the mass-prevention forces. Guards belong to a
// security company; any member may belong to a community police team; grid
// workers look after a grid. Home is where they live or are posted.
type Member struct {
	ID          int64      `json:"id"`
	Kind        MemberKind `json:"kind"`
	Name        string     `json:"name"`
	Phone       string     `json:"phone,omitempty"`
	CommunityID int64      `json:"community_id"`
	CompanyID   int64      `json:"company_id,omitempty"`
	TeamID      int64      `json:"team_id,omitempty"`
	GridID      int64      `json:"grid_id,omitempty"`
	Home        Point      `json:"home"`
}

// Validate checks the member's own fields.
func (m *Member) Validate() error {
	switch m.Kind {
	case MemberGuard:
		if m.CompanyID == 0 {
			return Errorf(EINVALID, "a guard must belong to a security company")
		}
	case MemberVolunteer, MemberMediator:
	case MemberGridWorker:
		if m.GridID == 0 {
			return Errorf(EINVALID, "a grid worker must look after a grid")
		}
	default:
		return Errorf(EINVALID, "member kind %q must be guard, volunteer, grid_worker or mediator", m.Kind)
	}
	if m.CommunityID == 0 {
		return Errorf(EINVALID, "member %q needs a community", m.Name)
	}
	if err := m.Home.Validate(); err != nil {
		return err
	}
	return validateName(m.Name)
}

func validateName(name string) error {
	if name == "" {
		return Errorf(EINVALID, "a name is required")
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 100 {
		return Errorf(EINVALID, "name must be valid text of at most 100 characters")
	}
	return nil
}

func validateNamed(name string, seat Point, area MultiPolygon) error {
	if err := validateName(name); err != nil {
		return err
	}
	if err := seat.Validate(); err != nil {
		return err
	}
	if area != nil {
		if err := area.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// City is a whole organisation at once, as the demo builds it and as an
// import loads it. IDs are assigned by whoever builds it and references
// point at them.
type City struct {
	Bureaus     []*Bureau
	Stations    []*Station
	SubUnits    []*SubUnit
	Offices     []*PoliceOffice
	Communities []*Community
	Grids       []*Grid
	Officers    []*Officer
	Companies   []*SecurityCompany
	Teams       []*Team
	Members     []*Member
	Units       []*Unit
}

// OrgSummary counts the organisation by kind. It is what `zhufang demo
// --json` prints and GET /api/v1/org/summary returns.
type OrgSummary struct {
	CityBureaus           int   `json:"city_bureaus"`
	CountyBureaus         int   `json:"county_bureaus"`
	Stations              int   `json:"stations"`
	SubUnits              int   `json:"sub_units"`
	UrbanOffices          int   `json:"urban_offices"`
	RuralOffices          int   `json:"rural_offices"`
	UrbanCommunities      int   `json:"urban_communities"`
	Villages              int   `json:"villages"`
	Grids                 int   `json:"grids"`
	Officers              int   `json:"officers"`
	PoliceOfficers        int   `json:"police_officers"`
	AuxiliaryOfficers     int   `json:"auxiliary_officers"`
	CommunityOfficers     int   `json:"community_officers"`
	VillageAuxiliaries    int   `json:"village_auxiliaries"`
	SecondedOfficers      int   `json:"seconded_officers"`
	SecurityCompanies     int   `json:"security_companies"`
	CommunityPoliceTeams  int   `json:"community_police_teams"`
	MassPreventionMembers int   `json:"mass_prevention_members"`
	Guards                int   `json:"guards"`
	Volunteers            int   `json:"volunteers"`
	GridWorkers           int   `json:"grid_workers"`
	Mediators             int   `json:"mediators"`
	Population            int64 `json:"population"`
	Units                 int   `json:"units"`
	PoliceUnits           int   `json:"police_units"`
	MassUnits             int   `json:"mass_units"`
}

// AreaRef names one level of a jurisdiction.
type AreaRef struct {
	ID   int64  `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

// Jurisdiction is the answer to "whose ground is this point": the community
// or village, its station and its county bureau.
type Jurisdiction struct {
	Community AreaRef  `json:"community"`
	Station   AreaRef  `json:"station"`
	County    AreaRef  `json:"county"`
	Zone      ZoneKind `json:"zone"`
}

// StationNode is one station of the org tree with its counts.
type StationNode struct {
	Station          *Station `json:"station"`
	UrbanCommunities int      `json:"urban_communities"`
	Villages         int      `json:"villages"`
	Officers         int      `json:"officers"`
	Population       int64    `json:"population"`
}

// BureauNode is one county bureau of the org tree with its stations.
type BureauNode struct {
	Bureau   *Bureau        `json:"bureau"`
	Stations []*StationNode `json:"stations"`
}

// OrgTree is the city bureau and its county bureaus with their stations.
type OrgTree struct {
	City     *Bureau       `json:"city"`
	Counties []*BureauNode `json:"counties"`
}

// CommunityFilter selects communities. Zero fields do not filter.
type CommunityFilter struct {
	StationID int64
	Kind      CommunityKind
	WithArea  bool // load the area polygons, which are large
	Offset    int
	Limit     int
}

// OrgService reads and writes the organisation of a city.
type OrgService interface {
	// ImportCity stores a whole organisation in one transaction. Returns
	// ECONFLICT if a code is already taken or the database already holds an
	// organisation, EINVALID for a record that fails validation and
	// ENOTFOUND for one that points at a record that does not exist.
	ImportCity(ctx context.Context, c *City) error
	// CreateBureau, CreateStation and CreateCommunity add one record and set
	// its ID. They return EINVALID for bad fields, ENOTFOUND for a parent
	// that does not exist and ECONFLICT for a code already taken.
	CreateBureau(ctx context.Context, b *Bureau) error
	CreateStation(ctx context.Context, s *Station) error
	CreatePoliceOffice(ctx context.Context, o *PoliceOffice) error
	CreateCommunity(ctx context.Context, c *Community) error
	// FindBureaus returns every bureau with its area.
	FindBureaus(ctx context.Context) ([]*Bureau, error)
	// FindStations returns every station with its area.
	FindStations(ctx context.Context) ([]*Station, error)
	// FindCommunityByID returns ENOTFOUND if there is no such community.
	FindCommunityByID(ctx context.Context, id int64) (*Community, error)
	FindCommunities(ctx context.Context, f CommunityFilter) ([]*Community, error)
	// OrgSummary counts the organisation.
	OrgSummary(ctx context.Context) (*OrgSummary, error)
	// FindOrgTree returns the bureaus and stations with their counts.
	FindOrgTree(ctx context.Context) (*OrgTree, error)
}

// Locator answers whose ground a point is: the community or village, its
// station and its county. It reports false for a point outside the city.
type Locator interface {
	Locate(p Point) (Jurisdiction, bool)
}

// BureausOf maps each station to its county bureau.
func BureausOf(stations []*Station) map[int64]int64 {
	out := make(map[int64]int64, len(stations))
	for _, s := range stations {
		out[s.ID] = s.BureauID
	}
	return out
}
