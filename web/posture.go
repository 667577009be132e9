package web

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"zhufang"
)

// posture answers the command room's posture plan for the current hour:
// where each idle car and motorcycle on the user's ground should wait, and
// which parts of the ground no idle unit reaches in time now.
func (s *Server) posture(w http.ResponseWriter, r *http.Request) error {
	p, err := s.postureOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// postureOf plans the posture of the user's ground, for the API and the
// map alike: who may see it and what it holds are decided here once.
func (s *Server) postureOf(r *http.Request) (*zhufang.Posture, error) {
	if err := zhufang.Authorize(r.Context(), zhufang.PermViewUnits); err != nil {
		return nil, err
	}
	if err := zhufang.Authorize(r.Context(), zhufang.PermViewIncidents); err != nil {
		return nil, err
	}
	if s.Posture == nil {
		return nil, zhufang.Errorf(zhufang.EUNAVAILABLE, "posture planning is not running on this node")
	}
	live, err := s.liveUnits(r)
	if err != nil {
		return nil, err
	}
	units := make([]zhufang.LiveUnit, len(live))
	for i, u := range live {
		units[i] = *u
	}
	return s.Posture.Posture(r.Context(), s.Intake.Clock.Now(), units)
}

// postureFragment renders the posture plan as the map's posture layer
// draws it: cells, moves and posts in map units with their titles, and the
// legend's texts, in the user's language. The map's script swaps it in.
func (s *Server) postureFragment(w http.ResponseWriter, r *http.Request) error {
	p, err := s.postureOf(r)
	if err != nil {
		return err
	}
	c, err := s.city(r.Context())
	if err != nil {
		return err
	}
	lang := langOf(r)
	tr := func(key string, args ...any) string { return s.catalogs.translate(lang, key, args...) }
	pg := s.newPage(r, "", "", postureLayerOf(c, p, tr))
	return s.render(w, pg.Lang, "posture-layer", pg)
}

// postureLayer is a posture plan as the map draws it. Numbers are written
// here, so the template only places them.
type postureLayer struct {
	Cells   []postureCell
	Moves   []postureMove
	Posts   []posturePost
	Basis   string   // the hour and the history it learnt from
	Summary string   // the whole ground's expected incidents and shares
	Bureaus []string // the same per county, when there are several
}

// postureCell is a square no idle unit reaches in time now.
type postureCell struct {
	X, Y, W, H string
	Opacity    string // deeper red for more expected incidents
	Title      string
}

// postureMove is the line from a unit to its post.
type postureMove struct{ X1, Y1, X2, Y2 string }

// posturePost is where a unit should wait.
type posturePost struct {
	UnitID int64
	X, Y   string
	Title  string
}

// metresPerDegree is the length of a degree of latitude the planner uses.
const metresPerDegree = 111320.0

// postureLayerOf draws p on c's map, its texts from tr.
func postureLayerOf(c *cityRef, p *zhufang.Posture, tr func(string, ...any) string) *postureLayer {
	l := &postureLayer{Cells: []postureCell{}, Moves: []postureMove{}, Posts: []posturePost{}, Bureaus: []string{}}
	top := 0.0
	for _, b := range p.Bureaus {
		for _, cell := range b.Uncovered {
			top = max(top, cell.Expected)
		}
	}
	for _, b := range p.Bureaus {
		for _, cell := range b.Uncovered {
			side := cell.Side
			if !(side > 0) {
				side = 400
			}
			dLat := side / 2 / metresPerDegree
			dLon := dLat / math.Cos(cell.At.Lat*math.Pi/180)
			x0, y0 := c.proj.XY(zhufang.Point{Lon: cell.At.Lon - dLon, Lat: cell.At.Lat + dLat})
			x1, y1 := c.proj.XY(zhufang.Point{Lon: cell.At.Lon + dLon, Lat: cell.At.Lat - dLat})
			share := 0.0
			if top > 0 {
				share = cell.Expected / top
			}
			l.Cells = append(l.Cells, postureCell{X: fixed(x0, 2), Y: fixed(y0, 2), W: fixed(x1-x0, 2), H: fixed(y1-y0, 2),
				Opacity: fixed(0.25+0.4*share, 2), Title: tr("map.posture.cell_title", incidentCount(cell.Expected))})
		}
		units := map[int64]zhufang.PostureUnit{}
		for _, u := range b.Units {
			units[u.UnitID] = u
		}
		for _, post := range b.Posts {
			x, y := c.proj.XY1(post.At)
			u, known := units[post.UnitID]
			if known && post.Meters > 0 {
				ux, uy := c.proj.XY1(u.At)
				l.Moves = append(l.Moves, postureMove{X1: fixed(ux, 1), Y1: fixed(uy, 1), X2: fixed(x, 1), Y2: fixed(y, 1)})
			}
			name := u.CallSign
			if !known {
				name = "#" + strconv.FormatInt(post.UnitID, 10)
			}
			l.Posts = append(l.Posts, posturePost{UnitID: post.UnitID, X: fixed(x, 1), Y: fixed(y, 1),
				Title: tr("map.posture.post_title", name, groupDigits(int64(math.Round(post.Meters))))})
		}
	}

	// Shares of the whole ground are the bureaus' shares weighted by their
	// expected incidents.
	var total, now, plan float64
	for _, b := range p.Bureaus {
		total += b.Expected
		now += b.CoveredNow * b.Expected
		plan += b.CoveredPlanned * b.Expected
	}
	l.Basis = tr("map.posture.basis", strconv.Itoa(p.Hour), strconv.Itoa(p.HistoryDays))
	l.Summary = tr("map.posture.summary", incidentCount(total), percent(now, total), percent(plan, total))
	var shown []zhufang.BureauPosture
	for _, b := range p.Bureaus {
		if b.Expected > 0 {
			shown = append(shown, b)
		}
	}
	if len(shown) < 2 {
		return l
	}
	slices.SortStableFunc(shown, func(a, b zhufang.BureauPosture) int { return cmp.Compare(b.Expected, a.Expected) })
	for _, b := range shown {
		name := "#" + strconv.FormatInt(b.BureauID, 10)
		if bu := c.bureaus[b.BureauID]; bu != nil {
			name = bu.Name
		}
		l.Bureaus = append(l.Bureaus, tr("map.posture.bureau", name, incidentCount(b.Expected),
			percent(b.CoveredNow, 1), percent(b.CoveredPlanned, 1)))
	}
	return l
}

// Chinese and English write these numbers alike (1,234.5 and 45%), as the
// browser's Intl.NumberFormat does for zh-CN and en; the words around them
// come from each language's catalog.

// incidentCount writes an expected number of incidents: whole numbers from
// 10, one decimal from 1, and two significant digits below, so that a quiet
// cell does not read "0".
func incidentCount(n float64) string {
	switch {
	case !(n > 0) || math.IsInf(n, 0):
		return "0"
	case n >= 10:
		return groupDigits(int64(math.Round(n)))
	case n >= 1:
		return trimZeros(strconv.FormatFloat(n, 'f', 1, 64))
	}
	// Two significant digits: as many decimals as put the second digit last.
	return trimZeros(strconv.FormatFloat(n, 'f', 1-int(math.Floor(math.Log10(n))), 64))
}

// percent writes part of a whole as a whole percentage, or "—" for a share
// of nothing.
func percent(part, whole float64) string {
	if !(whole > 0) {
		return "—"
	}
	return strconv.FormatFloat(math.Round(part/whole*100), 'f', 0, 64) + "%"
}

// fixed writes v with at most the given decimals.
func fixed(v float64, decimals int) string {
	return trimZeros(strconv.FormatFloat(v, 'f', decimals, 64))
}

// trimZeros drops trailing zeros after a decimal point, and the point.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}
