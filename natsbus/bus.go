// Package natsbus is the event bus between nodes: every node's outbox relay
// publishes to one NATS JetStream stream, and every node reads the whole
// stream back, so the live board and the breach watcher of each node see what
// any node committed.
package natsbus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"zhufang"
)

// Defaults for the zero fields of Options.
const (
	DefaultStream  = "ZHUFANG_EVENTS"
	DefaultSubject = "zhufang.events"
	DefaultMaxAge  = 7 * 24 * time.Hour
	DefaultBuffer  = 256
)

const (
	// setupTimeout bounds connecting and setting up the stream, so a node
	// whose bus is down fails at start-up instead of hanging.
	setupTimeout = 5 * time.Second
	// ackTimeout bounds the wait for one publish ack, so the relay gets an
	// error to retry on instead of waiting forever on a lost ack.
	ackTimeout = 5 * time.Second
	// duplicateWindow is how long the server remembers message IDs: long
	// enough for a relay that crashed after publishing to come back and
	// publish the same rows again.
	duplicateWindow = 2 * time.Minute
	// stopWait and drainTimeout bound Close.
	stopWait     = 500 * time.Millisecond
	drainTimeout = 5 * time.Second
	// seenSize is how many event IDs a Bus remembers to drop a duplicate
	// that arrives after the server's duplicate window.
	seenSize = 4096
)

// Options tune a Bus. The zero value is what a production node uses; tests
// set their own Stream and Subject so that they can run in parallel.
type Options struct {
	Stream  string        // JetStream stream name; DefaultStream if empty
	Subject string        // subject prefix, events go to Subject+"."+topic; if empty, DefaultSubject for the default stream, else zhufang.<stream>
	MaxAge  time.Duration // how long the stream keeps events; DefaultMaxAge if zero
	Buffer  int           // events a subscriber may fall behind before it is dropped; DefaultBuffer if zero
	Logger  *slog.Logger  // slog.Default() if nil
}

func (o Options) withDefaults() Options {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.Subject == "" {
		// Another stream is another cluster: its own subjects too, so that
		// two clusters on one NATS never read each other's events.
		o.Subject = DefaultSubject
		if o.Stream != DefaultStream {
			o.Subject = "zhufang." + strings.ToLower(o.Stream)
		}
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Buffer == 0 {
		o.Buffer = DefaultBuffer
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Bus is a zhufang.EventService on a JetStream stream shared by all nodes.
// It reads the stream with one ordered consumer and fans each event out to
// its local subscribers; a subscriber whose buffer is full is dropped and
// its channel closed, so one slow browser never holds up the others.
type Bus struct {
	nc        *nats.Conn
	js        jetstream.JetStream
	consuming jetstream.ConsumeContext
	prefix    string
	buffer    int
	logger    *slog.Logger
	closed    chan struct{} // closed by the client once the connection is closed

	mu   sync.Mutex
	subs map[chan zhufang.Event]struct{}
	seen *seenSet

	closeOnce sync.Once
	closeErr  error
}

var _ zhufang.EventService = (*Bus)(nil)

// Open connects to the NATS server at url (one URL or several separated by
// commas), makes sure the event stream exists and starts reading it. It
// fails with EUNAVAILABLE within about five seconds when the server cannot
// be reached or has no JetStream.
func Open(ctx context.Context, url string, opt Options) (*Bus, error) {
	opt = opt.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	b := &Bus{
		prefix: opt.Subject,
		buffer: opt.Buffer,
		logger: opt.Logger,
		closed: make(chan struct{}),
		subs:   map[chan zhufang.Event]struct{}{},
		seen:   newSeenSet(seenSize),
	}
	if err := b.connect(ctx, url); err != nil {
		return nil, err
	}
	if err := b.start(ctx, opt); err != nil {
		b.nc.Close()
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "the event stream cannot be set up", err)
	}
	return b, nil
}

func (b *Bus) connect(ctx context.Context, url string) error {
	shown, secrets, err := redact(url)
	if err != nil {
		// No cause: the parser's error would quote the URL and its password.
		return zhufang.Errorf(zhufang.EINVALID, "the NATS URL is malformed")
	}
	deadline, _ := ctx.Deadline()
	timeout := time.Until(deadline)
	if timeout <= 0 || ctx.Err() != nil {
		cause := fmt.Errorf("connect to %s: %w", shown, cmp.Or(ctx.Err(), context.DeadlineExceeded))
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "the event bus cannot be reached", cause)
	}
	b.nc, err = nats.Connect(url,
		nats.Name("zhufang"),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1), // once up, a node waits out an outage rather than losing its bus
		nats.DrainTimeout(drainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
		nats.DisconnectErrHandler(b.disconnected),
		nats.ReconnectHandler(b.reconnected),
		nats.ErrorHandler(b.asyncError),
	)
	if err != nil {
		cause := &redactedError{err: fmt.Errorf("connect to %s: %w", shown, err), secrets: secrets}
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "the event bus cannot be reached", cause)
	}
	return nil
}

