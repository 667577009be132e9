package demo

import (
	"testing"

	"zhufang"
	"zhufang/data"
	"zhufang/tiling"
)

func TestBuildCounts(t *testing.T) {
	c, err := Build(Options{Seed: 1, Data: data.FS, Cells: tiling.Cells})
	if err != nil {
		t.Fatal(err)
	}
	var urban, villages, officers, auxiliaries, mediators, pop int
	type post struct {
		office int64
		post   zhufang.OfficerPost
	}
	atOffice := map[post]int{}
	for _, cm := range c.Communities {
		pop += cm.Population
		if cm.Kind == zhufang.CommunityUrban {
			urban++
		} else {
			villages++
		}
	}
	for _, o := range c.Officers {
		switch o.Post {
		case zhufang.PostCommunityOfficer:
			officers++
		case zhufang.PostVillageAuxiliary:
			auxiliaries++
		}
		atOffice[post{o.OfficeID, o.Post}]++
	}
	for _, m := range c.Members {
		if m.Kind == zhufang.MemberMediator {
			mediators++
		}
	}
	got := []int{urban, villages, officers, auxiliaries, len(c.Teams), len(c.Members), mediators}
	want := []int{UrbanCommunities, Villages, UrbanCommunities, Villages, CommunityPoliceTeams, MassPreventionMembers, Mediators}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("count %d: got %d, want %d", i, got[i], want[i])
		}
	}
	for _, cm := range c.Communities {
		own, other := zhufang.PostCommunityOfficer, zhufang.PostVillageAuxiliary
		if cm.Kind == zhufang.CommunityVillage {
			own, other = other, own
		}
		if atOffice[post{cm.OfficeID, own}] != 1 || atOffice[post{cm.OfficeID, other}] != 0 {
			t.Errorf("%s %s: %d %s and %d %s at its office, want exactly one %s", cm.Kind, cm.Code,
				atOffice[post{cm.OfficeID, own}], own, atOffice[post{cm.OfficeID, other}], other, own)
		}
	}
	if pop < 5_250_000 || pop > 5_350_000 {
		t.Errorf("population %d, want about 5.3 million", pop)
	}
	t.Logf("stations %d, grids %d, officers %d, companies %d", len(c.Stations), len(c.Grids), len(c.Officers), len(c.Companies))
}
