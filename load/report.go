package load

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteText prints the summary of a run for people; record names the
// record file, if there is one.
func (r Report) WriteText(w io.Writer, record string) {
	fails := func(c Count) string {
		f := c.Failures
		return fmt.Sprintf("%d failed (refused/reset %d, 5xx %d, 4xx %d, timeout %d, other %d)", c.Failed, f.Refused, f.Server, f.Client, f.Timeout, f.Other)
	}
	fmt.Fprintf(w, "load: %.1f s against %s\n", r.Seconds, strings.Join(r.URLs, ", "))
	fmt.Fprintf(w, "intakes:      %d attempted, %d acknowledged (%.1f/s), %s, %d behind\n",
		r.Intakes.Attempted, r.Intakes.Acknowledged, r.IntakeRate, fails(r.Intakes), r.Intakes.Behind)
	fmt.Fprintf(w, "transitions:  %d acknowledged, %s\n", r.Transitions.Acknowledged, fails(r.Transitions))
	fmt.Fprintf(w, "positions:    %d of %d accepted (%.1f/s) in %d requests, %s, %d behind\n",
		r.Accepted, r.Sent, r.PosRate, r.Positions.Attempted, fails(r.Positions), r.Positions.Behind)
	fmt.Fprintf(w, "intake latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	if len(r.URLs) > 1 {
		for _, u := range r.URLs {
			c := r.ByURL[u]
			fmt.Fprintf(w, "  %s: %d intakes acknowledged, %d failed\n", u, c.Acknowledged, c.Failed)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.FirstErrors)) {
		fmt.Fprintf(w, "first %s error: %s\n", k, r.FirstErrors[k])
	}
	if record != "" {
		fmt.Fprintf(w, "record: %d lines appended to %s\n", r.Records, record)
	}
}
