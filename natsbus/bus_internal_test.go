package natsbus

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSeenSet(t *testing.T) {
	s := newSeenSet(3)
	var got []bool
	// 1 is forgotten once three newer IDs have come: memory stays bounded.
	for _, id := range []int64{1, 2, 1, 3, 2, 4, 1, 4} {
		got = append(got, s.add(id))
	}
	want := []bool{true, true, false, true, false, true, true, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(s.ids) != 3 {
		t.Errorf("remembers %d IDs, want 3", len(s.ids))
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name, url, shown string
		secrets          []string
	}{
		{"plain", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222", nil},
		{"password", "nats://alice:pw@h:4222", "nats://xxxxx@h:4222", []string{"pw"}},
		{"token", "tls://tok@h:4222", "tls://xxxxx@h:4222", []string{"tok"}},
		{"several", "nats://a:pw@h1, nats://h2", "nats://xxxxx@h1,nats://h2", []string{"pw"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shown, secrets, err := redact(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if shown != tc.shown || !slices.Equal(secrets, tc.secrets) {
				t.Errorf("redact(%q) = %q, %q; want %q, %q", tc.url, shown, secrets, tc.shown, tc.secrets)
			}
		})
	}
	if _, _, err := redact("nats://alice:pw@h:port"); err == nil {
		t.Error("a malformed URL was accepted")
	}
}

func TestRedactedError(t *testing.T) {
	err := &redactedError{err: errorString("auth failed for pw"), secrets: []string{"pw", ""}}
	if strings.Contains(err.Error(), "pw") {
		t.Errorf("error shows the secret: %v", err)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestValidTopic(t *testing.T) {
	for topic, want := range map[string]bool{
		"incident.created": true,
		"x":                true,
		"":                 false,
		"incident.":        false,
		".created":         false,
		"incident..x":      false,
		"incident.*":       false,
		"incident.>":       false,
		"incident created": false,
	} {
		if got := validTopic(topic); got != want {
			t.Errorf("validTopic(%q) = %v, want %v", topic, got, want)
		}
	}
}
