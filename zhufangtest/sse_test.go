package zhufangtest_test

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"zhufang/zhufangtest"
)

func TestReadSSE(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	tests := []struct {
		name   string
		stream string
		want   []zhufangtest.SSEEvent
		err    error
	}{
		{"empty", "", nil, nil},
		{"the retry line is passed over", "retry: 3000\n\n", nil, nil},
		{"a change with its id", "retry: 3000\n\nid: 7\nevent: change\ndata: {\"incident_id\":3}\n\n",
			[]zhufangtest.SSEEvent{{ID: "7", Name: "change", Data: `{"incident_id":3}`}}, nil},
		{"events one after another", "event: positions\ndata: [[1,2,3]]\n\nid: 8\nevent: change\ndata: {}\n\nevent: reload\ndata: {}\n\n",
			[]zhufangtest.SSEEvent{{Name: "positions", Data: "[[1,2,3]]"}, {ID: "8", Name: "change", Data: "{}"}, {Name: "reload", Data: "{}"}}, nil},
		{"an unnamed event is passed over", "data: {}\n\nevent: reload\ndata: {}\n\n",
			[]zhufangtest.SSEEvent{{Name: "reload", Data: "{}"}}, nil},
		{"an event cut off by the end is not passed on", "event: change\ndata: {}\n", nil, nil},
		{"comments and unknown fields are passed over", ": ping\nevent: change\nfoo: bar\ndata: {}\n\n",
			[]zhufangtest.SSEEvent{{Name: "change", Data: "{}"}}, nil},
		{"a line of a MiB", "event: positions\ndata: " + big + "\n\n", []zhufangtest.SSEEvent{{Name: "positions", Data: big}}, nil},
		{"a line past 4 MiB ends the reading", "event: positions\ndata: " + strings.Repeat(big, 5) + "\n\n", nil, bufio.ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []zhufangtest.SSEEvent
			err := zhufangtest.ReadSSE(strings.NewReader(tt.stream), func(e zhufangtest.SSEEvent) { got = append(got, e) })
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
		})
	}
}
