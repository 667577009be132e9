package auditkey

import (
	"context"
	"encoding/base64"
	"log/slog"
	"time"

	"zhufang"
)

// Checkpointer writes a signed checkpoint of the audit chain's head when it
// starts, every Every while the head moves, and once more when stopped: a
// job for the cluster's leader, so that one node writes them.
type Checkpointer struct {
	Keys   *Keys
	Head   func(context.Context) (zhufang.AuditCheckpoint, error) // the chain's head now
	Every  time.Duration                                          // default one minute
	Logger *slog.Logger                                           // slog.Default() if nil
}

// Run writes checkpoints until ctx ends, then writes the last.
func (c *Checkpointer) Run(ctx context.Context) {
	every, log := c.Every, c.Logger
	if every <= 0 {
		every = time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	var last zhufang.AuditCheckpoint
	write := func(ctx context.Context) {
		cp, err := c.Head(ctx)
		if err != nil {
			log.Warn("audit checkpoint: cannot read the chain's head", "err", err)
			return
		}
		if !last.At.IsZero() && sameHead(cp, last) {
			return
		}
		s, err := c.Keys.AppendCheckpoint(cp)
		if err != nil {
			log.Error("audit checkpoint: not written", "err", err)
			return
		}
		last = cp
		// The line is logged whole as well, so that a log shipped off the
		// host keeps a copy no one on it can change.
		log.Info("audit checkpoint", "chain", cp.Chain, "count", cp.Count, "head_id", cp.HeadID, "head_hash", cp.HeadHash,
			"signature", base64.StdEncoding.EncodeToString(s.Sig), "checkpoint", s.Line)
	}
	write(ctx)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			write(ctx)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			write(sctx)
			return
		}
	}
}

// sameHead reports whether two checkpoints state the same head.
func sameHead(a, b zhufang.AuditCheckpoint) bool {
	a.At, b.At = time.Time{}, time.Time{}
	return a == b
}
