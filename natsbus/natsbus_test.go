package natsbus_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"zhufang"
	"zhufang/natsbus"
)

// natsURL returns the URL of the test server, skipping when none is set.
func natsURL(t testing.TB) string {
	url := os.Getenv("ZHUFANG_TEST_NATS")
	if url == "" {
		t.Skip("ZHUFANG_TEST_NATS is not set; set it to a NATS server with JetStream, e.g. nats://127.0.0.1:4222, to run this test")
	}
	return url
}

// testStream returns Options naming a stream of the test's own, so tests
// run in parallel, and a JetStream handle on the server to meddle with it.
// The stream is deleted when the test ends.
func testStream(t testing.TB, buffer int) (string, natsbus.Options, jetstream.JetStream) {
	url := natsURL(t)
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("ZHUFANG_TEST_NATS is set but the server cannot be reached: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	id := rand.Text()
	opt := natsbus.Options{
		Stream:  "ZT_" + id,
		Subject: "zt." + strings.ToLower(id),
		Buffer:  buffer,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)), // a t.Log after the test ends would panic
	}
	t.Cleanup(func() {
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, opt.Stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("deleting stream %s: %v", opt.Stream, err)
		}
	})
	return url, opt, js
}

// open opens a bus that is closed when the test ends, failing the test if
// the server cannot be reached.
func open(t testing.TB, url string, opt natsbus.Options) *natsbus.Bus {
	t.Helper()
	bus, err := natsbus.Open(t.Context(), url, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := bus.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return bus
}

func event(id int64) zhufang.Event {
	topics := []string{zhufang.TopicIncidentCreated, zhufang.TopicIncidentTransition, zhufang.TopicIncidentLane}
	return zhufang.Event{
		ID:      id,
		Topic:   topics[id%int64(len(topics))],
		At:      time.Date(2025, 3, 1, 8, 0, 0, int(id)*1000, time.UTC),
		Payload: json.RawMessage(fmt.Sprintf(`{"incident":%d}`, id)),
	}
}

func events(from, to int64) []zhufang.Event {
	var es []zhufang.Event
	for id := from; id <= to; id++ {
		es = append(es, event(id))
	}
	return es
}

// receive reads n events from ch, failing if that takes over ten seconds.
func receive(t *testing.T, ch <-chan zhufang.Event, n int) []zhufang.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var got []zhufang.Event
	for len(got) < n {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d events", len(got), n)
			}
			got = append(got, e)
		case <-timeout:
			t.Fatalf("%d of %d events after 10 s", len(got), n)
		}
	}
	return got
}

// idsIn returns the events of got whose ID is in [from, to], in order.
func idsIn(got []zhufang.Event, from, to int64) []zhufang.Event {
	var es []zhufang.Event
	for _, e := range got {
		if e.ID >= from && e.ID <= to {
			es = append(es, e)
		}
	}
	return es
}

func TestEveryNodeSeesEveryEvent(t *testing.T) {
	t.Parallel()
	url, opt, _ := testStream(t, 100)
	a, b := open(t, url, opt), open(t, url, opt)
	atA, stopA := a.Subscribe()
	defer stopA()
	atB, stopB := b.Subscribe()
	defer stopB()

	// Both nodes publish at once, A in batches as its relay would.
	var wg sync.WaitGroup
	wg.Go(func() {
		for from := int64(1); from <= 30; from += 10 {
			if err := a.Publish(t.Context(), events(from, from+9)...); err != nil {
				t.Errorf("publish on A: %v", err)
			}
		}
	})
	wg.Go(func() {
		for id := int64(101); id <= 110; id++ {
			if err := b.Publish(t.Context(), event(id)); err != nil {
				t.Errorf("publish on B: %v", err)
			}
		}
	})
	wg.Wait()

	gotA, gotB := receive(t, atA, 40), receive(t, atB, 40)
	for name, got := range map[string][]zhufang.Event{"A": gotA, "B": gotB} {
		if diff := cmp.Diff(events(1, 30), idsIn(got, 1, 30)); diff != "" {
			t.Errorf("events published on A, as seen on %s (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(events(101, 110), idsIn(got, 101, 110)); diff != "" {
			t.Errorf("events published on B, as seen on %s (-want +got):\n%s", name, diff)
		}
	}
	if diff := cmp.Diff(gotA, gotB); diff != "" {
		t.Errorf("the nodes saw different orders (-A +B):\n%s", diff)
	}
}

func TestDuplicateDeliveredOnce(t *testing.T) {
	t.Parallel()
	url, opt, _ := testStream(t, 100)
	bus := open(t, url, opt)
	ch, stop := bus.Subscribe()
	defer stop()

	// As a relay that crashed before marking its rows would: the same row
	// again, within a batch and in a later one.
	for _, batch := range [][]zhufang.Event{
		{event(1), event(1), event(2)},
		{event(1), event(2), event(3)},
	} {
		if err := bus.Publish(t.Context(), batch...); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(events(1, 3), receive(t, ch, 3)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Event 4 comes next only if no duplicate was queued before it.
	if err := bus.Publish(t.Context(), event(4)); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, ch, 1)[0].ID; got != 4 {
		t.Errorf("after the duplicates came event %d, want 4", got)
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	t.Parallel()
	url, opt, _ := testStream(t, 2)
	bus := open(t, url, opt)
	slow, stopSlow := bus.Subscribe()
	defer stopSlow()
	fast, stopFast := bus.Subscribe()
	defer stopFast()

	for id := int64(1); id <= 5; id++ {
		if err := bus.Publish(t.Context(), event(id)); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, fast, 1)[0].ID; got != id {
			t.Fatalf("the reading subscriber got %d, want %d", got, id)
		}
	}
	// Having had event 5, the bus has offered event 3 to the slow one too,
	// and a full buffer closed its channel.
	if diff := cmp.Diff(events(1, 2), drain(t, slow)); diff != "" {
		t.Errorf("the slow subscriber kept (-want +got):\n%s", diff)
	}
}

// drain reads ch until it is closed, failing if that takes over ten seconds.
func drain(t *testing.T, ch <-chan zhufang.Event) []zhufang.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var got []zhufang.Event
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, e)
		case <-timeout:
			t.Fatalf("channel still open after 10 s, with %d events", len(got))
		}
	}
}

