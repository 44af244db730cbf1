package ingest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
)

// TestTransientErrors: Teleport calls that fail and streams that break now and then (5% of
// calls, one event in 500) lose nothing and stall nothing, in both modes, for audit events and
// recordings alike.
func TestTransientErrors(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, mode ingest.Mode) {
		from, to := recent(2)
		log := newLog(t, teleportsim.Options{Count: 6000, From: from, To: to, ChunkSize: 1500})
		want := expected(t, log, nil)
		e := newEnv(t)
		src := newSimSource(log).faults(0.05, 0.002)
		for i := range 2 {
			cfg := e.config(string(rune('a'+i)), from)
			cfg.Mode, cfg.Batch = mode, 100
			e.start(cfg, src)
		}
		e.waitCount(len(want), 60*time.Second)
		time.Sleep(300 * time.Millisecond)
		e.exactlyOnce(t, want)
	})
}

// TestBadCursor: a cursor Teleport refuses restarts the window from its start; dedup drops
// what was published already, so nothing is lost or stored twice.
func TestBadCursor(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, mode ingest.Mode) {
		from, to := recent(1)
		log := newLog(t, teleportsim.Options{Count: 3000, From: from, To: to, ChunkSize: 1000})
		want := expected(t, log, nil)
		e := newEnv(t)
		// Export chunks are streamed whole: break streams now and then, so that they are
		// resumed from cursors too.
		src := newSimSource(log).faults(0, 0.005)
		var refused atomic.Int64
		src.hook = func(_ context.Context, c call) error {
			// Every fifth resumption from a cursor is refused, at most ten in all.
			if (c.op == "search" || c.op == "export") && c.cursor != "" && refused.Add(1)%5 == 0 && refused.Load() <= 50 {
				return teleportsim.ErrBadCursor
			}
			return nil
		}
		cfg := e.config("bc", from)
		cfg.Mode, cfg.Batch = mode, 50
		r := e.start(cfg, src)
		e.waitCount(len(want), 60*time.Second)
		time.Sleep(300 * time.Millisecond)
		e.exactlyOnce(t, want)
		if st := r.Engine.Status(); st.Events.Duplicates == 0 {
			t.Errorf("no duplicates: no window was read again from its start? %+v", st.Events)
		}
	})
}
