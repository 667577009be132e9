package demo

import (
	"fmt"

	"zhufang"
)

// fleet gives every station its patrol units (a realistic 区防 fleet: an
// urban station runs several cars, 铁骑 motorcycles and foot patrols, a rural
// one a car or two), every security company its guard teams on the streets
// of its county, and every community police team its volunteer unit (群防).
// Units start at home, with no fresh position: until a device reports, a
// unit is not offered for dispatch.
func (b *builder) fleet() error {
	add := func(u *zhufang.Unit) {
		u.ID = int64(len(b.city.Units) + 1)
		u.Status = zhufang.UnitAvailable
		u.Home = u.Position
		if u.Capabilities == nil {
			u.Capabilities = []string{}
		}
		b.city.Units = append(b.city.Units, u)
	}
	for _, s := range b.city.Stations {
		short := []rune(s.Name)
		prefix := string(short[:min(len(short), 2)])
		cars, motos, feet := 1+b.r.IntN(2), b.r.IntN(2), 0
		if s.Kind == zhufang.StationUrban {
			cars, motos, feet = 3+b.r.IntN(3), 2+b.r.IntN(3), 2
		}
		for i := range cars {
			caps := []string{zhufang.CapArmed}
			if i == 0 {
				caps = append(caps, zhufang.CapMedical)
			}
			add(&zhufang.Unit{CallSign: fmt.Sprintf("%s巡%02d", prefix, i+1) + s.Code[6:], Kind: zhufang.UnitPatrolCar,
				Platform: zhufang.PlatformPolice, StationID: s.ID, Capabilities: caps, Crew: 2 + b.r.IntN(2),
				Position: round6(offset(s.Seat, b.r.NormFloat64()*300, b.r.NormFloat64()*300))})
		}
		for i := range motos {
			add(&zhufang.Unit{CallSign: fmt.Sprintf("%s铁骑%02d", prefix, i+1) + s.Code[6:], Kind: zhufang.UnitMotorcycle,
				Platform: zhufang.PlatformPolice, StationID: s.ID, Capabilities: []string{zhufang.CapTraffic}, Crew: 1,
				Position: round6(offset(s.Seat, b.r.NormFloat64()*500, b.r.NormFloat64()*500))})
		}
		for i := range feet {
			add(&zhufang.Unit{CallSign: fmt.Sprintf("%s步巡%02d", prefix, i+1) + s.Code[6:], Kind: zhufang.UnitFoot,
				Platform: zhufang.PlatformPolice, StationID: s.ID, Capabilities: []string{}, Crew: 2,
				Position: round6(offset(s.Seat, b.r.NormFloat64()*400, b.r.NormFloat64()*400))})
		}
	}
	for _, co := range b.city.Companies {
		for i := range 3 + b.r.IntN(4) {
			p := round6(offset(co.Seat, b.r.NormFloat64()*1500, b.r.NormFloat64()*1500))
			add(&zhufang.Unit{CallSign: fmt.Sprintf("保%03d-%d", co.ID, i+1), Kind: zhufang.UnitGuardTeam,
				Platform: zhufang.PlatformMass, StationID: b.nearestStation(co.BureauID, p).ID, CompanyID: co.ID,
				Capabilities: []string{}, Crew: 3 + b.r.IntN(4), Position: p})
		}
	}
	for _, t := range b.city.Teams {
		add(&zhufang.Unit{CallSign: fmt.Sprintf("义%03d", t.ID), Kind: zhufang.UnitVolunteerTeam, Platform: zhufang.PlatformMass,
			StationID: t.StationID, CommunityID: t.CommunityID, Capabilities: []string{zhufang.CapMediation},
			Crew: 4 + b.r.IntN(8), Position: t.Seat})
	}
	return nil
}
