package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// runToExit runs an exit-on-last-event engine and returns Run's error; the test fails when Run
// is still running after limit.
func (e *env) runToExit(cfg ingest.Config, src ingest.Source, limit time.Duration) (*ingest.Engine, error) {
	e.t.Helper()
	cfg.ExitOnLastEvent = true
	r := e.engine(cfg, src)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	err := r.Engine.Run(ctx)
	if ctx.Err() != nil {
		e.t.Fatalf("exit-on-last-event: Run still running after %v (status %+v)", limit, r.Engine.Status())
	}
	return r.Engine, err
}

// TestExitOnLastEvent: with exit-on-last-event, Run returns nil once the log up to its start
// and every recording are in the stream, with one or two replicas, in both modes; the window
// holding the start is left for the next run, which goes on from its cursor.
func TestExitOnLastEvent(t *testing.T) {
	t.Parallel()
	for _, mode := range []ingest.Mode{ingest.ModeSearch, ingest.ModeExport} {
		for _, replicas := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d-replicas", mode, replicas), func(t *testing.T) {
				t.Parallel()
				from, to := recent(2)
				log := newLog(t, teleportsim.Options{Count: 4000, From: from, To: to, ChunkSize: 1000,
					RecordingDelay: 200 * time.Millisecond, RecordingDelayFraction: 0.2})
				want := expected(t, log, nil)
				e := newEnv(t)
				errs := make(chan error, replicas)
				for i := range replicas {
					cfg := e.config(fmt.Sprintf("r%d", i), from)
					cfg.Mode = mode
					go func() {
						_, err := e.runToExit(cfg, newSimSource(log), 60*time.Second)
						errs <- err
					}()
				}
				for range replicas {
					if err := <-errs; err != nil {
						t.Fatalf("Run: %v", err)
					}
				}
				e.exactlyOnce(t, want)
				counts, err := e.store().EpochCounts(t.Context(), 1)
				if err != nil {
					t.Fatal(err)
				}
				if counts.Leased != 0 {
					t.Errorf("after exit: %+v; want no window leased", counts)
				}
				// A second run finds nothing new and exits too.
				if _, err := e.runToExit(e.config("again", from), newSimSource(log), 30*time.Second); err != nil {
					t.Fatalf("second Run: %v", err)
				}
				e.exactlyOnce(t, want)
			})
		}
	}
}

// TestDryRun: dry-run reads and counts everything but publishes nothing and leaves no state.
func TestDryRun(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, mode ingest.Mode) {
		from, to := recent(2)
		log := newLog(t, teleportsim.Options{Count: 3000, From: from, To: to})
		want := expected(t, log, nil)
		e := newEnv(t)
		cfg := e.config("dry", from)
		cfg.Mode, cfg.DryRun = mode, true
		eng, err := e.runToExit(cfg, newSimSource(log), 60*time.Second)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := eng.Status().Events.Published; got != int64(len(want)) {
			t.Errorf("dry-run would have published %d events, want %d", got, len(want))
		}
		if n := e.streamCount(t.Context()); n != 0 {
			t.Errorf("dry-run: the stream holds %d messages", n)
		}
		if _, err := e.js.Stream(t.Context(), e.stream); err == nil {
			t.Errorf("dry-run created the stream")
		}
		keys, err := e.rdb.Keys(t.Context(), e.redis.Prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 0 {
			t.Errorf("dry-run left %d keys in Redis, e.g. %v", len(keys), head(keys))
		}
	})
}

