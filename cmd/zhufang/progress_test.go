package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestProgressInALog runs jobs of 100 steps with their progress going to
// a writer that is not a terminal (a file, a pipe, a journal): no bar is
// drawn, and a line is logged at most every 10% and 5 s, whichever comes
// later; a job too short to log any says nothing at all.
func TestProgressInALog(t *testing.T) {
	tests := []struct {
		name string
		step time.Duration // how long each of the 100 steps takes
		want []string      // the percentages logged
	}{
		{"slow: every 10%", 2 * time.Second, []string{"10", "20", "30", "40", "50", "60", "70", "80", "90", "100"}},
		{"fast: every 5 s", 100 * time.Millisecond, []string{"50", "100"}},
		{"1 s a step: every 10%, 10 s apart", time.Second, []string{"10", "20", "30", "40", "50", "60", "70", "80", "90", "100"}},
		{"brief: silent", 40 * time.Millisecond, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w, log bytes.Buffer // w stands for stderr redirected to a file
			now := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
			bar := newProgress(&w, slog.New(slog.NewTextHandler(&log, nil)), "history", 100)
			bar.now = func() time.Time { return now }
			bar.start, bar.loggedAt = now, now
			for i := 1; i <= 100; i++ {
				now = now.Add(tt.step)
				bar.set(i)
			}
			bar.done()
			if w.Len() != 0 {
				t.Fatalf("a bar was drawn on a writer that is not a terminal: %q", w.String())
			}
			var got []string
			lines := strings.Split(strings.TrimSpace(log.String()), "\n")
			for _, l := range lines {
				if _, rest, ok := strings.Cut(l, "msg=progress job=history percent="); ok {
					got = append(got, strings.Fields(rest)[0])
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("percentages logged (-want +got):\n%s\n%s", diff, log.String())
			}
			ended := strings.Contains(log.String(), "msg=ended job=history elapsed=")
			if ended != (tt.want != nil) {
				t.Fatalf("ended logged: %v, want %v:\n%s", ended, tt.want != nil, log.String())
			}
		})
	}
}
