package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"time"

	"zhufang"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/sqlstore"
)

// loadModel reads the demo city's record and communities from the
// database and makes its incident model, with the category table of fsys.
func loadModel(ctx context.Context, db *sqlstore.DB, fsys fs.FS) (*demo.Model, zhufang.DemoCity, error) {
	rec, err := db.FindDemoCity(ctx)
	if err != nil {
		return nil, rec, err
	}
	anchor, err := rec.Anchor()
	if err != nil {
		return nil, rec, err
	}
	cats, err := loadCategories(fsys)
	if err != nil {
		return nil, rec, err
	}
	comms, err := db.FindCommunities(ctx, zhufang.CommunityFilter{WithArea: true})
	if err != nil {
		return nil, rec, err
	}
	m, err := demo.NewModel(rec.Seed, anchor, comms, cats)
	return m, rec, err
}

// buildHistory draws days of history ending on the anchor day and stores
// them, showing progress on a terminal.
func buildHistory(ctx context.Context, db *sqlstore.DB, m *demo.Model, days int, progress io.Writer) (int64, error) {
	if days == 0 {
		return 0, nil
	}
	stations, err := db.FindStations(ctx)
	if err != nil {
		return 0, err
	}
	units, err := db.FindUnits(ctx, 0)
	if err != nil {
		return 0, err
	}
	est := dispatch.DefaultEstimator()
	h := demo.NewHistory(m, zhufang.DefaultTriage(), zhufang.DefaultZoneProfiles(), stations, units, est.ETA)
	first := m.Anchor().AddDate(0, 0, -(days - 1))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Days are drawn in parallel and stored in order, so that IDs follow
	// time.
	results := make([]chan []zhufang.PastIncident, days)
	for i := range results {
		results[i] = make(chan []zhufang.PastIncident, 1)
	}
	errc := make(chan error, 1)
	next := make(chan int)
	workers := max(1, runtime.GOMAXPROCS(0))
	// Days are handed out in order, each after taking a place in ahead,
	// which bounds the days held in memory.
	ahead := make(chan struct{}, 4*workers)
	go func() {
		defer close(next)
		for i := range days {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		go func() {
			for i := range next {
				day, err := h.Day(first.AddDate(0, 0, i))
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					cancel()
					return
				}
				results[i] <- day
			}
		}()
	}
	batches := make(chan []zhufang.PastIncident)
	go func() {
		defer close(batches)
		bar := newProgress(progress, "history", days)
		defer bar.done()
		for i := range days {
			select {
			case day := <-results[i]:
				<-ahead
				select {
				case batches <- day:
				case <-ctx.Done():
					return
				}
				bar.set(i + 1)
			case <-ctx.Done():
				return
			}
		}
	}()
	n, err := db.ImportHistory(ctx, batches)
	select {
	case gerr := <-errc:
		return 0, gerr
	default:
	}
	return n, err
}

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
