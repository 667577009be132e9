package natsbus

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"zhufang"
)

// Publish stores events in the stream, in order, and returns once the server
// has acknowledged every one; an error means some may not be stored, and
// publishing the same events again is safe: the server drops an event whose
// ID it has seen within its duplicate window.
func (b *Bus) Publish(ctx context.Context, events ...zhufang.Event) error {
	msgs := make([]*nats.Msg, len(events))
	for i, e := range events {
		m, err := b.message(e)
		if err != nil {
			return err
		}
		msgs[i] = m
	}
	// Send the whole batch before waiting on any ack: one round trip, not one
	// per event.
	// No client retries: the relay retries the batch, and a retry here could
	// store an event after the ones published behind it.
	noRetry := jetstream.WithRetryAttempts(0)
	acks := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		ack, err := b.js.PublishMsgAsync(m, noRetry)
		if err != nil {
			return zhufang.WrapError(zhufang.EUNAVAILABLE, "the event bus did not take the events", err)
		}
		acks[i] = ack
	}
	return waitAcks(ctx, acks)
}

func waitAcks(ctx context.Context, acks []jetstream.PubAckFuture) error {
	for _, ack := range acks {
		select {
		case <-ack.Ok():
		case err := <-ack.Err():
			return zhufang.WrapError(zhufang.EUNAVAILABLE, "the event stream did not store the events", err)
		case <-ctx.Done():
			return fmt.Errorf("natsbus: waiting for publish acks: %w", ctx.Err())
		}
	}
	return nil
}

// message encodes e for its subject, with e's ID as the message ID so that
// the server drops a second publish of the same outbox row.
func (b *Bus) message(e zhufang.Event) (*nats.Msg, error) {
	if !validTopic(e.Topic) {
		return nil, zhufang.Errorf(zhufang.EINVALID, "event topic %q cannot be a subject", e.Topic)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, zhufang.WrapError(zhufang.EINVALID, "the event cannot be encoded", err)
	}
	m := nats.NewMsg(b.prefix + "." + e.Topic)
	m.Data = data
	// ID 0 is no outbox row, so it has nothing to be a duplicate of.
	if e.ID != 0 {
		m.Header.Set(jetstream.MsgIDHeader, strconv.FormatInt(e.ID, 10))
	}
	return m, nil
}

// validTopic reports whether topic makes a subject one can publish to: dot-
// separated non-empty tokens without wildcards or white space. The server
// would silently drop anything else, and the publish would only time out.
func validTopic(topic string) bool {
	for tok := range strings.SplitSeq(topic, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return false
		}
	}
	return true
}
