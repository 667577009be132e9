package zhufangtest_test

import (
	"sync"
	"testing"
	"time"

	"zhufang/zhufangtest"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	c := zhufangtest.NewClock(t0)
	tests := []struct {
		name string
		move func()
		want time.Time
	}{
		{"stands where it was put", func() {}, t0},
		{"does not move by itself", func() { time.Sleep(time.Millisecond) }, t0},
		{"advances", func() { c.Advance(90 * time.Second) }, t0.Add(90 * time.Second)},
		{"advances again from there", func() { c.Advance(time.Hour) }, t0.Add(time.Hour + 90*time.Second)},
		{"goes back by a negative advance", func() { c.Advance(-time.Hour) }, t0.Add(90 * time.Second)},
		{"is set later", func() { c.Set(t0.Add(24 * time.Hour)) }, t0.Add(24 * time.Hour)},
		{"is set earlier", func() { c.Set(t0.Add(-time.Minute)) }, t0.Add(-time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.move()
			if got := c.Now(); !got.Equal(tt.want) {
				t.Fatalf("Now() = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestClockConcurrent reads the clock while others move it; under -race
// it shows the clock is safe for the code under test and the test at once.
func TestClockConcurrent(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	c := zhufangtest.NewClock(t0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				c.Advance(time.Second)
			}
		})
		wg.Go(func() {
			prev := t0
			for range 1000 {
				now := c.Now()
				if now.Before(prev) {
					t.Errorf("the clock went back from %s to %s", prev, now)
					return
				}
				prev = now
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), t0.Add(4000*time.Second); !got.Equal(want) {
		t.Fatalf("after 4000 advances of a second: %s, want %s", got, want)
	}
}
