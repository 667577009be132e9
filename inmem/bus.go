// Package inmem is the in-process event bus: what one node publishes, its
// own subscribers (the live board, the breach watcher) receive.
package inmem

import (
	"context"
	"sync"

	"zhufang"
)

// Bus fans events out to subscribers. A subscriber whose buffer is full is
// dropped and its channel closed, so one slow browser never holds up
// dispatch.
type Bus struct {
	mu     sync.Mutex
	subs   map[chan zhufang.Event]struct{}
	buffer int
}

var _ zhufang.EventService = (*Bus)(nil)

// NewBus returns a bus whose subscribers may fall buffer events behind.
func NewBus(buffer int) *Bus {
	return &Bus{subs: map[chan zhufang.Event]struct{}{}, buffer: buffer}
}

// Publish hands events to every subscriber without blocking.
func (b *Bus) Publish(ctx context.Context, events ...zhufang.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		for _, e := range events {
			select {
			case ch <- e:
			default:
				delete(b.subs, ch)
				close(ch)
			}
			if _, ok := b.subs[ch]; !ok {
				break
			}
		}
	}
	return nil
}

// Subscribe returns a channel of the events published from now on, and a
// function that ends the subscription.
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