// start sets up the stream and the consumer that feeds local subscribers.
func (b *Bus) start(ctx context.Context, opt Options) error {
	var err error
	if b.js, err = jetstream.New(b.nc, jetstream.WithPublishAsyncTimeout(ackTimeout)); err != nil {
		return err
	}
	stream, err := b.ensureStream(ctx, opt)
	if err != nil {
		return err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	// Start just after the stream's last message rather than with DeliverNew:
	// should the consumer be reset before its first message, it resumes from
	// this sequence instead of skipping what was published in between.
	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{b.prefix + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    info.State.LastSeq + 1,
	})
	if err != nil {
		return err
	}
	b.consuming, err = consumer.Consume(b.deliver, jetstream.ConsumeErrHandler(b.consumeError))
	return err
}

func (b *Bus) ensureStream(ctx context.Context, opt Options) (jetstream.Stream, error) {
	stream, err := b.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        opt.Stream,
		Description: "zhufang events, published by each node's outbox relay",
		Subjects:    []string{opt.Subject + ".>"},
		Storage:     jetstream.FileStorage,
		MaxAge:      opt.MaxAge,
		Duplicates:  duplicateWindow,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// The stream exists with other settings, tuned by an operator
		// (replicas, limits): use it as it is rather than undo their work.
		return b.js.Stream(ctx, opt.Stream)
	}
	return stream, err
}

// Close stops reading the stream, lets publishes in flight finish, closes
// the connection and closes every subscriber's channel. A channel from a
// Subscribe after Close receives nothing until its stop function is called,
// so a subscriber that subscribes again on a closed channel does not spin.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Bus) close() error {
	b.stopConsuming()
	err := b.nc.Drain()
	if err != nil {
		// Drain refuses while reconnecting; close anyway, or the client would
		// go on reconnecting forever. Unacknowledged events are the relay's
		// to publish again.
		b.nc.Close()
		err = fmt.Errorf("natsbus: drain: %w", err)
	}
	<-b.closed // Drain gives up and closes after drainTimeout
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
	return err
}

// stopConsuming stops the consumer but waits at most stopWait: Stop takes a
// lock that the client holds through a consumer reset's backoff, seconds long
// when the stream or the server is gone. Not waiting longer is safe: once the
// connection is closed nothing is delivered.
func (b *Bus) stopConsuming() {
	stopped := make(chan struct{})
	go func() {
		b.consuming.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(stopWait):
	}
}

// Healthy reports whether the bus is connected to its server: nil, or an
// EUNAVAILABLE error saying what the connection is doing instead.
func (b *Bus) Healthy() error {
	if b.nc.IsConnected() {
		return nil
	}
	return zhufang.Errorf(zhufang.EUNAVAILABLE, "the event bus is not connected to NATS (%s)", b.nc.Status())
}

func (b *Bus) disconnected(_ *nats.Conn, err error) {
	if err != nil { // nil when we close the connection ourselves
		b.logger.Warn("event bus disconnected", "err", err)
	}
}

func (b *Bus) reconnected(nc *nats.Conn) {
	b.logger.Info("event bus reconnected", "server", nc.ConnectedUrlRedacted())
}

func (b *Bus) asyncError(_ *nats.Conn, _ *nats.Subscription, err error) {
	b.logger.Warn("event bus", "err", err)
}

func (b *Bus) consumeError(_ jetstream.ConsumeContext, err error) {
	b.logger.Warn("event bus consumer", "err", err)
}
