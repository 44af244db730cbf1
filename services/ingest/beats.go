package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/auditpipe/auditpipe/pkg/adminapi"
	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/replicas"
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

// ingestMember is what an ingest replica reports in its beats.
func ingestMember(st ingest.Status) adminapi.IngestMember {
	return adminapi.IngestMember{
		Mode:        string(st.Mode),
		Running:     st.Running,
		DryRun:      st.DryRun,
		NewestEvent: st.Newest,
		LagSeconds:  st.Lag.Seconds(),
		Read:        st.Events.Read,
		Published:   st.Events.Published,
		Duplicates:  st.Events.Duplicates,
		Held:        len(st.Held),
	}
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
