package zhufang_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"zhufang"
)

func TestEveryTransition(t *testing.T) {
	legal := map[[2]zhufang.IncidentState]bool{}
	for _, p := range [][2]zhufang.IncidentState{
		{"received", "dispatched"}, {"received", "cancelled"}, {"received", "duplicate"}, {"received", "redirected"},
		{"dispatched", "acknowledged"}, {"dispatched", "cancelled"}, {"dispatched", "duplicate"}, {"dispatched", "redirected"},
		{"acknowledged", "on_scene"}, {"acknowledged", "handling"}, {"acknowledged", "cancelled"}, {"acknowledged", "redirected"},
		{"on_scene", "handling"}, {"handling", "feedback"}, {"feedback", "closed"},
	} {
		legal[p] = true
	}
	for _, from := range zhufang.IncidentStates {
		for _, to := range zhufang.IncidentStates {
			err := zhufang.CheckTransition(from, to)
			if legal[[2]zhufang.IncidentState{from, to}] {
				if err != nil {
					t.Errorf("%s → %s refused: %v", from, to, err)
				}
				continue
			}
			if zhufang.ErrorCode(err) != zhufang.ECONFLICT || !strings.Contains(zhufang.ErrorMessage(err), string(from)) {
				t.Errorf("%s → %s: got %v, want ECONFLICT naming %s", from, to, err, from)
			}
		}
	}
	if err := zhufang.CheckTransition(zhufang.StateReceived, "teleported"); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Errorf("unknown state: %v", err)
	}
	for _, s := range []zhufang.IncidentState{"closed", "cancelled", "duplicate", "redirected"} {
		if !s.Terminal() {
			t.Errorf("%s is not terminal", s)
		}
	}
}

func TestIncidentValidate(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	good := func() *zhufang.Incident {
		return &zhufang.Incident{Source: zhufang.SourceCall110, ReceivedAt: now.Add(-time.Minute), CallerPhone: "13812345678",
			Address: "冷水滩区梅湾路1号", Position: zhufang.Point{Lon: 111.6, Lat: 26.43}, Category: "200100", Description: "两人打架"}
	}
	if err := good().Validate(now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mangle func(*zhufang.Incident)
		says   string
	}{
		{"unknown source", func(i *zhufang.Incident) { i.Source = "pigeon" }, "source"},
		{"no time", func(i *zhufang.Incident) { i.ReceivedAt = time.Time{} }, "needs the time"},
		{"future", func(i *zhufang.Incident) { i.ReceivedAt = now.Add(time.Hour) }, "future"},
		{"far past", func(i *zhufang.Incident) { i.ReceivedAt = now.AddDate(-1, 0, 0) }, "30 days"},
		{"off the planet", func(i *zhufang.Incident) { i.Position.Lat = 91 }, "off the planet"},
		{"bad phone", func(i *zhufang.Incident) { i.CallerPhone = "call me" }, "phone"},
		{"huge description", func(i *zhufang.Incident) { i.Description = strings.Repeat("打", 5000) }, "at most"},
		{"invalid utf-8", func(i *zhufang.Incident) { i.Address = "\xff\xfe" }, "valid text"},
		{"nowhere", func(i *zhufang.Incident) { i.Address = " "; i.Position = zhufang.Point{} }, "address or a position"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := good()
			tt.mangle(inc)
			err := inc.Validate(now)
			if zhufang.ErrorCode(err) != zhufang.EINVALID || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v, want EINVALID saying %q", err, tt.says)
			}
		})
	}
}

func TestMaskPhone(t *testing.T) {
	// Every length from empty to 15 digits: a number shorter than a mobile
	// number shows nothing, a longer one only its last four digits, and the
	// shape never tells the length.
	digits := "861381234567890"
	for n := 0; n <= len(digits); n++ {
		in := digits[:n]
		want := "****"
		switch {
		case n == 0:
			want = ""
		case n >= 11:
			want = "****" + in[n-4:]
		}
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			if got := zhufang.MaskPhone(in); got != want {
				t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
			}
			if got := zhufang.MaskPhone("+" + in); n > 0 && got != want {
				t.Errorf("MaskPhone(%q) = %q, want %q", "+"+in, got, want)
			}
		})
	}
}

func TestMaskName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"blank", "  ", ""},
		{"one character", "张", "***"},
		{"two characters", "张三", "张**"},
		{"three characters", "张三丰", "张**"},
		{"compound surname", "欧阳修文", "欧**"},
		{"one letter", "J", "***"},
		{"latin", "John Smith", "J**"},
		{"latin, spaced", "  Li Wei ", "L**"},
		{"uyghur", "ئەخمەت", "ئ**"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := zhufang.MaskName(tt.in); got != tt.want {
				t.Errorf("MaskName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
