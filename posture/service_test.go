package posture

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"zhufang"
)

// pastStreet is a history of street incidents around two spots of bureau
// 1, each at every hour.
type pastStreet struct {
	incs  []*zhufang.Incident
	asked []time.Time
}

func (h *pastStreet) FindReceived(ctx context.Context, from, to time.Time, lane zhufang.Lane) ([]*zhufang.Incident, error) {
	h.asked = append(h.asked, from, to)
	var out []*zhufang.Incident
	for _, inc := range h.incs {
		if !inc.ReceivedAt.Before(from) && inc.ReceivedAt.Before(to) && lane == zhufang.LaneStreet {
			out = append(out, inc)
		}
	}
	return out, nil
}

var (
	spotA = zhufang.Point{Lon: 111.60, Lat: 26.40}
	spotB = zhufang.Point{Lon: 111.66, Lat: 26.40} // 6 km east of A
	now   = time.Date(2026, 6, 1, 20, 30, 0, 0, zhufang.ChinaTime)
)

func history() *pastStreet {
	r := rand.New(rand.NewPCG(1, 2))
	h := &pastStreet{}
	for d := 1; d <= 28; d++ {
		day := time.Date(2026, 6, 1-d, 0, 0, 0, 0, zhufang.ChinaTime)
		for hr := range 24 {
			for _, spot := range []zhufang.Point{spotA, spotB} {
				p := zhufang.Point{Lon: spot.Lon + r.NormFloat64()*0.001, Lat: spot.Lat + r.NormFloat64()*0.001}
				h.incs = append(h.incs, &zhufang.Incident{ReceivedAt: day.Add(time.Duration(hr)*time.Hour + 10*time.Minute),
					Position: p, Zone: zhufang.ZoneUrbanCore, BureauID: 1, StationID: 1})
			}
		}
	}
	return h
}

func service(h *pastStreet) *Service {
	return &Service{History: h, Bureaus: map[int64]int64{1: 1, 2: 2}, Zones: zhufang.DefaultZoneProfiles(),
		Pace:      func(zhufang.UnitKind, zhufang.ZoneKind) float64 { return 1.35 / 8 },
		Allowance: 32 * time.Second}
}

func live(id, station int64, at zhufang.Point, kind zhufang.UnitKind, status zhufang.UnitStatus) zhufang.LiveUnit {
	return zhufang.LiveUnit{Unit: zhufang.Unit{ID: id, CallSign: "u", Kind: kind, Platform: zhufang.PlatformPolice,
		StationID: station, Status: status, Position: at}}
}

// Two idle cars both at spot A: B's demand is uncovered now, and the plan
// sends one car to B, covering everything.
func TestServicePlansUncoveredDemand(t *testing.T) {
	s := service(history())
	units := []zhufang.LiveUnit{
		live(1, 1, spotA, zhufang.UnitPatrolCar, zhufang.UnitAvailable),
		live(2, 1, spotA, zhufang.UnitMotorcycle, zhufang.UnitAvailable),
		live(3, 1, spotA, zhufang.UnitPatrolCar, zhufang.UnitOnScene), // busy: not planned
		live(4, 1, spotA, zhufang.UnitFoot, zhufang.UnitAvailable),    // on foot: stays on its beat
	}
	p, err := s.Posture(context.Background(), now, units)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hour != 20 || len(p.Bureaus) != 1 {
		t.Fatalf("plan %+v", p)
	}
	b := p.Bureaus[0]
	if len(b.Units) != 2 || len(b.Posts) != 2 {
		t.Fatalf("units %+v posts %+v: want the two idle vehicles", b.Units, b.Posts)
	}
	if b.CoveredNow < 0.45 || b.CoveredNow > 0.55 || b.CoveredPlanned != 1 {
		t.Fatalf("covered now %v, planned %v; want half, then all", b.CoveredNow, b.CoveredPlanned)
	}
	nearB := 0
	for _, post := range b.Posts {
		if post.At.DistanceMeters(spotB) < 800 {
			nearB++
			if post.Meters < 5000 {
				t.Errorf("the car sent to B is %v m away, want about 6 km", post.Meters)
			}
		}
	}
	if nearB != 1 {
		t.Fatalf("%d posts at B, want one: %+v", nearB, b.Posts)
	}
	if len(b.Uncovered) == 0 || b.Uncovered[0].At.DistanceMeters(spotB) > 800 {
		t.Fatalf("uncovered now %+v, want B's cells", b.Uncovered)
	}
	if b.Expected < 1.9 || b.Expected > 2.1 {
		t.Errorf("expected %v street incidents in the hour, want 2", b.Expected)
	}
}

// The demand is cached per ground and hour: another ground asks again.
func TestServiceCachesPerGround(t *testing.T) {
	h := history()
	s := service(h)
	county := &zhufang.User{ID: 1, Role: zhufang.RoleCountyCommander, Scope: zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 1}}
	other := &zhufang.User{ID: 2, Role: zhufang.RoleCountyCommander, Scope: zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 2}}
	ctxA := zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{User: county})
	ctxB := zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{User: other})
	for _, ctx := range []context.Context{ctxA, ctxA, ctxB} {
		if _, err := s.Posture(ctx, now, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.asked) != 4 {
		t.Fatalf("history asked %d times, want twice (once per ground)", len(h.asked)/2)
	}
	if want := time.Date(2026, 5, 4, 0, 0, 0, 0, zhufang.ChinaTime); !h.asked[0].Equal(want) {
		t.Errorf("history from %s, want the 28 days before today (%s)", h.asked[0], want)
	}
}

func TestServiceNeedsViewUnits(t *testing.T) {
	mediator := &zhufang.User{ID: 3, Role: zhufang.RoleMediator, Scope: zhufang.Scope{Level: zhufang.ScopeCity}}
	ctx := zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{User: mediator})
	if mediator.Can(zhufang.PermViewUnits) {
		t.Skip("mediators may see units")
	}
	if _, err := service(history()).Posture(ctx, now, nil); zhufang.ErrorCode(err) != zhufang.EFORBIDDEN {
		t.Fatalf("a role without view_units: %v", err)
	}
}
