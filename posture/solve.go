// Package posture chooses where idle units wait: of the candidate waiting
// points (快反 points), it picks those that put as much expected incident
// demand as possible within a short drive of some unit. That is the maximal
// covering location problem (Church and ReVelle, 1974).
//
// Solve is the fast heuristic run on every dispatch; Exact is a branch and
// bound for small problems, which the tests use to measure Solve's gap.
package posture

import (
	"math"

	"zhufang"
)

// maxSwapPasses bounds the interchange search. Each pass costs about one
// reading of the cover lists; on the instances we measured, almost every
// improvement comes in the first two passes.
const maxSwapPasses = 8

// swapTolerance is the share of the total demand weight a swap must gain to
// be taken. It lies well above the rounding of a sum of many weights, so that
// two sets of equal coverage are never swapped back and forth.
const swapTolerance = 1e-12

// Problem is a maximal covering location problem: choose at most P of the
// candidate points so that the total weight of the demand they cover is greatest.
type Problem struct {
	Weights []float64 // weight of each demand point (expected incidents); non-negative
	Covers  [][]int32 // for each candidate point, the sorted, distinct indexes of the demand points it covers
	P       int       // how many candidates to choose
	// Fixed lists candidates that must be chosen (units that cannot move, e.g. busy at a scene); they count toward P.
	Fixed []int
}

// Solution is a set of chosen candidates and the demand weight they cover.
type Solution struct {
	Chosen  []int   // candidate indexes, ascending
	Covered float64 // total weight of demand covered by at least one chosen candidate
}

// Validate reports, as an EINVALID error, the first flaw that makes p
// unsolvable: a weight that is negative or not finite, a cover list that is
// unsorted, repeats a point or names one out of range, a negative P, or a
// fixed candidate out of range, repeated, or beyond P.
func (p Problem) Validate() error {
	if p.P < 0 {
		return zhufang.Errorf(zhufang.EINVALID, "the number of units to place is negative (%d)", p.P)
	}
	for k, w := range p.Weights {
		// Infinite weights would turn gains into Inf−Inf = NaN.
		if !(w >= 0) || math.IsInf(w, 1) {
			return zhufang.Errorf(zhufang.EINVALID, "demand point %d has weight %v; weights must be finite and non-negative", k, w)
		}
	}
	if err := p.validateCovers(); err != nil {
		return err
	}
	return p.validateFixed()
}

func (p Problem) validateCovers() error {
	m := len(p.Weights)
	for j, cover := range p.Covers {
		for i, k := range cover {
			if k < 0 || int(k) >= m {
				return zhufang.Errorf(zhufang.EINVALID, "candidate %d covers demand point %d; there are %d demand points", j, k, m)
			}
			if i > 0 && k <= cover[i-1] {
				return zhufang.Errorf(zhufang.EINVALID, "the cover list of candidate %d is not sorted and distinct at position %d", j, i)
			}
		}
	}
	return nil
}

func (p Problem) validateFixed() error {
	n := len(p.Covers)
	if len(p.Fixed) > p.P {
		return zhufang.Errorf(zhufang.EINVALID, "%d candidates are fixed but only %d may be chosen", len(p.Fixed), p.P)
	}
	seen := make([]bool, n)
	for _, j := range p.Fixed {
		if j < 0 || j >= n {
			return zhufang.Errorf(zhufang.EINVALID, "fixed candidate %d does not exist; there are %d candidates", j, n)
		}
		if seen[j] {
			return zhufang.Errorf(zhufang.EINVALID, "candidate %d is fixed twice", j)
		}
		seen[j] = true
	}
	return nil
}

// Coverage returns the total weight of the demand points covered by at least
// one of the chosen candidates. A candidate given twice counts once. Every
// index must name a candidate of p.
func Coverage(p Problem, chosen []int) float64 {
	hit := make([]bool, len(p.Weights))
	for _, j := range chosen {
		for _, k := range p.Covers[j] {
			hit[k] = true
		}
	}
	total := 0.0
	for k, h := range hit {
		if h {
			total += p.Weights[k]
		}
	}
	return total
}

