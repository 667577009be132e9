package posture

import (
	"slices"

	"zhufang"
)

// maxExact is the most candidates Exact takes. The search is exponential in
// the worst case; beyond this size it can run for minutes.
const maxExact = 40

// Exact returns an optimal solution of p by branch and bound. It refuses,
// with an EINVALID error, problems with more than 40 candidates. It exists
// to measure Solve; it is too slow for dispatch.
func Exact(p Problem) (Solution, error) {
	if err := p.Validate(); err != nil {
		return Solution{}, err
	}
	if len(p.Covers) > maxExact {
		return Solution{}, zhufang.Errorf(zhufang.EINVALID, "exact search takes at most %d candidates; this problem has %d", maxExact, len(p.Covers))
	}
	s := newState(p)
	for _, j := range p.Fixed {
		s.add(j)
	}
	var rest []int
	for j := range p.Covers {
		if !s.chosen[j] {
			rest = append(rest, j)
		}
	}
	b := &brancher{state: s, best: -1}
	b.search(rest, p.P-len(p.Fixed), 0)
	for j := range s.chosen {
		s.chosen[j] = false
	}
	clear(s.count)
	for _, j := range b.bestSet {
		s.add(j)
	}
	return s.solution(), nil
}

// brancher searches the subsets of the candidates not yet decided,
// remembering the best set found.
type brancher struct {
	*state
	best    float64 // weight covered by bestSet, on top of the fixed candidates
	bestSet []int
}

// candGain is a candidate with its gain on the current set.
type candGain struct {
	cand int
	gain float64
}

// search extends the current set by at most slots of the candidates in
// rest; cov is the weight the current set adds to the fixed ones. Gains only
// shrink as candidates are added, so the current weight plus the slots
// largest gains bounds every extension; a branch whose bound does not beat
// the best set is dropped. The search branches on the candidate of largest
// gain, taking it first, so the first set it reaches is the greedy one.
func (b *brancher) search(rest []int, slots int, cov float64) {
	gains := make([]candGain, 0, len(rest))
	for _, j := range rest {
		// A candidate that adds nothing now never will.
		if g := b.gain(j); g > 0 {
			gains = append(gains, candGain{j, g})
		}
	}
	slices.SortFunc(gains, func(x, y candGain) int {
		if x.gain != y.gain {
			if x.gain > y.gain {
				return -1
			}
			return 1
		}
		return x.cand - y.cand
	})
	bound := cov
	for _, cg := range gains[:min(slots, len(gains))] {
		bound += cg.gain
	}
	if bound <= b.best {
		return
	}
	if slots == 0 || len(gains) == 0 {
		b.best = cov
		b.bestSet = b.picks()
		return
	}
	next := make([]int, len(gains)-1)
	for i, cg := range gains[1:] {
		next[i] = cg.cand
	}
	first := gains[0]
	b.add(first.cand)
	b.search(next, slots-1, cov+first.gain)
	b.remove(first.cand)
	b.search(next, slots, cov)
}

func (b *brancher) picks() []int {
	var set []int
	for j, c := range b.chosen {
		if c {
			set = append(set, j)
		}
	}
	return set
}
