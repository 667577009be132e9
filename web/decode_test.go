package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"zhufang"
)

// decodeInto runs decodeJSON on body sent with content type ct.
func decodeInto(ct, body string, v any) error {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return decodeJSON(httptest.NewRecorder(), req, v)
}

func TestDecodeContentType(t *testing.T) {
	for _, tt := range []struct {
		ct string
		ok bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"application/json;charset=UTF-8", true},
		{"Application/JSON", true},
		{"", false},
		{"application/jsonx", false},
		{"application/json-seq", false},
		{"application/json; charset=latin1", false},
		{"application/json; boundary=x", false},
		{"text/json", false},
		{"text/plain", false},
		{"application/json,text/plain", false},
		{"application/x-www-form-urlencoded", false},
	} {
		t.Run(tt.ct, func(t *testing.T) {
			var req laneRequest
			err := decodeInto(tt.ct, `{"lane":"case"}`, &req)
			if tt.ok != (err == nil) {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}
			if err != nil && (zhufang.ErrorCode(err) != zhufang.EINVALID || !strings.Contains(zhufang.ErrorMessage(err), "Content-Type: application/json")) {
				t.Fatalf("refused with %v, want invalid naming the content type to send", err)
			}
		})
	}
}

func TestDecodeMessages(t *testing.T) {
	for _, tt := range []struct {
		name, body, says string
	}{
		{"list for a list field", `{"reports":"x"}`, `field "reports" must be a list, not a string`},
		{"object in a list", `{"reports":[1]}`, `field "reports[0]" must be an object, not a number`},
		{"nested time", `{"reports":[{"at":true}]}`, `field "reports[0].at" must be an RFC 3339 time (a string), not true or false`},
		{"nested bad time", `{"reports":[{"at":"2026-13-01T00:00:00Z"}]}`, `field "reports[0].at" must be an RFC 3339 time`},
		{"nested position", `{"reports":[{"position":[1]}]}`, `field "reports[0].position": a position must be [lon, lat]`},
		{"whole number", `{"reports":[{"unit_id":1.5}]}`, `field "reports[0].unit_id" must be a whole number that fits in 64 bits, not 1.5`},
		{"huge number", `{"reports":[{"unit_id":1e30}]}`, `field "reports[0].unit_id" must be a whole number`},
		{"number out of range", `{"reports":[{"speed":1e400}]}`, `field "reports[0].speed" must be a number within range`},
		{"number as string", `{"reports":[{"speed":"fast"}]}`, `field "reports[0].speed" must be a number, not a string`},
		{"case of a field", `{"Reports":[]}`, `unknown field "Reports"`},
		{"case of a nested field", `{"reports":[{"Unit_ID":1}]}`, `unknown field "reports[0].Unit_ID"`},
		{"twice nested", `{"reports":[{"speed":1,"speed":2}]}`, `field "reports[0].speed" is given twice`},
		{"body not an object", `[1,2]`, `request body must be an object, not a list`},
		{"body null", `null`, `request body must be an object, not null`},
		{"trailing data", `{"reports":[]}x`, `nothing after it`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var req positionsRequest
			err := decodeInto("application/json", tt.body, &req)
			if zhufang.ErrorCode(err) != zhufang.EINVALID || !strings.Contains(zhufang.ErrorMessage(err), tt.says) {
				t.Fatalf("got %v, want invalid saying %q", err, tt.says)
			}
		})
	}
	var req positionsRequest
	if err := decodeInto("application/json", `{"reports":[{"unit_id":7,"at":"2026-11-29T08:00:00+08:00","position":[111.6,26.4,80],"speed":null}]}`, &req); err != nil {
		t.Fatal(err)
	}
	if r := req.Reports[0]; r.UnitID != 7 || r.Point != (zhufang.Point{Lon: 111.6, Lat: 26.4}) || !r.At.Equal(r.At.UTC()) {
		t.Fatalf("decoded %+v", r)
	}
}

// goWords are what a message must not show of the server's insides: Go
// type names and encoding/json's own phrasing.
var goWords = regexp.MustCompile(`json:|Go (struct|value)|zhufang\.|web\.|\bint(8|16|32|64)?\b|uint|float(32|64)|\[\]|map\[|struct|time\.Time|unmarshal`)

// FuzzDecodeJSON throws any body, under any content type, at the decoder
// with the API's request types. It never panics; a refusal is EINVALID in
// words that name no Go type; an acceptance is of one JSON object whose
// every field name is one the request type spells, exactly and once.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"source":"call_110","position":[111.5,26.5],"flags":{"injured":true},"received_at":"2026-11-29T08:00:00Z"}`,
		`{"reports":[{"unit_id":7,"at":"2026-11-29T08:00:00Z","position":[111.6,26.4],"speed":1.5,"heading":30}]}`,
		`{"to":"dispatched","TO":"closed"}`, `{"to":"a","to":"b"}`, `{"unit_id":1e3,"eta_seconds":-1}`,
		`{"flags":{"weapon":"yes"}}`, `{"position":"x"}`, `{"reports":[null,{}]}`, `null`, `[]`, `{}x`, `{"a":`,
		`{"received_at":"yesterday"}`, `{"caller_name":"\ud800"}`, `{"ｓource":"call_110"}`, `{"ſource":"call_110"}`,
	} {
		f.Add(uint8(0), "application/json", s)
	}
	f.Add(uint8(1), "application/jsonx", `{}`)
	f.Add(uint8(2), "application/json; charset=utf-8", `{"lane":"case"}`)
	// Each request type with the names the API documents for it, written
	// out here rather than read from the type.
	targets := []struct {
		new   func() any
		names string
	}{
		{func() any { return &incidentRequest{} }, "source received_at caller_name caller_phone address position category place_type description flags actor"},
		{func() any { return &positionsRequest{} }, "reports"},
		{func() any { return &laneRequest{} }, "lane by reason assign_to"},
		{func() any { return &assignRequest{} }, "unit_id assigned_by role eta_seconds"},
		{func() any { return &zhufang.TransitionRequest{} }, "to actor note duplicate_of redirected_to case_number"},
	}
	f.Fuzz(func(t *testing.T, which uint8, ct, body string) {
		target := targets[int(which)%len(targets)]
		err := decodeInto(ct, body, target.new())
		if err != nil {
			msg := zhufang.ErrorMessage(err)
			if zhufang.ErrorCode(err) != zhufang.EINVALID || goWords.MatchString(msg) {
				t.Fatalf("%q under %q: refused with %q (%v)", body, ct, msg, err)
			}
			return
		}
		// Accepted: one JSON object whose every name is one the type
		// spells, exactly, and given once.
		dec := json.NewDecoder(strings.NewReader(body))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("%q accepted but not a JSON object", body)
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			key, _ := tok.(string)
			if err != nil || !slices.Contains(strings.Fields(target.names), key) || seen[key] {
				t.Fatalf("%q accepted with the name %q (%v), not one of %s once", body, key, err, target.names)
			}
			seen[key] = true
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatalf("%q accepted but unreadable: %v", body, err)
			}
		}
	})
}

// BenchmarkDecodePositions decodes a full batch of 1,000 position reports,
// the largest body a device sends.
func BenchmarkDecodePositions(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"reports":[`)
	for i := range maxReports {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"unit_id":7,"at":"2026-11-29T08:00:00.123456Z","position":[111.600123,26.400456],"speed":8.5,"heading":30}`)
	}
	sb.WriteString(`]}`)
	body := sb.String()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var v positionsRequest
		if err := decodeJSONLimit(httptest.NewRecorder(), req, &v, maxReportsBody); err != nil {
			b.Fatal(err)
		}
	}
}
