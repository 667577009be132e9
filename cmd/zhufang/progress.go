package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress draws a one-line progress bar when its writer is a terminal.
type progressBar struct {
	w            io.Writer
	label        string
	total, shown int
	start        time.Time
}

func newProgress(w io.Writer, label string, total int) *progressBar {
	if f, ok := w.(*os.File); !ok || !isTerminal(f) {
		w = nil
	}
	return &progressBar{w: w, label: label, total: total, shown: -1, start: time.Now()}
}

func (p *progressBar) set(done int) {
	if p.w == nil || p.total == 0 {
		return
	}
	pct := done * 100 / p.total
	if pct == p.shown {
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

func (p *progressBar) done() {
	if p.w != nil && p.shown >= 0 {
		fmt.Fprintln(p.w)
	}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