// TestFilters: types, skip-event-types and skip-session-types hold on both paths (the export
// API has no server-side type filter; teleport-event-handler ignored types there). A
// session.upload that passes the filters queues its recording.
func TestFilters(t *testing.T) {
	t.Parallel()
	types := []string{"user.login", "session.start", "session.upload", "session.end", "exec"}
	eachMode(t, func(t *testing.T, mode ingest.Mode) {
		from, to := recent(2)
		log := newLog(t, teleportsim.Options{Count: 4000, From: from, To: to})
		want := expected(t, log, func(m teleportsim.ManifestEntry) bool {
			if m.Kind == teleportsim.KindSession {
				return m.Type != "print"
			}
			return slices.Contains(types, m.Type) && m.Type != "exec"
		})
		e := newEnv(t)
		cfg := e.config("f", from)
		cfg.Mode = mode
		cfg.Types, cfg.SkipEventTypes, cfg.SkipSessionTypes = types, []string{"exec"}, []string{"print"}
		if _, err := e.runToExit(cfg, newSimSource(log), 60*time.Second); err != nil {
			t.Fatalf("Run: %v", err)
		}
		e.exactlyOnce(t, want)
	})
}

// TestFilteredUploadQueuesNoRecording: a session.upload event the filters drop queues no
// recording, as with teleport-event-handler (whose server-side types filter never returned it).
func TestFilteredUploadQueuesNoRecording(t *testing.T) {
	t.Parallel()
	from, to := recent(1)
	log := newLog(t, teleportsim.Options{Count: 2000, From: from, To: to})
	want := expected(t, log, func(m teleportsim.ManifestEntry) bool {
		return m.Kind == teleportsim.KindAudit && m.Type != "session.upload"
	})
	e := newEnv(t)
	cfg := e.config("f", from)
	cfg.Mode, cfg.SkipEventTypes = ingest.ModeExport, []string{"session.upload"}
	if _, err := e.runToExit(cfg, newSimSource(log), 60*time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	e.exactlyOnce(t, want)
}

// TestPause: while paused, no window or session job is claimed, and those held are released
// at their next page; resuming goes on where it stopped, losing nothing.
func TestPause(t *testing.T) {
	t.Parallel()
	from, to := recent(2)
	log := newLog(t, teleportsim.Options{Count: 8000, From: from, To: to})
	want := expected(t, log, nil)
	e := newEnv(t)
	store := e.store()
	ctx := t.Context()
	if err := store.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := e.config("p", from)
	cfg.Batch = 100
	r := e.start(cfg, newSimSource(log))
	// The planner plans while paused; how soon depends on the machine: wait for the windows,
	// then give the workers five polls in which they must claim none.
	var counts window.Counts
	eventually(t, 30*time.Second, "windows planned while paused", func() bool {
		var err error
		if counts, err = store.EpochCounts(ctx, 1); err != nil {
			t.Fatal(err)
		}
		return counts.Pending > 0
	}, func() string { return fmt.Sprintf("windows %+v", counts) })
	time.Sleep(5 * cfg.Timeout)
	if n := e.streamCount(ctx); n != 0 {
		t.Fatalf("paused from the start, yet the stream holds %d messages", n)
	}
	counts, err := store.EpochCounts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Leased != 0 || counts.Pending == 0 {
		t.Fatalf("paused from the start: windows %+v; want all pending", counts)
	}

	if err := store.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitCount(len(want)/4, 30*time.Second)
	if err := store.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	// Within a poll interval and a page every hold is released.
	deadline := time.Now().Add(5 * time.Second)
	for {
		w, err := store.EpochCounts(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		s, err := store.SessionCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if w.Leased == 0 && s.Leased == 0 && len(r.Engine.Status().Held) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("paused, yet after 5s: windows %+v, sessions %+v, held %+v", w, s, r.Engine.Status().Held)
		}
		time.Sleep(50 * time.Millisecond)
	}
	paused := e.streamCount(ctx)
	time.Sleep(500 * time.Millisecond)
	if n := e.streamCount(ctx); n != paused {
		t.Fatalf("paused, yet the stream grew from %d to %d messages", paused, n)
	}
	if !r.Engine.Status().Paused {
		t.Errorf("Status().Paused is false while paused")
	}
	if err := store.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitCount(len(want), 60*time.Second)
	time.Sleep(300 * time.Millisecond)
	e.exactlyOnce(t, want)
}

// TestReplay: an admin's replay window carries its replay id into the message ids, so the
// events it exports again (and their recordings) are new messages, once each.
func TestReplay(t *testing.T) {
	t.Parallel()
	from, to := recent(2)
	log := newLog(t, teleportsim.Options{Count: 3000, From: from, To: to})
	want := expected(t, log, nil)
	e := newEnv(t)
	if _, err := e.runToExit(e.config("first", from), newSimSource(log), 60*time.Second); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	e.exactlyOnce(t, want)

	rFrom, rTo := from.Add(6*time.Hour), from.Add(12*time.Hour)
	if _, err := e.store().CreateReplay(t.Context(), window.ReplaySpec{ID: "r1", From: rFrom, To: rTo, WindowSize: time.Hour}); err != nil {
		t.Fatal(err)
	}
	// The replay's events: the audit events of its range, and the recordings of the sessions
	// whose session.upload is among them.
	uploads := map[string]bool{}
	replayed := expected(t, log, func(m teleportsim.ManifestEntry) bool {
		in := m.Kind == teleportsim.KindAudit && !m.Time.Before(rFrom) && m.Time.Before(rTo)
		if in && m.Type == "session.upload" {
			uploads[m.SessionID] = true
		}
		return in || m.Kind == teleportsim.KindSession && uploads[m.SessionID]
	})
	if len(uploads) == 0 {
		t.Fatal("no session.upload in the replayed range: pick another")
	}
	all := map[string]string{}
	for id, h := range want {
		all[id] = h
	}
	for id, h := range replayed {
		all["replay:r1:"+id] = h
	}
	if _, err := e.runToExit(e.config("second", from), newSimSource(log), 60*time.Second); err != nil {
		t.Fatalf("second Run: %v", err)
	}
	e.exactlyOnce(t, all)
	rp, err := e.store().Replay(t.Context(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	if rp.State != window.ReplayDone {
		t.Errorf("replay %+v; want done", rp)
	}
}

// TestStartTime: the configured start-time applies on the very first start only; a later
// change is no error and moves nothing (the admin's reset does).
func TestStartTime(t *testing.T) {
	t.Parallel()
	from, to := recent(1)
	log := newLog(t, teleportsim.Options{Count: 1000, From: from, To: to})
	want := expected(t, log, nil)
	e := newEnv(t)
	eng, err := e.runToExit(e.config("a", from), newSimSource(log), 60*time.Second)
	if err != nil {
		t.Fatalf("first Run: %v", err)
	}
	if st := eng.Status(); st.Epoch.Number != 1 || !st.Epoch.Start.Equal(from) {
		t.Fatalf("epoch %+v; want 1 from %v", st.Epoch, from)
	}
	eng, err = e.runToExit(e.config("b", from.Add(6*time.Hour)), newSimSource(log), 60*time.Second)
	if err != nil {
		t.Fatalf("Run with a later start-time: %v", err)
	}
	if st := eng.Status(); st.Epoch.Number != 1 || !st.Epoch.Start.Equal(from) {
		t.Fatalf("after a changed start-time, epoch %+v; want 1 from %v still", st.Epoch, from)
	}
	e.exactlyOnce(t, want)
}

// TestModeIsPerEpoch: an epoch keeps the mode it started in; a configured mode that
// contradicts it is an error at start, and a probe that answers differently is overruled.
func TestModeIsPerEpoch(t *testing.T) {
	t.Parallel()
	from, to := recent(1)
	log := newLog(t, teleportsim.Options{Count: 500, From: from, To: to})
	e := newEnv(t)
	cfg := e.config("a", from)
	cfg.Mode = ingest.ModeExport
	if _, err := e.runToExit(cfg, newSimSource(log), 30*time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	cfg.Mode = ingest.ModeSearch
	if _, err := e.runToExit(cfg, newSimSource(log), 30*time.Second); !errors.Is(err, ingest.ErrModeConflict) {
		t.Fatalf("Run forced to search in an export epoch: %v; want ErrModeConflict", err)
	}
	// Auto mode with a probe that now says "no export": the epoch stays in export mode.
	cfg.Mode = ingest.ModeAuto
	src := newSimSource(log)
	var probes atomic.Int64
	src.hook = func(_ context.Context, c call) error {
		if c.op == "probe" {
			probes.Add(1)
		}
		return nil
	}
	eng, err := e.runToExit(cfg, src, 30*time.Second)
	if err != nil {
		t.Fatalf("Run in auto mode: %v", err)
	}
	if st := eng.Status(); st.Mode != ingest.ModeExport || probes.Load() != 0 {
		t.Fatalf("auto mode in an export epoch: %s after %d probes; want export, no probe", st.Mode, probes.Load())
	}
}

// TestFatalError: a Fatal Teleport error (access denied, expired credentials) stops Run with
// the error, after releasing what it held.
func TestFatalError(t *testing.T) {
	t.Parallel()
	from, to := recent(1)
	log := newLog(t, teleportsim.Options{Count: 2000, From: from, To: to})
	e := newEnv(t)
	src := newSimSource(log)
	denied := fmt.Errorf("access denied: %w", teleportsim.ErrBadRequest) // classifySim: Fatal
	src.hook = func(_ context.Context, c call) error {
		if c.op == "search" && c.cursor != "" {
			return denied
		}
		return nil
	}
	cfg := e.config("f", from)
	cfg.Mode, cfg.Batch = ingest.ModeSearch, 20
	r := e.engine(cfg, src)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := r.Engine.Run(ctx)
	if !errors.Is(err, denied) || !strings.Contains(err.Error(), "fatal") {
		t.Fatalf("Run = %v; want the fatal error", err)
	}
	counts, cerr := e.store().EpochCounts(t.Context(), 1)
	if cerr != nil {
		t.Fatal(cerr)
	}
	if counts.Leased != 0 {
		t.Fatalf("after a fatal error: windows %+v; want none leased", counts)
	}
}

// TestEpochReset: an admin's start-time reset while replicas run withdraws the old epoch's
// windows (their holders stop at the next lease operation, committing nothing) and the
// replicas go on with the new epoch, probing its mode afresh; dedup keeps the stream free of
// repeats.
func TestEpochReset(t *testing.T) {
	t.Parallel()
	from, to := recent(2)
	log := newLog(t, teleportsim.Options{Count: 6000, From: from, To: to})
	want := expected(t, log, nil)
	e := newEnv(t)
	src := newSimSource(log)
	var gate atomic.Bool // slows reading down until the reset
	src.hook = func(_ context.Context, c call) error {
		if c.op == "search" && !gate.Load() {
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	}
	cfg := e.config("r", from)
	cfg.Mode, cfg.Batch = ingest.ModeSearch, 50
	r := e.start(cfg, src)
	e.waitCount(len(want)/5, 30*time.Second)
	// A reset to the same start: the new epoch reads everything again.
	if _, err := e.store().ResetEpoch(t.Context(), from); err != nil {
		t.Fatal(err)
	}
	gate.Store(true)
	e.waitCount(len(want), 60*time.Second)
	time.Sleep(300 * time.Millisecond)
	if st := r.Engine.Status(); st.Epoch.Number != 2 || st.Mode != ingest.ModeSearch {
		t.Fatalf("after the reset: epoch %d in %q mode; want epoch 2, search", st.Epoch.Number, st.Mode)
	}
	old, err := e.store().EpochCounts(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if old.Cancelled == 0 || old.Leased != 0 {
		t.Errorf("epoch 1 after the reset: %+v; want windows cancelled, none leased", old)
	}
	e.exactlyOnce(t, want)
}
