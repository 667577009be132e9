package zhufangtest

import (
	"bufio"
	"io"
	"strings"
)

// SSEEvent is one server-sent event as a console reads it.
type SSEEvent struct {
	ID   string // the id: line, empty when the event has none
	Name string // the event: line
	Data string // the data: line
}

// ReadSSE reads the server-sent events of r (the body of GET /events)
// until it ends, passing each event to each as the blank line after it
// completes it, and returns the error that ended the reading, nil at the
// end of r. An event without a name (the retry line that opens a stream)
// is passed over; of several data lines the last counts, as zhufang writes
// one. Lines up to 4 MiB are read: the positions of a whole city come as
// one.
func ReadSSE(r io.Reader, each func(SSEEvent)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var e SSEEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if e.Name != "" {
				each(e)
			}
			e = SSEEvent{}
		case strings.HasPrefix(line, "id: "):
			e.ID = line[len("id: "):]
		case strings.HasPrefix(line, "event: "):
			e.Name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			e.Data = line[len("data: "):]
		}
	}
	return sc.Err()
}
