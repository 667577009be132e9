package zhufang

import (
	"testing"
	"time"
)

func TestSignInSource(t *testing.T) {
	tests := []struct{ name, addr, want string }{
		{"IPv4", "203.0.113.9", "203.0.113.9"},
		{"IPv4 mapped into IPv6", "::ffff:203.0.113.9", "203.0.113.9"},
		{"IPv6 by its /64", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"another address of the same /64", "2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"IPv6 with a zone", "fe80::1%eth0", "fe80::/64"},
		{"not an address", "pipe", "pipe"},
		{"none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SignInSource(tt.addr); got != tt.want {
				t.Errorf("SignInSource(%q) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestSignInWait(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	pair := func(failures int, last time.Duration) FailureCount {
		return FailureCount{Failures: failures, Since: ago(time.Hour), LastFailure: ago(last)}
	}
	window := func(failures int, since time.Duration) FailureCount {
		return FailureCount{Failures: failures, Since: ago(since), LastFailure: now}
	}
	known := FailureCount{LastSuccess: ago(24 * time.Hour)}
	tests := []struct {
		name string
		h    SignInHistory
		want Wait
	}{
		{"nothing counted", SignInHistory{}, Wait{}},
		{"free attempts", SignInHistory{Pair: pair(2, 0)}, Wait{}},
		{"first delay", SignInHistory{Pair: pair(3, 0)}, Wait{Left: time.Second}},
		{"delay passed", SignInHistory{Pair: pair(5, 4*time.Second)}, Wait{}},
		{"locked", SignInHistory{Pair: pair(10, time.Minute)}, Wait{Left: 14 * time.Minute, Locked: true}},
		{"lock over", SignInHistory{Pair: pair(12, LockDuration)}, Wait{}},
		{"a streak a day old is forgotten", SignInHistory{Pair: pair(12, ForgetAfter)}, Wait{}},
		{"source spent", SignInHistory{Source: window(SourceLockAttempts, 10*time.Minute)},
			Wait{Left: 50 * time.Minute, Locked: true, Source: true}},
		{"source window over", SignInHistory{Source: window(SourceLockAttempts, SourceWindow)}, Wait{}},
		{"source spent, but the name signed in from it before",
			SignInHistory{Pair: known, Source: window(SourceLockAttempts, 10*time.Minute)}, Wait{}},
		{"source spent, known long ago", SignInHistory{Pair: FailureCount{LastSuccess: ago(KnownSourceFor)},
			Source: window(SourceLockAttempts, 10*time.Minute)}, Wait{Left: 50 * time.Minute, Locked: true, Source: true}},
		{"pressure: a new source's first attempt goes", SignInHistory{Account: window(AccountPressure, time.Minute)}, Wait{}},
		{"pressure: a new source waits a minute after one failure",
			SignInHistory{Pair: pair(1, 10*time.Second), Account: window(AccountPressure, time.Minute)}, Wait{Left: 50 * time.Second}},
		{"pressure: then longer", SignInHistory{Pair: pair(3, 0), Account: window(AccountPressure, time.Minute)},
			Wait{Left: 4 * time.Minute}},
		{"pressure: capped at the lock", SignInHistory{Pair: pair(5, 0), Account: window(AccountPressure, time.Minute)},
			Wait{Left: LockDuration, Locked: true}},
		{"pressure: a known source keeps its free attempts",
			SignInHistory{Pair: FailureCount{Failures: 2, LastFailure: now, LastSuccess: ago(time.Hour)}, Account: window(AccountPressure, time.Minute)}, Wait{}},
		{"pressure over", SignInHistory{Pair: pair(1, 0), Account: window(AccountPressure, AccountWindow)}, Wait{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SignInWait(tt.h, now); got != tt.want {
				t.Errorf("SignInWait = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCountFailure(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	old := now.Add(-2 * time.Hour)
	h := SignInHistory{
		Pair:    FailureCount{Failures: 4, Since: old, LastFailure: now.Add(-time.Minute)},
		Source:  FailureCount{Failures: 7, Since: old, LastFailure: old}, // its window has passed
		Account: FailureCount{Failures: 9, Since: now.Add(-time.Minute), LastFailure: now.Add(-time.Minute)},
	}
	got := h.CountFailure(now)
	want := SignInHistory{
		Pair:    FailureCount{Failures: 5, Since: old, LastFailure: now},
		Source:  FailureCount{Failures: 1, Since: now, LastFailure: now},
		Account: FailureCount{Failures: 10, Since: now.Add(-time.Minute), LastFailure: now},
	}
	if got != want {
		t.Errorf("CountFailure:\n got %+v\nwant %+v", got, want)
	}
}
