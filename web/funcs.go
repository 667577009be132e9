package web

import (
	"html/template"
	"strconv"
	"time"

	"zhufang"
)

// templateFuncs are the language-independent template functions.
var templateFuncs = template.FuncMap{
	"num": groupDigits,
	// clock writes a time of day in China time, as the command room reads it.
	"clock": clockText,
	// datetime writes a date and time in China time.
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(zhufang.ChinaTime).Format("2006-01-02 15:04:05")
	},
	// iso writes a time for the page's script.
	"iso": isoTime,
	// mmss writes a duration as minutes and seconds.
	"mmss": mmss,
	"secs": func(d time.Duration) int64 { return int64(d / time.Second) },
	"f1":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"km":   func(m float64) string { return strconv.FormatFloat(m/1000, 'f', 1, 64) },
	"add":  func(a, b int) int { return a + b },
	"kmh":  func(ms float64) float64 { return ms * 3.6 },
	// of reads a per-stage count, as index would if it could convert a
	// stage's name.
	"of": func(m map[zhufang.Stage]int, stage string) int { return m[zhufang.Stage(stage)] },
	// result names how a stage went: met, breached, or still open.
	"result": func(r zhufang.StageResult) string {
		switch {
		case r.Met:
			return "met"
		case r.Breached:
			return "breached"
		case r.Due.IsZero(): // its lane does not clock it
			return "none"
		case r.Reached.IsZero():
			return "open"
		}
		return "none"
	},
}

// clockText writes a time of day in China time.
func clockText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(zhufang.ChinaTime).Format("15:04:05")
}

// isoTime writes a time for the page's script, "" for none.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// mmss writes a duration as minutes and seconds, as the clocks show it.
func mmss(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	d = d.Truncate(time.Second)
	s := pad2(int(d/time.Minute)) + ":" + pad2(int(d%time.Minute/time.Second))
	if neg {
		return "-" + s
	}
	return s
}

func pad2(n int) string {
	if n < 10 {
		return "0" + string(rune('0'+n))
	}
	return groupDigits(n)
}
