package load

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"zhufang"

	"github.com/google/go-cmp/cmp"
)

// TestLoadRecordParse: what a record line must be.
func TestLoadRecordParse(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 123456000, time.UTC)
	tests := []struct {
		name, line string
		want       Record
		err        string
	}{
		{"received", `{"id":1,"received_at":"2026-03-01T08:00:00.123456Z","states":["received"]}`,
			Record{ID: 1, ReceivedAt: at, States: []zhufang.IncidentState{"received"}}, ""},
		{"acknowledged", `{"id":42,"received_at":"2026-03-01T16:00:00.123456+08:00","states":["received","dispatched","acknowledged"],"url":"http://a:1"}`,
			Record{ID: 42, ReceivedAt: at, States: []zhufang.IncidentState{"received", "dispatched", "acknowledged"}, URL: "http://a:1"}, ""},
		{"not JSON", `id=1`, Record{}, "not a load record"},
		{"two objects", `{"id":1,"received_at":"2026-03-01T08:00:00Z","states":["received"]} {}`, Record{}, "more than one JSON value"},
		{"unknown field", `{"id":1,"received_at":"2026-03-01T08:00:00Z","states":["received"],"extra":1}`, Record{}, `unknown field "extra"`},
		{"no id", `{"received_at":"2026-03-01T08:00:00Z","states":["received"]}`, Record{}, "id must be a positive"},
		{"negative id", `{"id":-3,"received_at":"2026-03-01T08:00:00Z","states":["received"]}`, Record{}, "id must be a positive"},
		{"id too big", `{"id":99999999999999999999,"received_at":"2026-03-01T08:00:00Z","states":["received"]}`, Record{}, "not a load record"},
		{"no time", `{"id":1,"states":["received"]}`, Record{}, "received_at is missing"},
		{"bad time", `{"id":1,"received_at":"yesterday","states":["received"]}`, Record{}, "not a load record"},
		{"no states", `{"id":1,"received_at":"2026-03-01T08:00:00Z","states":[]}`, Record{}, "states must start with received"},
		{"starts late", `{"id":1,"received_at":"2026-03-01T08:00:00Z","states":["dispatched"]}`, Record{}, "states must start with received"},
		{"unknown state", `{"id":1,"received_at":"2026-03-01T08:00:00Z","states":["received","lost"]}`, Record{}, `cannot go from "received" to "lost"`},
		{"null", `null`, Record{}, "id must be a positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecord([]byte(tt.line))
			if tt.err != "" {
				if err == nil || !strings.Contains(zhufang.ErrorMessage(err), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadHistoryGap: what counts as an incident stored whole.
func TestLoadHistoryGap(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	rec := func(states ...zhufang.IncidentState) Record {
		return Record{ID: 5, ReceivedAt: at, States: states}
	}
	s := func(states ...zhufang.IncidentState) []zhufang.IncidentState { return states }
	const r, d, a, o = zhufang.StateReceived, zhufang.StateDispatched, zhufang.StateAcknowledged, zhufang.StateOnScene
	tests := []struct {
		name     string
		rec      Record
		received time.Time
		stored   []zhufang.IncidentState
		want     string
	}{
		{"same", rec(r, d, a), at, s(r, d, a), ""},
		{"moved on since", rec(r, d, a), at, s(r, d, a, o), ""},
		{"acknowledged late, not recorded", rec(r, d), at, s(r, d, a), ""},
		{"same instant in another zone", rec(r), at.In(zhufang.ChinaTime), s(r), ""},
		{"lost its acknowledgement", rec(r, d, a), at, s(r, d), "incident 5 lacks its acknowledged (stored: received → dispatched)"},
		{"out of order", rec(r, d, a), at, s(r, a, d), "incident 5 lacks its acknowledged (stored: received → acknowledged → dispatched)"},
		{"no history", rec(r), at, nil, "incident 5 lacks its received (stored: )"},
		{"another incident", rec(r), at.Add(time.Second), s(r), "incident 5 was received at 2026-03-01T08:00:01Z, the record says 2026-03-01T08:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := historyGap(tt.rec, tt.received, tt.stored); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	merged := MergeRecords([]Record{rec(r), {ID: 2, ReceivedAt: at, States: s(r)}, rec(r, d, a), rec(r, d)})
	want := []Record{{ID: 2, ReceivedAt: at, States: s(r)}, rec(r, d, a)}
	if diff := cmp.Diff(want, merged); diff != "" {
		t.Fatalf("merged (-want +got):\n%s", diff)
	}
}

// FuzzLoadRecord: a record line is outside input. Whatever it holds, the
// parser does not panic, its error is one line, and what it accepts
// survives writing and reading again unchanged.
func FuzzLoadRecord(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"received_at":"2026-03-01T08:00:00.123456Z","states":["received"]}`,
		`{"id":42,"received_at":"2026-03-01T16:00:00+08:00","states":["received","dispatched","acknowledged"],"url":"http://127.0.0.1:8080"}`,
		`{"id":3,"received_at":"2026-03-01T08:00:00Z","states":["received","dispatched","acknowledged","on_scene","handling","feedback","closed"]}`,
		`{"id":3,"received_at":"2026-03-01T08:00:00Z","states":["received","cancelled"]}`,
		`{"id":0,"received_at":"2026-03-01T08:00:00Z","states":["received"]}`,
		`{"id":1,"received_at":"0000-01-01T00:00:00+23:59","states":["received"]}`,
		`{"id":1,"received_at":"2026-03-01T08:00:00Z","states":["received","received"]}`,
		`{"id":1e3,"received_at":"2026-03-01T08:00:00Z","states":["received"]}`,
		`{"id":1,"received_at":"2026-03-01T08:00:00Z","states":["received"],"url":"\u0000\n"}`,
		`[1,2,3]`, `null`, `{}`, `{"id":`, "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := ParseRecord(b)
		if err != nil {
			if msg := zhufang.ErrorMessage(err); strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			return
		}
		line, err := json.Marshal(rec)
		if err != nil {
			t.Fatalf("accepted %q but cannot write it again: %v", b, err)
		}
		again, err := ParseRecord(line)
		if err != nil {
			t.Fatalf("accepted %q but not its own rewriting %s: %v", b, line, err)
		}
		if again.ID != rec.ID || !again.ReceivedAt.Equal(rec.ReceivedAt) || again.URL != rec.URL || !cmp.Equal(again.States, rec.States) {
			t.Fatalf("%q came back as %+v, was %+v", b, again, rec)
		}
	})
}