// TestOpenUnreachable needs no server, so it runs even without
// ZHUFANG_TEST_NATS.
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, url, secret string }{
		{"plain", "nats://127.0.0.1:1", ""},
		{"password", "nats://alice:s3cret-pw@127.0.0.1:1", "s3cret-pw"},
		{"token", "nats://t0ken-value@127.0.0.1:1", "t0ken-value"},
		{"several servers", "nats://alice:s3cret-pw@127.0.0.1:1, nats://127.0.0.1:2", "s3cret-pw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := natsbus.Open(t.Context(), tc.url, natsbus.Options{})
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Open took %v", took)
			}
			if code := zhufang.ErrorCode(err); code != zhufang.EUNAVAILABLE {
				t.Errorf("code %q, want %q (err %v)", code, zhufang.EUNAVAILABLE, err)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the error shows the credentials: %v", err)
			}
		})
	}
}

func TestPublishAfterStreamDeleted(t *testing.T) {
	t.Parallel()
	url, opt, js := testStream(t, 100)
	bus := open(t, url, opt)
	if err := bus.Publish(t.Context(), event(1)); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(t.Context(), opt.Stream); err != nil {
		t.Fatal(err)
	}
	err := bus.Publish(t.Context(), events(2, 4)...)
	if code := zhufang.ErrorCode(err); code != zhufang.EUNAVAILABLE {
		t.Errorf("code %q, want %q (err %v)", code, zhufang.EUNAVAILABLE, err)
	}
}

func TestPublishRejectsBadTopic(t *testing.T) {
	t.Parallel()
	url, opt, _ := testStream(t, 100)
	bus := open(t, url, opt)
	err := bus.Publish(t.Context(), event(1), zhufang.Event{ID: 2, Topic: "incident.*"})
	if code := zhufang.ErrorCode(err); code != zhufang.EINVALID {
		t.Errorf("code %q, want %q (err %v)", code, zhufang.EINVALID, err)
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	t.Parallel()
	url, opt, _ := testStream(t, 100)
	bus, err := natsbus.Open(t.Context(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	ch, stop := bus.Subscribe()
	defer stop()
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bus.Close(); err != nil {
		t.Errorf("closing twice: %v", err)
	}
	if got := drain(t, ch); len(got) != 0 {
		t.Errorf("events after Close: %v", got)
	}
	if err := bus.Publish(t.Context(), event(1)); err == nil {
		t.Error("Publish after Close succeeded")
	}
	// A subscriber that subscribes again on a closed channel must not spin.
	late, stopLate := bus.Subscribe()
	select {
	case e, ok := <-late:
		t.Fatalf("a subscription after Close received %v, %v", e, ok)
	case <-time.After(50 * time.Millisecond):
	}
	stopLate()
	if _, ok := <-late; ok {
		t.Error("a stopped subscription's channel is open")
	}
}

// BenchmarkPublishNATS measures one relay batch: 100 events published and
// acknowledged.
func BenchmarkPublishNATS(b *testing.B) {
	url, opt, _ := testStream(b, 100)
	bus := open(b, url, opt)
	batch := make([]zhufang.Event, 100)
	id := int64(0)
	n := 0
	for b.Loop() {
		for i := range batch {
			id++
			batch[i] = event(id)
		}
		if err := bus.Publish(b.Context(), batch...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*len(batch))/b.Elapsed().Seconds(), "events/s")
}

// TestHealthy: a connected bus is healthy, a closed one says why not.
func TestHealthy(t *testing.T) {
	t.Parallel()
	url, opt, _ := testStream(t, 100)
	bus, err := natsbus.Open(t.Context(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Healthy(); err != nil {
		t.Fatalf("a connected bus: %v", err)
	}
	bus.Close()
	err = bus.Healthy()
	if zhufang.ErrorCode(err) != zhufang.EUNAVAILABLE || !strings.Contains(zhufang.ErrorMessage(err), "not connected") {
		t.Fatalf("a closed bus: %v", err)
	}
}