// Solve chooses at most p.P candidates, always including p.Fixed, by lazy
// greedy (CELF) followed by 1-swap interchange (Teitz and Bart). It stops
// choosing when no candidate adds weight, so when P is at least the number
// of candidates it covers everything that can be covered. Equal choices go
// to the lower candidate index, so the same problem always gets the same
// answer. Greedy alone reaches at least 1−1/e of the optimum; the interchange
// narrows the rest (see the tests for the gap measured against Exact).
func Solve(p Problem) (Solution, error) {
	if err := p.Validate(); err != nil {
		return Solution{}, err
	}
	s := newState(p)
	fixed := make([]bool, len(p.Covers))
	for _, j := range p.Fixed {
		s.add(j)
		fixed[j] = true
	}
	slots := p.P - len(p.Fixed)
	// Greedy stops short of P only when nothing left adds weight; then
	// the coverage is already the most possible and swaps cannot help.
	if s.greedy(slots) == slots && slots > 0 {
		newSwapper(s, fixed).run()
	}
	return s.solution(), nil
}

// state is a set of chosen candidates with, for each demand point, how many
// of them cover it.
type state struct {
	w      []float64
	covers [][]int32
	count  []int32
	chosen []bool
}

func newState(p Problem) *state {
	return &state{
		w:      p.Weights,
		covers: p.Covers,
		count:  make([]int32, len(p.Weights)),
		chosen: make([]bool, len(p.Covers)),
	}
}

// gain is the weight candidate j would add: that of its uncovered points.
func (s *state) gain(j int) float64 {
	g := 0.0
	for _, k := range s.covers[j] {
		if s.count[k] == 0 {
			g += s.w[k]
		}
	}
	return g
}

func (s *state) add(j int) {
	s.chosen[j] = true
	for _, k := range s.covers[j] {
		s.count[k]++
	}
}

func (s *state) remove(j int) {
	s.chosen[j] = false
	for _, k := range s.covers[j] {
		s.count[k]--
	}
}

// solution sums the covered weight afresh, in demand order, so that it
// equals Coverage of the same set exactly.
func (s *state) solution() Solution {
	chosen := []int{}
	for j, c := range s.chosen {
		if c {
			chosen = append(chosen, j)
		}
	}
	covered := 0.0
	for k, c := range s.count {
		if c > 0 {
			covered += s.w[k]
		}
	}
	return Solution{Chosen: chosen, Covered: covered}
}

// greedy adds up to slots candidates, each time the one of greatest gain,
// and returns how many it added. Gains only shrink as candidates are added,
// so a stale gain is an upper bound: a candidate whose gain, recomputed for
// the current round, still tops the heap is the best (CELF, Leskovec et al.
// 2007). That usually spares recomputing all but a few gains per round.
func (s *state) greedy(slots int) int {
	h := make(gainHeap, 0, len(s.covers))
	for j := range s.covers {
		if s.chosen[j] {
			continue
		}
		if g := s.gain(j); g > 0 {
			h = append(h, gainEntry{gain: g, cand: j})
		}
	}
	h.init()
	round := 0
	for round < slots && len(h) > 0 {
		top := &h[0]
		if top.round == round {
			s.add(top.cand)
			h.pop()
			round++
			continue
		}
		g := s.gain(top.cand)
		if g <= 0 {
			// A candidate with nothing to add never gains again.
			h.pop()
			continue
		}
		top.gain, top.round = g, round
		h.down(0)
	}
	return round
}

// gainEntry is a candidate's gain as computed in a given greedy round.
type gainEntry struct {
	gain  float64
	cand  int
	round int
}

// gainHeap is a max-heap of gains; of equal gains the lower candidate index
// comes first, which makes greedy's choice among ties deterministic.
type gainHeap []gainEntry

func (h gainHeap) less(a, b int) bool {
	if h[a].gain != h[b].gain {
		return h[a].gain > h[b].gain
	}
	return h[a].cand < h[b].cand
}

