package zhufangtest

import (
	"sync"
	"time"

	"zhufang"
)

// Clock is a zhufang.Clock the test moves by hand, so that deadlines,
// throttles and lifetimes are tested without sleeping. It is safe for
// concurrent use: the code under test reads it while the test moves it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

var _ zhufang.Clock = (*Clock)(nil)

// NewClock returns a Clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the time the clock stands at.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set puts the clock at t, earlier or later.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
