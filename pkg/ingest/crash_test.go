package ingest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditpipe/auditpipe/pkg/ingest"
	"github.com/auditpipe/auditpipe/pkg/teleportsim"
	"github.com/auditpipe/auditpipe/pkg/window"
)

// TestCrashMidWindow: a replica that dies in the middle of a window (its Redis and NATS
// connections cut, then its context cancelled, so it neither commits nor releases) loses
// nothing: once its lease expires another replica resumes the window from its last commit.
func TestCrashMidWindow(t *testing.T) {
	t.Parallel()
	eachMode(t, func(t *testing.T, mode ingest.Mode) {
		from, to := recent(2)
		log := newLog(t, teleportsim.Options{Count: 6000, From: from, To: to, ChunkSize: 2000})
		want := expected(t, log, nil)
		e := newEnv(t)

		// The victim reads windows in pages of 20 and hangs in the middle of one.
		stuck := make(chan struct{})
		hang := func(ctx context.Context) error {
			close(stuck)
			<-ctx.Done()
			return ctx.Err()
		}
		victimSrc := newSimSource(log)
		var pages atomic.Int64 // pages read from a cursor, i.e. after a commit
		if mode == ingest.ModeSearch {
			victimSrc.hook = func(ctx context.Context, c call) error {
				if c.op == "search" && c.cursor != "" && pages.Add(1) == 3 {
					return hang(ctx)
				}
				return nil
			}
		} else {
			victimSrc.yieldHook = func(ctx context.Context, c call) error {
				if c.op == "export" && pages.Add(1) == 70 {
					return hang(ctx)
				}
				return nil
			}
		}
		vcfg := e.config("victim", from)
		vcfg.Mode, vcfg.Batch, vcfg.Concurrency, vcfg.SessionConcurrency = mode, 20, 1, 1
		victim := e.start(vcfg, victimSrc)
		select {
		case <-stuck:
		case <-time.After(30 * time.Second):
			t.Fatal("the victim never reached its fourth page")
		}
		var id string // the window the victim's worker is stuck in
		for _, h := range victim.Engine.Status().Held {
			if h.Worker == "victim/w0" {
				id = h.ID
			}
		}
		if id == "" {
			t.Fatalf("the victim's worker holds no window while stuck: %+v", victim.Engine.Status().Held)
		}
		// Crash: the connections go first, so that nothing is committed or released.
		_ = victim.Redis.Close()
		victim.NATS.Close()
		if err := victim.Halt(t); err != nil {
			t.Fatalf("victim Run: %v", err)
		}
		before, err := e.store().Window(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if before.State != window.StateLeased || before.Owner != "victim/w0" || before.Cursor == "" {
			t.Fatalf("after the crash, window %s is %s by %q at %q; want leased by the victim, with a cursor", id, before.State, before.Owner, before.Cursor)
		}

		scfg := e.config("survivor", from)
		scfg.Mode = mode
		e.start(scfg, newSimSource(log))
		e.waitCount(len(want), 60*time.Second)
		time.Sleep(300 * time.Millisecond)
		e.exactlyOnce(t, want)
		after, err := e.store().Window(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if after.Claims < 2 || after.State == window.StateLeased && after.Owner == "victim/w0" {
			t.Fatalf("window %s after the survivor: %s by %q, %d claims; want it resumed", id, after.State, after.Owner, after.Claims)
		}
	})
}
