// Package dispatch keeps the live positions of a node's units in memory and
// recommends which of them to send to an incident.
//
// The Index holds every unit with its last position in a uniform grid of
// cells; a search reads the cells around a point ring by ring and stops as
// soon as no unread cell can hold a better unit. Recommend ranks units by
// estimated travel time through an Estimator.
package dispatch

import (
	"math"
	"slices"
	"sync"
	"time"

	"zhufang"
)

// IndexOptions configure an Index. The zero value of each field means its
// default.
type IndexOptions struct {
	// StaleAfter is the age past which a position is stale: still kept and
	// shown, never used for a recommendation. Default DefaultStaleAfter.
	StaleAfter time.Duration
	// Clock gives "now" for staleness and for checking reports. Default
	// the system clock.
	Clock zhufang.Clock
	// Bounds is the region the grid covers, normally the jurisdiction of
	// the node. Units outside it still work, each read by every search.
	// Default the box around Yongzhou (431100), the region of the demo
	// city: lon 110.9–112.4, lat 24.6–26.9.
	Bounds zhufang.Rect
	// CellMeters is the side of a grid cell. Default DefaultCellMeters.
	CellMeters float64
}

// DefaultStaleAfter is two minutes: vehicle terminals report every 10-30 s,
// so a unit silent for two minutes has missed four or more reports and its
// position can no longer be trusted to pick the nearest unit.
const DefaultStaleAfter = 2 * time.Minute

// DefaultCellMeters is the default side of a grid cell. Measured on 10,000
// units spread over Yongzhou (BenchmarkRecommend, BenchmarkNearestIndex,
// BenchmarkIngestJump): 1 km and 2 km cells answer alike; with 500 m cells
// searches are 15-20% slower (more empty cells to pass) and a unit changing
// cell 70% slower (3.7 MB of cells no longer fit the cache). 1 km rather
// than 2 keeps cells small where units crowd into a town centre.
const DefaultCellMeters = 1000

// UnitView is a unit as the index holds it: static data, status and last
// known position, and whether that position is stale. A unit that has never
// reported, or was put with a position but no position time (a home
// position), has a stale position or none.
type UnitView struct {
	zhufang.Unit
	Stale bool `json:"stale"`
}

// Candidate is a unit found by Nearest, with its straight-line distance.
type Candidate struct {
	UnitView
	Meters float64 `json:"meters"`
}

// unit is the index's record of one unit.
type unit struct {
	view UnitView // Stale is always false here; readers compute it
	at   int64    // Unix nanoseconds of the position; noTime for none
	cell int32    // cell holding the position, -1 for none
	slot int32    // place in the cell
	kind uint8    // index of view.Kind in zhufang.UnitKinds
}

// noTime is the position time of a unit with no timed position: older than
// any report, stale at any time.
const noTime = math.MinInt64

// Index is the live index of the units of one node. It is safe for
// concurrent use: searches share a read lock; Put, SetStatus, Update and
// Remove take the write lock for a few hundred nanoseconds at most.
type Index struct {
	staleAfter time.Duration
	clock      zhufang.Clock
	grid       grid

	mu    sync.RWMutex
	cells [][]entry // grid cells, then the cell of units outside the grid
	units []unit    // dense: Remove moves the last record into the hole
	byID  map[int64]int32
}

// NewIndex returns an empty index.
func NewIndex(opt IndexOptions) (*Index, error) {
	if opt.StaleAfter == 0 {
		opt.StaleAfter = DefaultStaleAfter
	}
	if opt.Clock == nil {
		opt.Clock = zhufang.SystemClock{}
	}
	if opt.Bounds == (zhufang.Rect{}) {
		opt.Bounds = zhufang.Rect{Min: zhufang.Point{Lon: 110.9, Lat: 24.6}, Max: zhufang.Point{Lon: 112.4, Lat: 26.9}}
	}
	if opt.CellMeters == 0 {
		opt.CellMeters = DefaultCellMeters
	}
	b := opt.Bounds
	if err := b.Min.Validate(); err != nil {
		return nil, err
	}
	if err := b.Max.Validate(); err != nil {
		return nil, err
	}
	switch {
	case opt.StaleAfter < 0:
		return nil, zhufang.Errorf(zhufang.EINVALID, "stale age must be positive, got %s", opt.StaleAfter)
	case !(b.Min.Lon < b.Max.Lon && b.Min.Lat < b.Max.Lat) || b.Min.Lat < -85 || b.Max.Lat > 85:
		return nil, zhufang.Errorf(zhufang.EINVALID, "index bounds must be a box with west < east and south < north, within 85° of the equator")
	case !(opt.CellMeters >= 10 && opt.CellMeters <= 100_000):
		return nil, zhufang.Errorf(zhufang.EINVALID, "cell size must be 10 m to 100 km, got %g", opt.CellMeters)
	}
	g := newGrid(b, opt.CellMeters)
	return &Index{
		staleAfter: opt.StaleAfter,
		clock:      opt.Clock,
		grid:       g,
		cells:      make([][]entry, g.nx*g.ny+1),
		byID:       map[int64]int32{},
	}, nil
}

