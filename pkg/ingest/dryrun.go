package ingest

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/auditpipe/auditpipe/pkg/event"
	"github.com/auditpipe/auditpipe/pkg/stream"
)

// dryPublisher stands in for the Publisher in dry-run: it logs each page it is given (each
// event at debug level) and publishes nothing.
type dryPublisher struct{ log *slog.Logger }

func (d dryPublisher) PublishPage(ctx context.Context, evs []event.Event, replay event.Replay) (stream.PageResult, error) {
	if len(evs) == 0 {
		return stream.PageResult{}, nil
	}
	replayID := replay.ID
	for _, ev := range evs {
		d.log.Debug("dry-run: would publish", "subject", ev.Subject(), "msg_id", ev.MsgID(replayID), "time", ev.Time)
	}
	d.log.Info("dry-run: would publish a page", "events", len(evs), "kind", evs[0].Kind,
		"first", evs[0].MsgID(replayID), "last", evs[len(evs)-1].MsgID(replayID))
	return stream.PageResult{Stored: len(evs)}, nil
}

// scratchPrefix is the key prefix of a dry run's state: apart from the real state and from
// other replicas' dry runs.
func scratchPrefix(prefix, owner string) string {
	return prefix + "dry-run:" + owner + ":"
}

// dropScratch deletes the dry run's keys (every key under its scratch prefix), on every
// master of a Redis Cluster.
func (e *Engine) dropScratch() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pattern := globEscape(e.cfg.Window.KeyPrefix) + "*"
	drop := func(ctx context.Context, c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil || len(keys) == 0 {
			return err
		}
		// One key at a time: on a Cluster, keys outside the hash tag live in other slots.
		for _, k := range keys {
			if err := c.Unlink(ctx, k).Err(); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if cc, ok := e.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return drop(ctx, c) })
	} else {
		err = drop(ctx, e.rdb)
	}
	if err != nil {
		e.log.Warn("dry-run: deleting the scratch state failed", "prefix", e.cfg.Window.KeyPrefix, "err", err)
	}
}

// globEscape escapes the characters Redis's glob patterns give a meaning to.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}
