package demo

import (
	"testing"

	"zhufang"
)

const dataDir = "../../shared/data"

func TestBuildCounts(t *testing.T) {
	c, err := Build(Options{Seed: 1, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	var urban, villages, officers, auxiliaries, mediators, pop int
	perCommunity := map[int64]int{}
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
			perCommunity[o.OfficeID]++
		case zhufang.PostVillageAuxiliary:
			auxiliaries++
			perCommunity[o.OfficeID]++
		}
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
		if perCommunity[cm.OfficeID] != 1 {
			t.Errorf("community %s has %d officers at its office, want 1", cm.Code, perCommunity[cm.OfficeID])
		}
	}
	if pop < 5_250_000 || pop > 5_350_000 {
		t.Errorf("population %d, want about 5.3 million", pop)
	}
	t.Logf("stations %d, grids %d, officers %d, companies %d", len(c.Stations), len(c.Grids), len(c.Officers), len(c.Companies))
}
