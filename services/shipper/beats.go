package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/replicas"
	"github.com/auditpipe/auditpipe/pkg/shipper"
)

// beatInterval is how often the replica beats into the replicas register; tests shorten it.
var beatInterval = replicas.DefaultInterval

// beatWarnEvery bounds the warnings of failed beats to one per interval.
const beatWarnEvery = time.Minute

// beat keeps the replica rep in the replicas register, with the status that status returns,
// until ctx ends; then it leaves the register (a graceful stop) and returns nil. A failed beat
// only makes the replica look absent to the admin API until the next one succeeds: it is
// logged as a warning, at most once per beatWarnEvery.
func beat(ctx context.Context, reg *replicas.Registry, rep replicas.Replica, status func() any, log *slog.Logger) error {
	limit := &warnLimit{every: beatWarnEvery}
	return reg.Run(ctx, rep, beatInterval, status, func(err error) {
		if held, ok := limit.allow(time.Now()); ok {
			log.Warn("replicas register: beat failed; the admin API does not list this replica until one succeeds",
				"err", err, "failures_not_logged", held)
		}
	})
}

// shipperMember is what a shipper replica reports in its beats: the sinks it serves, those
// blocked now, and the events each delivered.
func shipperMember(sinks []shipper.SinkStatus) adminapi.ShipperMember {
	m := adminapi.ShipperMember{Sinks: make([]string, 0, len(sinks)), Delivered: make(map[string]int64, len(sinks))}
	for _, s := range sinks {
		m.Sinks = append(m.Sinks, s.Sink)
		if s.Blocked {
			m.Blocked = append(m.Blocked, s.Sink)
		}
		m.Delivered[s.Sink] = int64(s.Delivered)
	}
	return m
}

// warnLimit lets one warning through per interval and counts those it holds back. Only the
// register's goroutine uses it.
type warnLimit struct {
	every time.Duration
	last  time.Time
	held  int
}

// allow reports whether a warning may go out at now and, if so, how many were held back
// since the last one.
func (w *warnLimit) allow(now time.Time) (held int, ok bool) {
	if !w.last.IsZero() && now.Sub(w.last) < w.every {
		w.held++
		return 0, false
	}
	held, w.held, w.last = w.held, 0, now
	return held, true
}
