package zhufang

import (
	"net/netip"
	"time"
)

// The sign-in throttle. Failures are counted under three keys, each with a
// purpose (docs/SECURITY.md gives the reasoning):
//
//   - a name from one source: online guessing of one account. After
//     FreeAttempts failures each attempt waits LoginDelay, after
//     LockAttempts the pair is locked for LockDuration. Only that pair: the
//     same name from another source is not held back, so a stranger's
//     failures cannot lock the real user out.
//   - every name from one source: spraying one password over many names.
//     After SourceLockAttempts failures within SourceWindow the source may
//     try no further names until the window ends.
//   - a name from every source: a guess spread over many addresses. Past
//     AccountPressure failures within AccountWindow the account is "under
//     pressure": a source that never signed in to it gets one free attempt
//     instead of FreeAttempts and then waits from PressureDelay up, so a
//     botnet is slowed; the account is never locked as a whole.
//
// A source that has signed in to a name (KnownSourceFor) is exempt from the
// source and account limits for that name: only its own pair counts.
// Refused attempts are not counted, so hammering a lock does not extend it.
// Unknown names are counted exactly like real ones.
const (
	FreeAttempts = 3
	LockAttempts = 10
	LockDuration = 15 * time.Minute
	// ForgetAfter is how long after its last failure a pair's count is
	// forgotten.
	ForgetAfter = 24 * time.Hour

	SourceLockAttempts = 30
	SourceWindow       = time.Hour

	AccountPressure = 50
	AccountWindow   = time.Hour
	PressureDelay   = time.Minute

	KnownSourceFor = 90 * 24 * time.Hour
)

// LoginDelay is how long after its last failure a pair's next attempt must
// wait, given its failures so far: nothing for the first few, then doubling
// from one second, then the lock.
func LoginDelay(failures int) time.Duration {
	switch {
	case failures < FreeAttempts:
		return 0
	case failures >= LockAttempts:
		return LockDuration
	}
	return time.Second << (failures - FreeAttempts)
}

// pressureDelay is LoginDelay for a source new to an account under
// pressure: one free attempt, then a minute doubling up to the lock.
func pressureDelay(failures int) time.Duration {
	switch {
	case failures < 1:
		return 0
	case failures > 4:
		return LockDuration
	}
	return PressureDelay << (failures - 1)
}

// SignInSource is the key the throttle counts an address under: an IPv4
// address as it is, an IPv6 one by its /64 (one host is commonly given a
// whole /64, so its single addresses are free to it). Anything that is not
// an IP address is its own key.
func SignInSource(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// FailureCount is what the throttle holds under one key: the failures
// counted, since when (a window's start or a streak's first), the last
// failure, and the last success (pairs only).
type FailureCount struct {
	Failures    int
	Since       time.Time
	LastFailure time.Time
	LastSuccess time.Time
}

// streak is a pair's failures in a row, forgotten ForgetAfter after the last.
func (c FailureCount) streak(now time.Time) int {
	if c.Failures == 0 || now.Sub(c.LastFailure) >= ForgetAfter {
		return 0
	}
	return c.Failures
}

// inWindow is a source's or account's failures in the window that began at
// Since, none once it has passed.
func (c FailureCount) inWindow(now time.Time, window time.Duration) int {
	if c.Failures == 0 || now.Sub(c.Since) >= window {
		return 0
	}
	return c.Failures
}

// SignInHistory is what the throttle knows before an attempt of one name
// from one source.
type SignInHistory struct {
	Pair    FailureCount // this name from this source
	Source  FailureCount // every name from this source
	Account FailureCount // this name from every source
}

// known reports whether the source has signed in to the name lately.
func (h SignInHistory) known(now time.Time) bool {
	return !h.Pair.LastSuccess.IsZero() && now.Sub(h.Pair.LastSuccess) < KnownSourceFor
}

// Wait is the answer of the throttle to an attempt: how long it must still
// wait (zero: check the password), and which limit holds it.
type Wait struct {
	Left   time.Duration
	Locked bool // a lock rather than a growing delay
	Source bool // the source's limit across names
}

// Err is the ETOOMANY error to answer the attempt with, nil when it may go.
// The message is the same for a real name and an unknown one.
func (w Wait) Err() error {
	switch {
	case w.Left <= 0:
		return nil
	case w.Source:
		return Errorf(ETOOMANY, "too many failed sign-ins from this address; try again in %d minutes", ceilMinutes(w.Left))
	case w.Locked:
		return Errorf(ETOOMANY, "too many wrong passwords from this address: locked; try again in %d minutes", ceilMinutes(w.Left))
	}
	return Errorf(ETOOMANY, "too many wrong passwords; wait %d seconds before trying again", int((w.Left+time.Second-1)/time.Second))
}

func ceilMinutes(d time.Duration) int { return int((d + time.Minute - 1) / time.Minute) }

// SignInWait applies the throttle to an attempt at now.
func SignInWait(h SignInHistory, now time.Time) Wait {
	known := h.known(now)
	if !known {
		if n := h.Source.inWindow(now, SourceWindow); n >= SourceLockAttempts {
			return Wait{Left: h.Source.Since.Add(SourceWindow).Sub(now), Locked: true, Source: true}
		}
	}
	failures := h.Pair.streak(now)
	delay := LoginDelay(failures)
	if !known && h.Account.inWindow(now, AccountWindow) >= AccountPressure {
		delay = max(delay, pressureDelay(failures))
	}
	if delay == 0 {
		return Wait{}
	}
	left := h.Pair.LastFailure.Add(delay).Sub(now)
	if left <= 0 {
		return Wait{}
	}
	return Wait{Left: left, Locked: delay >= LockDuration}
}

// CountFailure gives the history after a failed attempt at now: the pair's
// streak goes on, the source's and account's windows start again once
// passed.
func (h SignInHistory) CountFailure(now time.Time) SignInHistory {
	h.Pair = countIn(h.Pair, h.Pair.streak(now), now)
	h.Source = countIn(h.Source, h.Source.inWindow(now, SourceWindow), now)
	h.Account = countIn(h.Account, h.Account.inWindow(now, AccountWindow), now)
	return h
}

func countIn(c FailureCount, current int, now time.Time) FailureCount {
	if current == 0 {
		c.Since = now
	}
	c.Failures = current + 1
	c.LastFailure = now
	return c
}