func (h gainHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h gainHeap) down(i int) {
	for {
		best, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h.less(l, best) {
			best = l
		}
		if r < len(h) && h.less(r, best) {
			best = r
		}
		if best == i {
			return
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
}

func (h *gainHeap) pop() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	*h = old[:n]
	h.down(0)
}

// swapper runs the interchange search over a full greedy solution. For
// speed it keeps, for each unchosen candidate, its gain on the current set
// (free), and finds which candidates share a point with the one considered
// for removal through an index from demand points to the candidates that
// cover them.
type swapper struct {
	*state
	fixed   []bool
	start   []int   // candidates covering point k are by[start[k]:start[k+1]]
	by      []int32 // candidate indexes, ascending within each point
	free    []float64
	top     int       // the unchosen candidate of greatest free gain, or -1
	extra   []float64 // scratch: weight a candidate would win back from the removed one
	touched []int32   // candidates whose extra is set
	dirty   []bool
	redo    []int32 // candidates whose free gain must be recomputed
	minGain float64
}

func newSwapper(s *state, fixed []bool) *swapper {
	n := len(s.covers)
	sw := &swapper{
		state: s,
		fixed: fixed,
		free:  make([]float64, n),
		extra: make([]float64, n),
		dirty: make([]bool, n),
	}
	sw.index()
	total := 0.0
	for _, w := range s.w {
		total += w
	}
	sw.minGain = swapTolerance * total
	for j := range n {
		if !s.chosen[j] {
			sw.free[j] = s.gain(j)
		}
	}
	sw.top = sw.best()
	return sw
}

// index builds the point-to-candidates index in compressed-row form.
func (sw *swapper) index() {
	m := len(sw.w)
	sw.start = make([]int, m+1)
	for _, cover := range sw.covers {
		for _, k := range cover {
			sw.start[k+1]++
		}
	}
	for k := range m {
		sw.start[k+1] += sw.start[k]
	}
	sw.by = make([]int32, sw.start[m])
	next := make([]int, m)
	copy(next, sw.start[:m])
	for j, cover := range sw.covers {
		for _, k := range cover {
			sw.by[next[k]] = int32(j)
			next[k]++
		}
	}
}

// best returns the unchosen candidate of greatest free gain, lowest index
// first, or -1 when every candidate is chosen.
func (sw *swapper) best() int {
	top := -1
	for j, c := range sw.chosen {
		if !c && (top < 0 || sw.free[j] > sw.free[top]) {
			top = j
		}
	}
	return top
}

// run makes passes over the movable chosen candidates, replacing each by the
// best unchosen one whenever that raises coverage, until a pass changes
// nothing or the pass budget is spent. A pass that changes nothing leaves a
// set that no single swap improves.
func (sw *swapper) run() {
	for range maxSwapPasses {
		improved := false
		for i := range sw.covers {
			if !sw.chosen[i] || sw.fixed[i] {
				continue
			}
			if j := sw.replacement(i); j >= 0 {
				sw.swap(i, j)
				improved = true
			}
		}
		if !improved {
			return
		}
	}
}

// replacement returns the unchosen candidate whose swap for chosen i gains
// the most, or -1 if no swap gains more than minGain. Removing i loses the
// points only i covers; candidate j then adds its free gain plus those of
// i's lost points it covers (extra). Only candidates sharing a lost point
// have an extra, so the rest compete through their free gain alone, whose
// best is sw.top.
func (sw *swapper) replacement(i int) int {
	loss := 0.0
	for _, k := range sw.covers[i] {
		if sw.count[k] != 1 || sw.w[k] == 0 {
			continue
		}
		loss += sw.w[k]
		for _, c := range sw.by[sw.start[k]:sw.start[k+1]] {
			if sw.chosen[c] {
				continue
			}
			if sw.extra[c] == 0 {
				sw.touched = append(sw.touched, c)
			}
			sw.extra[c] += sw.w[k]
		}
	}
	bestJ, bestV := sw.top, math.Inf(-1)
	if bestJ >= 0 {
		bestV = sw.free[bestJ]
	}
	for _, c := range sw.touched {
		j := int(c)
		v := sw.free[j] + sw.extra[j]
		if v > bestV || v == bestV && j < bestJ {
			bestJ, bestV = j, v
		}
		sw.extra[j] = 0
	}
	sw.touched = sw.touched[:0]
	if bestJ < 0 || bestV-loss <= sw.minGain {
		return -1
	}
	return bestJ
}

// swap replaces chosen i by unchosen j and recomputes the free gains that
// changed: those of candidates covering a point that became uncovered or
// newly covered, and that of i itself.
func (sw *swapper) swap(i, j int) {
	sw.chosen[i] = false
	for _, k := range sw.covers[i] {
		sw.count[k]--
		if sw.count[k] == 0 {
			sw.markPoint(k)
		}
	}
	sw.chosen[j] = true
	for _, k := range sw.covers[j] {
		sw.count[k]++
		if sw.count[k] == 1 {
			sw.markPoint(k)
		}
	}
	sw.mark(int32(i))
	for _, c := range sw.redo {
		sw.dirty[c] = false
		if !sw.chosen[c] {
			sw.free[c] = sw.gain(int(c))
		}
	}
	sw.redo = sw.redo[:0]
	sw.top = sw.best()
}

func (sw *swapper) markPoint(k int32) {
	if sw.w[k] == 0 {
		return
	}
	for _, c := range sw.by[sw.start[k]:sw.start[k+1]] {
		sw.mark(c)
	}
}

func (sw *swapper) mark(c int32) {
	if !sw.dirty[c] {
		sw.dirty[c] = true
		sw.redo = append(sw.redo, c)
	}
}
