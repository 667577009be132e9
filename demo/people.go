package demo

import (
	"fmt"
	"sort"

	"zhufang"
)

// hqDepartments are the city bureau's departments whose officers are moved
// down to community offices (机关警力下沉).
var hqDepartments = []string{"市局治安支队", "市局刑侦支队", "市局网安支队", "市局政治部", "市局指挥中心", "市局经侦支队", "市局禁毒支队"}

// officers staffs every station: its leaders, its 两队一室, one community
// officer per urban community and one auxiliary per village.
func (b *builder) officers() error {
	seq := map[string]int{}
	badge := func(rank zhufang.OfficerRank, county string) string {
		seq[string(rank)+county]++
		n := seq[string(rank)+county]
		if rank == zhufang.RankPolice {
			return fmt.Sprintf("%s%04d", county[4:], n) // six digits: county and number
		}
		return fmt.Sprintf("F%s%04d", county, n)
	}
	add := func(s *zhufang.Station, rank zhufang.OfficerRank, post zhufang.OfficerPost, unit, office int64) *zhufang.Officer {
		o := &zhufang.Officer{ID: int64(len(b.city.Officers) + 1), BadgeNo: badge(rank, b.city.Bureaus[s.BureauID-1].Code),
			Name: personName(b.r), Rank: rank, Post: post, StationID: s.ID, SubUnitID: unit, OfficeID: office, Phone: phone(b.r)}
		b.city.Officers = append(b.city.Officers, o)
		return o
	}
	for _, s := range b.city.Stations {
		units := b.city.SubUnits[(s.ID-1)*3 : s.ID*3]
		team, cases, room := units[0].ID, units[1].ID, units[2].ID
		urban := s.Kind == zhufang.StationUrban
		add(s, zhufang.RankPolice, zhufang.PostStationChief, 0, 0)
		add(s, zhufang.RankPolice, zhufang.PostInstructor, 0, 0)
		for _, u := range units {
			add(s, zhufang.RankPolice, zhufang.PostTeamLeader, u.ID, 0)
		}
		nCase, nDuty, nPatrol := 3+b.r.IntN(3), 1, 2+b.r.IntN(3)
		if urban {
			nCase, nDuty, nPatrol = 6+b.r.IntN(5), 2, 6+b.r.IntN(5)
		}
		for range nCase {
			add(s, zhufang.RankPolice, zhufang.PostCaseOfficer, cases, 0)
		}
		for range nDuty {
			add(s, zhufang.RankPolice, zhufang.PostCommandDuty, room, 0)
			add(s, zhufang.RankAuxiliary, zhufang.PostCommandDuty, room, 0)
		}
		for range nPatrol {
			add(s, zhufang.RankAuxiliary, zhufang.PostPatrol, team, 0)
		}
		for _, c := range b.comms[s.ID] {
			if c.Kind == zhufang.CommunityUrban {
				o := add(s, zhufang.RankPolice, zhufang.PostCommunityOfficer, team, c.OfficeID)
				if b.r.IntN(100) < 15 {
					o.SecondedFrom = hqDepartments[b.r.IntN(len(hqDepartments))]
				}
			} else {
				add(s, zhufang.RankAuxiliary, zhufang.PostVillageAuxiliary, team, c.OfficeID)
			}
		}
	}
	return nil
}

var companyWords = []string{"安泰", "平安", "金盾", "神盾", "卫士", "华安", "永安", "恒安", "天盾", "正安", "中安", "盛安", "锦安", "鼎安", "潇湘", "舜安"}