// Len returns the number of units.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.units)
}

// Put adds a unit or replaces its static data and status. Its position, if
// set, replaces the one held only if newer (as with Update); a position
// without a time is kept as a home position, shown but stale until the
// unit reports. A unit that fails zhufang.Unit.Validate, or whose position
// time is in the future, is refused (EINVALID).
func (ix *Index) Put(u zhufang.Unit) error {
	if u.ID <= 0 {
		return zhufang.Errorf(zhufang.EINVALID, "unit ID must be positive")
	}
	if err := u.Validate(); err != nil {
		return err
	}
	now := ix.clock.Now()
	if !u.PositionAt.IsZero() && u.PositionAt.After(now.Add(time.Minute)) {
		return zhufang.Errorf(zhufang.EINVALID, "position time %s is in the future", u.PositionAt.Format(time.RFC3339))
	}
	if u.PositionAt.After(now) { // as Update judges a report dated ahead
		u.PositionAt = now
	}
	u.Capabilities = slices.Clone(u.Capabilities)
	pos, at := u.Position, nanos(u.PositionAt)
	if u.PositionAt.IsZero() {
		at = noTime
	}

	ix.mu.Lock()
	defer ix.mu.Unlock()
	i, ok := ix.byID[u.ID]
	if !ok {
		i = int32(len(ix.units))
		ix.units = append(ix.units, unit{at: noTime, cell: -1, slot: -1})
		ix.byID[u.ID] = i
	}
	rec := &ix.units[i]
	old := rec.view.Unit
	rec.view.Unit = u
	rec.view.Position, rec.view.PositionAt = old.Position, old.PositionAt
	rec.kind = uint8(slices.Index(zhufang.UnitKinds, u.Kind))
	// A home position (no time) replaces only another home position.
	if !pos.IsZero() && (rec.cell < 0 || at > rec.at || at == noTime && rec.at == noTime) {
		ix.move(i, pos, u.PositionAt, at)
	}
	return nil
}

