package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// progressBar shows how far a long job has got. On a terminal it redraws
// a one-line bar. Anywhere else (a file, a pipe, a service manager's
// journal) a bar is noise, but silence for the minute a history takes
// looks like a hang: there it logs a line at most every logStep percent
// and logEvery, whichever comes later, so a job of a few seconds says
// nothing and a long one says how far it is and how long it has taken.
type progressBar struct {
	w            io.Writer    // the terminal, or nil
	log          *slog.Logger // when not a terminal, or nil
	label        string
	unit         string // what a step is, when not obvious from the label
	total, shown int
	start        time.Time
	now          func() time.Time // the clock; tests set their own
	logged       int              // the percentage last logged
	loggedAt     time.Time
	said         bool // a progress line was logged
}

// The least progress and time between two logged progress lines.
const (
	logStep  = 10
	logEvery = 5 * time.Second
)

// newProgress shows the progress of a job of total steps on w if it is a
// terminal, and otherwise through log (if not nil).
func newProgress(w io.Writer, log *slog.Logger, label string, total int) *progressBar {
	p := &progressBar{label: label, total: total, shown: -1, now: time.Now}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p.w = w
	} else {
		p.log = log
	}
	p.start = p.now()
	p.loggedAt = p.start
	return p
}

// set says that done of the total steps are done.
func (p *progressBar) set(done int) {
	if p.total == 0 {
		return
	}
	pct := done * 100 / p.total
	if p.log != nil {
		if now := p.now(); pct-p.logged >= logStep && now.Sub(p.loggedAt) >= logEvery {
			p.logged, p.loggedAt, p.said = pct, now, true
			args := []any{"job", p.label, "percent", pct, "done", done, "of", p.total}
			if p.unit != "" {
				args = append(args, "unit", p.unit)
			}
			p.log.Info("progress", append(args, "elapsed", now.Sub(p.start).Round(time.Second).String())...)
		}
		return
	}
	if p.w == nil || pct == p.shown {
		return
	}
	p.shown = pct
	const width = 30
	filled := pct * width / 100
	bar := make([]rune, width)
	for i := range bar {
		bar[i] = '·'
		if i < filled {
			bar[i] = '█'
		}
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3d%% %d/%d %.0fs", p.label, string(bar), pct, done, p.total, time.Since(p.start).Seconds())
}

// done ends the bar's line on a terminal; in a log, a job that told its
// progress tells that it ended (the caller says whether it failed).
func (p *progressBar) done() {
	if p.w != nil && p.shown >= 0 {
		fmt.Fprintln(p.w)
	}
	if p.said {
		p.log.Info("ended", "job", p.label, "elapsed", p.now().Sub(p.start).Round(time.Second).String())
	}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
