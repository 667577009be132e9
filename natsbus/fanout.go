package natsbus

import (
	"encoding/json"

	"github.com/nats-io/nats.go/jetstream"

	"zhufang"
)

// Subscribe returns a channel of every event that any node publishes from
// now on, in stream order, and a function that ends the subscription.
func (b *Bus) Subscribe() (<-chan zhufang.Event, func()) {
	ch := make(chan zhufang.Event, b.buffer)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// deliver hands one message of the stream to every subscriber without
// blocking. It holds the lock throughout so that, should the client run two
// handlers at once across a consumer reset, subscribers still see one order.
func (b *Bus) deliver(m jetstream.Msg) {
	var e zhufang.Event
	if err := json.Unmarshal(m.Data(), &e); err != nil {
		b.logger.Warn("event bus: undecodable message", "subject", m.Subject(), "err", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// ID 0 is not an outbox row: such events are never duplicates.
	if e.ID != 0 && !b.seen.add(e.ID) {
		return
	}
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// seenSet remembers the last n event IDs. The server drops a republished
// event within its duplicate window; this catches one that comes later, as
// from a relay that was down for longer, while memory stays bounded.
type seenSet struct {
	ids  map[int64]struct{}
	ring []int64 // IDs in arrival order, oldest at next once full
	next int
}

func newSeenSet(n int) *seenSet {
	return &seenSet{ids: make(map[int64]struct{}, n), ring: make([]int64, 0, n)}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id int64) bool {
	if _, ok := s.ids[id]; ok {
		return false
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, id)
	} else {
		delete(s.ids, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.ids[id] = struct{}{}
	return true
}