// SetStatus sets a unit's status. The status machine is the caller's to
// enforce (zhufang.CheckUnitTransition); the index only records.
func (ix *Index) SetStatus(id int64, s zhufang.UnitStatus) error {
	if !slices.Contains(zhufang.UnitStatuses, s) {
		return zhufang.Errorf(zhufang.EINVALID, "unit status %q is not known", s)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	i, ok := ix.byID[id]
	if !ok {
		return zhufang.Errorf(zhufang.ENOTFOUND, "unit %d is not known", id)
	}
	ix.units[i].view.Status = s
	return nil
}

// Update applies a position report. The newest position wins: a report no
// newer than the unit's current position returns false and moves nothing
// (the caller still keeps it in the track). Newer is judged on times held
// to the index clock's now (zhufang.PositionReport.Clamp). A report that
// zhufang.PositionReport.Validate refuses is refused with its error, and so
// is one at exactly 0,0, which is how a device without a fix reports and
// what zhufang.Point calls unset (EINVALID); an unknown unit is ENOTFOUND.
func (ix *Index) Update(r zhufang.PositionReport) (applied bool, err error) {
	_, applied, err = ix.update(r)
	return applied, err
}

// update is Update, returning the report as the index took it: its time
// held to the clock's now.
func (ix *Index) update(r zhufang.PositionReport) (zhufang.PositionReport, bool, error) {
	now := ix.clock.Now()
	if err := r.Validate(now); err != nil {
		return r, false, err
	}
	if r.Point.IsZero() {
		return r, false, zhufang.Errorf(zhufang.EINVALID, "position 0,0 is no position: the device has no fix")
	}
	// A report dated ahead counts as received now: otherwise it would
	// stand as the newest until its own time came and hold back every
	// genuine report until then.
	r.Clamp(now)
	at := r.At.UnixNano() // Validate keeps At within a week of now
	ix.mu.Lock()
	i, ok := ix.byID[r.UnitID]
	if !ok {
		ix.mu.Unlock()
		return r, false, zhufang.Errorf(zhufang.ENOTFOUND, "unit %d is not known", r.UnitID)
	}
	if at <= ix.units[i].at {
		ix.mu.Unlock()
		return r, false, nil
	}
	ix.move(i, r.Point, r.At, at)
	ix.mu.Unlock()
	return r, true, nil
}

// move sets the position of unit i and files it in its cell. The caller
// holds the write lock.
func (ix *Index) move(i int32, p zhufang.Point, t time.Time, at int64) {
	rec := &ix.units[i]
	rec.view.Position, rec.view.PositionAt, rec.at = p, t, at
	e := entry{v: toVec(p), at: at, idx: i}
	c := ix.grid.cell(p)
	if rec.cell == c {
		ix.cells[c][rec.slot] = e
		return
	}
	if rec.cell >= 0 {
		ix.unfile(i)
	}
	ix.cells[c] = append(ix.cells[c], e)
	rec.cell, rec.slot = c, int32(len(ix.cells[c])-1)
}

// unfile takes unit i out of its cell, moving the cell's last entry into
// its slot.
func (ix *Index) unfile(i int32) {
	rec := &ix.units[i]
	cell := ix.cells[rec.cell]
	last := int32(len(cell) - 1)
	if rec.slot != last {
		cell[rec.slot] = cell[last]
		ix.units[cell[rec.slot].idx].slot = rec.slot
	}
	ix.cells[rec.cell] = cell[:last]
	rec.cell, rec.slot = -1, -1
}

// Remove takes a unit out of the index.
func (ix *Index) Remove(id int64) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	i, ok := ix.byID[id]
	if !ok {
		return zhufang.Errorf(zhufang.ENOTFOUND, "unit %d is not known", id)
	}
	if ix.units[i].cell >= 0 {
		ix.unfile(i)
	}
	last := int32(len(ix.units) - 1)
	if i != last {
		moved := ix.units[last]
		ix.units[i] = moved
		ix.byID[moved.view.ID] = i
		if moved.cell >= 0 {
			ix.cells[moved.cell][moved.slot].idx = i
		}
	}
	ix.units[last] = unit{}
	ix.units = ix.units[:last]
	delete(ix.byID, id)
	return nil
}

// Get returns one unit.
func (ix *Index) Get(id int64) (UnitView, error) {
	cutoff := ix.cutoff()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	i, ok := ix.byID[id]
	if !ok {
		return UnitView{}, zhufang.Errorf(zhufang.ENOTFOUND, "unit %d is not known", id)
	}
	return ix.view(&ix.units[i], cutoff), nil
}

// Snapshot returns every unit, by ID.
func (ix *Index) Snapshot() []UnitView {
	cutoff := ix.cutoff()
	ix.mu.RLock()
	out := make([]UnitView, len(ix.units))
	for i := range ix.units {
		out[i] = ix.view(&ix.units[i], cutoff)
	}
	ix.mu.RUnlock()
	slices.SortFunc(out, func(a, b UnitView) int { return cmpInt(a.ID, b.ID) })
	return out
}

// view copies a record for a reader. The caller holds a lock.
func (ix *Index) view(rec *unit, cutoff int64) UnitView {
	v := rec.view
	v.Capabilities = slices.Clone(v.Capabilities)
	v.Stale = rec.cell >= 0 && rec.at < cutoff
	return v
}

// cutoff returns the time, in Unix nanoseconds, before which a position is
// stale now.
func (ix *Index) cutoff() int64 {
	return nanos(ix.clock.Now().Add(-ix.staleAfter))
}