// companiesAndTeams registers the security companies of each county and
// the community police teams: one for every urban community and the rest
// in the most populous villages.
func (b *builder) companiesAndTeams() error {
	for _, bu := range b.city.Bureaus[1:] {
		c := b.countyByCode(bu.Code)
		urban := 0
		for _, s := range b.city.Stations {
			if s.BureauID == bu.ID {
				for _, cm := range b.comms[s.ID] {
					if cm.Kind == zhufang.CommunityUrban {
						urban++
					}
				}
			}
		}
		words := b.r.Perm(len(companyWords))
		short := []rune(c.Name)
		for i := range 2 + urban/6 {
			name := string(short[:2]) + companyWords[words[i%len(words)]] + "保安服务有限公司"
			if i >= len(words) {
				name = fmt.Sprintf("%s%s第%d保安服务有限公司", string(short[:2]), companyWords[words[i%len(words)]], i/len(words)+1)
			}
			p, _ := nearIn(b.r, bu.Area, bu.Seat, 1500, 0, nil)
			if p.IsZero() {
				p = bu.Seat
			}
			b.city.Companies = append(b.city.Companies, &zhufang.SecurityCompany{ID: int64(len(b.city.Companies) + 1),
				Name: name, BureauID: bu.ID, Seat: p})
		}
	}
	var villages []*zhufang.Community
	for _, c := range b.city.Communities {
		if c.Kind == zhufang.CommunityUrban {
			b.addTeam(c)
		} else {
			villages = append(villages, c)
		}
	}
	sort.SliceStable(villages, func(i, j int) bool { return villages[i].Population > villages[j].Population })
	for _, c := range villages[:CommunityPoliceTeams-len(b.city.Teams)] {
		b.addTeam(c)
	}
	return nil
}

func (b *builder) addTeam(c *zhufang.Community) {
	b.city.Teams = append(b.city.Teams, &zhufang.Team{ID: int64(len(b.city.Teams) + 1), Name: c.Name + "群防群治队",
		StationID: c.StationID, CommunityID: c.ID, Seat: c.Seat})
}

// members enrols the mass-prevention forces: a grid worker for every grid,
// the mediators spread over the stations, guards of the county's companies
// where people and business are, and volunteers everywhere, the first of
// each community with a team joining it.
func (b *builder) members() error {
	comms := b.city.Communities
	volunteers := MassPreventionMembers - Mediators - len(b.city.Grids) - Guards
	if volunteers < len(comms) {
		return fmt.Errorf("too many grids (%d) to meet %d mass-prevention members", len(b.city.Grids), MassPreventionMembers)
	}
	add := func(kind zhufang.MemberKind, c *zhufang.Community) *zhufang.Member {
		spread := 800.0
		if c.Kind == zhufang.CommunityUrban {
			spread = 350
		}
		m := &zhufang.Member{ID: int64(len(b.city.Members) + 1), Kind: kind, Name: personName(b.r), Phone: phone(b.r),
			CommunityID: c.ID, Home: round6(offset(c.Seat, b.r.NormFloat64()*spread, b.r.NormFloat64()*spread))}
		b.city.Members = append(b.city.Members, m)
		return m
	}
	for _, g := range b.city.Grids {
		add(zhufang.MemberGridWorker, comms[g.CommunityID-1]).GridID = g.ID
	}
	// Mediators: a share per station by population, at its communities in turn.
	stationPop := make([]float64, len(b.city.Stations))
	for _, c := range comms {
		stationPop[c.StationID-1] += float64(c.Population)
	}
	for i, n := range allocate(Mediators, stationPop, 2) {
		list := b.comms[int64(i+1)]
		for k := range n {
			add(zhufang.MemberMediator, list[k%len(list)])
		}
	}
	companies := map[int64][]int64{}
	for _, co := range b.city.Companies {
		companies[co.BureauID] = append(companies[co.BureauID], co.ID)
	}
	gw, vw := make([]float64, len(comms)), make([]float64, len(comms))
	for i, c := range comms {
		gw[i], vw[i] = float64(c.Population)*0.3, float64(c.Population)
		if c.Kind == zhufang.CommunityUrban {
			gw[i], vw[i] = float64(c.Population)*4, float64(c.Population)*1.5
		}
	}
	for i, n := range allocate(Guards, gw, 0) {
		c := comms[i]
		list := companies[b.city.Stations[c.StationID-1].BureauID]
		for range n {
			add(zhufang.MemberGuard, c).CompanyID = list[b.r.IntN(len(list))]
		}
	}
	teamOf := map[int64]int64{}
	for _, t := range b.city.Teams {
		teamOf[t.CommunityID] = t.ID
	}
	for i, n := range allocate(volunteers, vw, 1) {
		c := comms[i]
		inTeam := 0
		if teamOf[c.ID] != 0 {
			inTeam = 25 + b.r.IntN(40)
		}
		for k := range n {
			m := add(zhufang.MemberVolunteer, c)
			if k < inTeam {
				m.TeamID = teamOf[c.ID]
			}
		}
	}
	return nil
}