// nanos returns t in Unix nanoseconds, clamped to int64 where UnixNano
// is undefined (before 1678 or after 2262).
func nanos(t time.Time) int64 {
	switch s := t.Unix(); {
	case s < math.MinInt64/int64(time.Second)+1:
		return math.MinInt64 + 1
	case s > math.MaxInt64/int64(time.Second)-1:
		return math.MaxInt64
	}
	return t.UnixNano()
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Nearest returns up to k units nearest to p in a straight line, nearest
// first (ties by unit ID), leaving out units with stale or no positions and
// those keep rejects (nil keeps all). keep runs under the index's read lock:
// it must not keep the pointer, modify the unit or call the index.
func (ix *Index) Nearest(p zhufang.Point, k int, keep func(*UnitView) bool) []Candidate {
	if k <= 0 || p.Validate() != nil {
		return nil
	}
	cutoff := ix.cutoff()
	var buf [16]hit
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	top := ix.nearestLocked(p, k, keep, cutoff, buf[:0:min(k, len(buf))])
	out := make([]Candidate, len(top))
	for i, h := range top {
		out[i] = Candidate{UnitView: ix.view(&ix.units[h.idx], cutoff), Meters: chordMeters(h.c2)}
	}
	return out
}

// Near is a unit found by NearestIDs: its ID and straight-line distance.
type Near struct {
	ID     int64
	Meters float64
}

// NearestIDs is Nearest for callers that need only who and how far: it
// appends to dst and copies no unit data, which is half the cost of a
// search when the answer is five units.
func (ix *Index) NearestIDs(dst []Near, p zhufang.Point, k int, keep func(*UnitView) bool) []Near {
	if k <= 0 || p.Validate() != nil {
		return dst
	}
	cutoff := ix.cutoff()
	var buf [16]hit
	ix.mu.RLock()
	top := ix.nearestLocked(p, k, keep, cutoff, buf[:0:min(k, len(buf))])
	ix.mu.RUnlock()
	for _, h := range top {
		dst = append(dst, Near{ID: h.id, Meters: chordMeters(h.c2)})
	}
	return dst
}

// nearestLocked finds the k nearest fresh units that keep accepts, nearest
// first, into top. The caller holds the read lock.
func (ix *Index) nearestLocked(p zhufang.Point, k int, keep func(*UnitView) bool, cutoff int64, top []hit) []hit {
	if k > cap(top) {
		top = make([]hit, 0, k)
	}
	q := toVec(p)
	ix.search(p, func(es []entry) {
		for j := range es {
			e := &es[j]
			if e.at < cutoff {
				continue
			}
			c2 := chord2(q, e.v)
			if len(top) == k && c2 > top[k-1].c2 {
				continue
			}
			rec := &ix.units[e.idx]
			h := hit{c2: c2, id: rec.view.ID, idx: e.idx}
			if len(top) == k && !h.less(top[k-1]) {
				continue
			}
			if keep != nil && !keep(&rec.view) {
				continue
			}
			top = insert(top, k, h)
		}
	}, func(b bound) bool {
		return len(top) < k || b.chord2() <= top[k-1].c2
	})
	return top
}

// search reads the units around p for a query, nearest cells first, as
// grid.walk does, and when the rings grow costlier than reading every unit
// it reads the units the rings have not reached one by one. The caller
// holds the read lock.
func (ix *Index) search(p zhufang.Point, visit func([]entry), more func(bound) bool) {
	// Reading a cell costs a slice header; reading a unit on its own a jump
	// to its record and its cell: about four times as much.
	budget := max(4*len(ix.units), 256)
	rg, done := ix.grid.walk(ix.cells, p, budget, visit, more)
	if done {
		return
	}
	for i := range ix.units {
		rec := &ix.units[i]
		if rec.cell >= 0 && !ix.grid.holds(rg, rec.cell) {
			visit(ix.cells[rec.cell][rec.slot : rec.slot+1])
		}
	}
}

// hit is a unit found by Nearest.
type hit struct {
	c2  float64
	id  int64
	idx int32
}

func (a hit) less(b hit) bool { return a.c2 < b.c2 || (a.c2 == b.c2 && a.id < b.id) }

// insert puts h in its place in top, which holds at most k hits in order;
// k is small, so moving a few hits beats a heap.
func insert(top []hit, k int, h hit) []hit {
	if len(top) < k {
		top = append(top, h)
	} else {
		top[k-1] = h
	}
	for i := len(top) - 1; i > 0 && top[i].less(top[i-1]); i-- {
		top[i], top[i-1] = top[i-1], top[i]
	}
	return top
}
